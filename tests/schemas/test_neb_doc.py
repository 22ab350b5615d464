"""NebDoc keeps what a stalled band did (the stall fallback's record reaches the store)."""

from __future__ import annotations

from ionflow.core.neb.result import NebResult
from ionflow.schemas.neb import NebDoc


def test_optimizer_switches_survive_into_the_document():
    switch = {"step": 123, "from": "ode", "to": "fire", "residual": 0.08, "band_force_calls": 700}
    fields = NebResult.__dataclass_fields__
    assert "optimizer_switches" in fields
    doc = NebDoc(
        model="chgnet",
        barrier_forward_eV=0.5,
        barrier_reverse_eV=0.5,
        converged=True,
        n_images=7,
        optimizer_switches=[switch],
    )
    assert NebDoc.model_validate(doc.model_dump()).optimizer_switches == [switch]
    assert (
        NebDoc(
            model="m", barrier_forward_eV=None, barrier_reverse_eV=None, converged=False, n_images=0
        ).optimizer_switches
        == []
    )
