"""DiffusionResult: JSON round trip, documents written before the refactor, conductivity."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ionflow.core.diffusion import (
    DiffusionResult,
    diffusion_coefficient,
    nernst_einstein_conductivity,
)
from ionflow.core.diffusion.synthetic import gaussian_walk
from ionflow.core.errors import IonflowInputError

# ``as_dict()`` of ionflow 7447d9f (before core/diffusion was split into modules) for
# gaussian_walk(24, 2, 1e-5, 10.0, rng=default_rng(0)) analysed with
# n_segments=2, collective=True, temperature=700, fit_window=(0.3, 0.7), min_hops=1.
LEGACY = {
    "temperature": 700.0,
    "D_cm2_s": 9.310394371949821e-06,
    "D_err_cm2_s": 1.8450875923615823e-06,
    "n_segments": 2,
    "D_segments_cm2_s": [7.465306779588238e-06, 1.1155481964311403e-05],
    "dim": 3,
    "dims": [0, 1, 2],
    "fit_window": [0.36363636363636365, 0.6363636363636364],
    "timestep_fs": 10.0,
    "msd_A2": [
        0.0,
        0.00564254184256678,
        0.010842443193159742,
        0.014001545704842848,
        0.019423104967152053,
        0.026120617057701384,
        0.03286729715625323,
        0.03579500034486773,
        0.044208355185396994,
        0.05421794349946858,
        0.06090548689496438,
        0.08300175108041691,
    ],
    "time_ps": [0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.11],
    "error_method": "segments",
    "weighting": "none",
    "fit_lags": [4, 5, 6, 7],
    "fit_intercept_A2": -0.0021727965459408076,
    "n_mobile": 2,
    "n_runs": 1,
    "segment_frames": 12,
    "msd_err_A2": [
        0.0,
        6.606716008461262e-05,
        8.440539149345837e-05,
        0.0007973970723642283,
        0.0008331496987386658,
        0.002204466611819548,
        0.0004863684535452231,
        0.001960080464196233,
        0.0038869933345029024,
        0.012241330480680922,
        0.02415487151325488,
        0.02430115630854958,
    ],
    "drift_corrected": False,
    "D_sigma_cm2_s": 1.3376749049177246e-05,
    "D_sigma_err_cm2_s": 4.966224492215794e-06,
    "D_sigma_segments_cm2_s": [8.41052455696145e-06, 1.8342973541393038e-05],
    "mscd_A2": [
        0.0,
        0.004992275343244578,
        0.0100072332069135,
        0.014488922589347501,
        0.022080308865114508,
        0.031072494710762434,
        0.04046749885449757,
        0.04570213891555727,
        0.05271792336189024,
        0.0649118127593443,
        0.07375045505702359,
        0.09368373389515794,
    ],
    "haven_ratio": 0.6960132344354975,
    "haven_ratio_err": 0.29290979770553904,
    "hop_count": 0,
    "enough_hops": False,
    "hops_reason": "only 0 hop events detected (need >= 1); MSD at the end of the fit window is "
    "0.0358 Å² = 0.00895 squared hop lengths (need >= 2 x (2 Å)²): D is not "
    "trustworthy, run longer or hotter",
    "extra": {"preset": "ionflow"},
}


def _legacy_analysis() -> DiffusionResult:
    pos = gaussian_walk(24, 2, 1e-5, 10.0, rng=np.random.default_rng(0))
    return diffusion_coefficient(
        pos,
        10.0,
        n_segments=2,
        collective=True,
        temperature=700,
        fit_window=(0.3, 0.7),
        min_hops=1,
    )


def test_stored_legacy_dict_is_read():
    res = DiffusionResult.from_dict(LEGACY)
    assert res.D_cm2_s == LEGACY["D_cm2_s"]
    assert res.dims == (0, 1, 2)
    assert res.fit_window == tuple(LEGACY["fit_window"])
    assert res.fit_lags.dtype == np.int64
    np.testing.assert_array_equal(res.msd_A2, LEGACY["msd_A2"])
    assert res.haven_ratio == LEGACY["haven_ratio"]
    assert res.enough_hops is False
    small = {**LEGACY, "msd_A2": None, "msd_err_A2": None, "mscd_A2": None, "time_ps": None}
    assert DiffusionResult.from_dict(small).msd_A2 is None


def test_same_analysis_writes_the_same_dict():
    """The refactored analysis reproduces the stored document exactly (numbers and words)."""
    assert _legacy_analysis().as_dict() == LEGACY


def test_result_as_dict_round_trip():
    rng = np.random.default_rng(0)
    pos = gaussian_walk(300, 4, 1e-5, 10.0, rng=rng)
    res = diffusion_coefficient(pos, 10.0, n_segments=3, collective=True, temperature=700)
    d = res.as_dict()
    text = json.dumps(d, allow_nan=False)
    back = DiffusionResult.from_dict(json.loads(text))
    assert back.D_cm2_s == res.D_cm2_s
    np.testing.assert_array_equal(back.msd_A2, res.msd_A2)
    np.testing.assert_array_equal(back.fit_lags, res.fit_lags)
    assert back.dims == res.dims
    assert back.temperature == 700
    small = res.as_dict(include_curves=False)
    assert small["msd_A2"] is None
    assert small["mscd_A2"] is None
    assert len(json.dumps(small)) < len(text) / 3


def test_conductivity_from_result():
    rng = np.random.default_rng(0)
    pos = gaussian_walk(300, 4, 1e-5, 10.0, rng=rng)
    res = diffusion_coefficient(pos, 10.0, temperature=600, check_hops=False)
    sigma = res.conductivity_mS_cm(500.0)
    assert sigma == pytest.approx(nernst_einstein_conductivity(res.D_cm2_s, 600, 4, 500.0))
    with pytest.raises(IonflowInputError, match="collective"):
        res.conductivity_mS_cm(500.0, use_charge_diffusivity=True)
