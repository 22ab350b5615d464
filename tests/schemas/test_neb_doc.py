"""NebDoc keeps what a band did: the stall record and the intermediate-minimum flag reach the
store, and documents written before either field existed still read."""

from __future__ import annotations

import pytest

from ionflow.schemas.neb import NebDoc

SWITCH = {"step": 123, "from": "ode", "to": "fire", "residual": 0.08, "band_force_calls": 700}


@pytest.mark.parametrize(
    ("field", "value", "default"),
    [("optimizer_switches", [SWITCH], []), ("intermediate_minimum_eV", 0.553, None)],
)
def test_band_diagnostics_survive_into_the_document(field, value, default):
    base = {"model": "chgnet", "barrier_forward_eV": 0.5, "barrier_reverse_eV": 0.5}
    doc = NebDoc(**base, converged=True, n_images=7, **{field: value})
    assert getattr(NebDoc.model_validate(doc.model_dump()), field) == value
    assert getattr(NebDoc(**base, converged=False, n_images=0), field) == default
