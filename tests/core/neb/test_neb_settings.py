from __future__ import annotations

import json

import pytest
from monty.json import MontyDecoder, MontyEncoder, jsanitize

from ionflow.core.errors import IonflowInputError
from ionflow.core.neb.settings import NebSettings


@pytest.mark.parametrize(
    "settings",
    [NebSettings(), NebSettings(fmax=0.02, optimizer="fire", climb=False, max_steps=40)],
)
def test_settings_round_trip_through_monty(settings):
    data = jsanitize(settings, strict=True)
    assert data["@class"] == "NebSettings"
    assert MontyDecoder().process_decoded(data) == settings
    text = json.dumps(settings, cls=MontyEncoder)
    assert json.loads(text, cls=MontyDecoder) == settings


def test_settings_validate_on_decode():
    data = jsanitize(NebSettings(), strict=True)
    data["optimizer"] = "sgd"
    with pytest.raises(IonflowInputError, match="optimizer"):
        MontyDecoder().process_decoded(data)


def test_public_names_importable_from_engine_and_package():
    import ionflow.core.neb as pkg
    from ionflow.core.neb import engine

    for name in (
        "NebSettings",
        "run_neb",
        "run_neb_band",
        "detect_moving_index",
        "unwrap_final",
        "match_endpoints",
        "max_atomic_force",
        "relax_fixed_cell",
        "NebResult",
        "RelaxResult",
        "BatchedNEB",
        "OPTIMIZERS",
    ):
        assert getattr(engine, name) is getattr(pkg, name), name
    assert set(engine.__all__) <= set(pkg.__all__)
