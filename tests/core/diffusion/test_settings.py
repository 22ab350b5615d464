"""DiffusionSettings: validation that names the field, monty round trip, overrides."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from monty.json import MontyDecoder, jsanitize

from ionflow.core.diffusion import DiffusionSettings, diffusion_coefficient
from ionflow.core.diffusion.synthetic import gaussian_walk
from ionflow.core.errors import IonflowInputError


def test_defaults_are_the_lian2025_analysis():
    s = DiffusionSettings()
    assert s.n_segments == 1
    assert s.fit_window == (0.2, 0.8)
    assert s.dims == (0, 1, 2)
    assert s.dim == 3
    assert s.weighting == "none"
    assert s.effective_weighting == "none"
    assert s.preset == "ionflow"
    assert s.equilibration_frames == 0
    assert s.check_hops


def test_sequences_are_normalised():
    s = DiffusionSettings(dims=[2, 0], fit_window=[0.1, 0.9], fit_lags=np.arange(3, 8))
    assert s.dims == (2, 0)
    assert s.fit_window == (0.1, 0.9)
    assert s.fit_lags == (3, 4, 5, 6, 7)
    assert all(type(v) is int for v in s.fit_lags)
    assert DiffusionSettings(n_segments=4.0).n_segments == 4
    assert DiffusionSettings(preset="pymatgen_max").effective_weighting == "inverse_time"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_segments": 0}, "n_segments"),
        ({"n_segments": 2.5}, "n_segments"),
        ({"segment_length_ps": 0.0}, "segment_length_ps"),
        ({"fit_window": (0.8, 0.2)}, "fit_window"),
        ({"fit_window": (0.2,)}, "fit_window"),
        ({"fit_lags": []}, "fit_lags"),
        ({"fit_lags": [-1, 3]}, "fit_lags"),
        ({"lag_stride": 0}, "lag_stride"),
        ({"weighting": "sqrt"}, "weighting"),
        ({"dims": (0, 3)}, "dims"),
        ({"dims": (1, 1)}, "dims"),
        ({"preset": "max"}, "preset"),
        ({"preset": "pymatgen_max", "fit_lags": [1, 2]}, "fit_lags"),
        ({"min_obs": 0}, "min_obs"),
        ({"equilibration_frames": -1}, "equilibration_frames"),
        ({"hop_threshold_A": 0}, "hop_threshold_A"),
        ({"hop_length_A": float("nan")}, "hop_length_A"),
        ({"min_hops": -1}, "min_hops"),
        ({"min_msd_hop_ratio": -1.0}, "min_msd_hop_ratio"),
        ({"workers": 1.5}, "workers"),
    ],
)
def test_bad_value_names_the_field(kwargs, field):
    with pytest.raises(IonflowInputError, match=field):
        DiffusionSettings(**kwargs)


def test_monty_round_trip():
    s = DiffusionSettings(
        n_segments=4,
        dims=(0, 1),
        fit_lags=(5, 10, 20),
        weighting="inverse_time",
        collective=True,
        equilibration_frames=100,
        min_hops=5,
    )
    d = jsanitize(s, strict=True)
    json.dumps(d)
    back = MontyDecoder().process_decoded(d)
    assert isinstance(back, DiffusionSettings)
    assert back == s
    assert MontyDecoder().process_decoded(jsanitize(DiffusionSettings(), strict=True)) == (
        DiffusionSettings()
    )


def test_settings_are_frozen_and_replace_validates():
    s = DiffusionSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.n_segments = 3
    assert s.replace(n_segments=3).n_segments == 3
    with pytest.raises(IonflowInputError, match="n_segments"):
        s.replace(n_segments=0)
    with pytest.raises(TypeError, match="unknown diffusion setting"):
        s.replace(segments=3)


def test_overrides_equal_settings():
    rng = np.random.default_rng(3)
    runs = [gaussian_walk(600, 6, 1e-5, 20.0, rng=rng) for _ in range(2)]
    kw = {"n_segments": 3, "dims": (0, 1), "collective": True, "fit_window": (0.1, 0.7)}
    by_kwargs = diffusion_coefficient(None, 20.0, runs=runs, temperature=800, **kw)
    by_settings = diffusion_coefficient(
        None, 20.0, runs=runs, temperature=800, settings=DiffusionSettings(**kw)
    )
    mixed = diffusion_coefficient(
        None,
        20.0,
        runs=runs,
        temperature=800,
        settings=DiffusionSettings(**{**kw, "n_segments": 7}),
        n_segments=3,
    )
    assert by_kwargs.as_dict() == by_settings.as_dict() == mixed.as_dict()
    with pytest.raises(TypeError, match="unknown diffusion setting"):
        diffusion_coefficient(runs[0], 20.0, segments=3)
    with pytest.raises(IonflowInputError, match="DiffusionSettings"):
        diffusion_coefficient(runs[0], 20.0, settings={"n_segments": 3})


def test_equilibration_frames_are_dropped_from_positions_and_drift():
    rng = np.random.default_rng(4)
    pos = gaussian_walk(700, 5, 1e-5, 20.0, rng=rng)
    drift = np.cumsum(rng.normal(size=(700, 3)), axis=0)
    kw = {"n_segments": 2, "collective": True}
    skipped = diffusion_coefficient(
        pos + drift[:, None, :], 20.0, drift=drift, equilibration_frames=100, **kw
    )
    sliced = diffusion_coefficient(pos[100:] + drift[100:, None, :], 20.0, drift=drift[100:], **kw)
    assert skipped.D_cm2_s == sliced.D_cm2_s
    assert skipped.segment_frames == 300
    assert skipped.hop_count == sliced.hop_count
    assert skipped.extra == {"preset": "ionflow", "equilibration_frames": 100}
    assert sliced.extra == {"preset": "ionflow"}
    with pytest.raises(IonflowInputError, match="equilibration_frames"):
        diffusion_coefficient(pos, 20.0, equilibration_frames=699)
