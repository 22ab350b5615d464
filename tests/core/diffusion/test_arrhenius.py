"""Arrhenius fits, extrapolation intervals, Nernst–Einstein, and synthetic-truth coverage."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from ionflow.core.diffusion import (
    KB_EV_K,
    conductivity_at,
    fit_arrhenius,
    ion_charge,
    nernst_einstein_conductivity,
)
from ionflow.core.diffusion.synthetic import arrhenius_coverage
from ionflow.core.errors import IonflowInputError

T = np.array([500.0, 600.0, 700.0, 800.0, 900.0])


def arrhenius(t, ea=0.3, d0=1e-3):
    return d0 * np.exp(-ea / (KB_EV_K * np.asarray(t)))


def test_exact_data_exact_fit():
    fit = fit_arrhenius(T, arrhenius(T))
    assert fit.Ea_eV == pytest.approx(0.3, rel=1e-10)
    assert fit.D0_cm2_s == pytest.approx(1e-3, rel=1e-9)
    assert fit.Ea_err_eV == pytest.approx(0.0, abs=1e-9)
    assert fit.extrapolate(300.0)[0] == pytest.approx(arrhenius(300.0), rel=1e-9)
    assert fit.predict(300.0) == pytest.approx(arrhenius(300.0), rel=1e-9)
    assert fit.error_model == "residuals"


def test_weighted_fit_matches_manual_wls():
    rng = np.random.default_rng(0)
    d = arrhenius(T) * np.exp(rng.normal(scale=0.1, size=T.size))
    d_err = d * np.array([0.05, 0.1, 0.2, 0.1, 0.3])
    fit = fit_arrhenius(T, d, d_err, error_scaling="absolute")
    x, y, w = 1 / T, np.log(d), 1 / (d_err / d) ** 2
    a = np.column_stack([np.ones_like(x), x])
    cov = np.linalg.inv(a.T @ (w[:, None] * a))
    coef = cov @ a.T @ (w * y)
    assert fit.Ea_eV == pytest.approx(-coef[1] * KB_EV_K, rel=1e-10)
    assert fit.Ea_err_eV == pytest.approx(np.sqrt(cov[1, 1]) * KB_EV_K, rel=1e-10)
    assert fit.ln_D0_err == pytest.approx(np.sqrt(cov[0, 0]), rel=1e-10)
    np.testing.assert_allclose(fit.covariance, cov, rtol=1e-10)
    # "scaled" multiplies the covariance by chi²/dof
    scaled = fit_arrhenius(T, d, d_err, error_scaling="scaled")
    np.testing.assert_allclose(scaled.covariance, cov * scaled.chi2_red, rtol=1e-10)
    auto = fit_arrhenius(T, d, d_err)
    factor = max(1.0, auto.chi2_red)
    np.testing.assert_allclose(auto.covariance, cov * factor, rtol=1e-10)


def test_fit_subset_low_temperatures():
    t = np.array([500.0, 600.0, 700.0, 800.0, 1000.0, 1200.0])
    d = arrhenius(t)
    d[t > 900] *= 5.0  # e.g. a phase transition at high T
    full = fit_arrhenius(t, d)
    low = fit_arrhenius(t, d, t_max=900)
    assert abs(full.Ea_eV - 0.3) > 0.05
    assert low.Ea_eV == pytest.approx(0.3, rel=1e-9)
    assert low.mask.tolist() == [True, True, True, True, False, False]
    assert low.n_fit == 4
    by_mask = fit_arrhenius(t, d, mask=t < 900)
    assert by_mask.Ea_eV == pytest.approx(low.Ea_eV, rel=1e-12)


def test_confidence_interval_propagates_covariance():
    rng = np.random.default_rng(4)
    d = arrhenius(T) * np.exp(rng.normal(scale=0.1, size=T.size))
    d_err = 0.1 * d
    fit = fit_arrhenius(T, d, d_err, error_scaling="absolute")
    d300, lo, hi = fit.extrapolate(300.0)
    x = 1 / 300.0
    c = fit.covariance
    sd = np.sqrt(c[0, 0] + 2 * c[0, 1] * x + c[1, 1] * x**2)
    z = stats.norm.ppf(0.975)
    assert np.log(hi / d300) == pytest.approx(z * sd, rel=1e-9)
    assert np.log(d300 / lo) == pytest.approx(z * sd, rel=1e-9)
    # narrowest inside the data, wider far away
    _, lo_in, hi_in = fit.extrapolate(700.0)
    assert np.log(hi_in / lo_in) < np.log(hi / lo)
    # correlation matters: ignoring the covariance would give a different width
    sd_nocov = np.sqrt(c[0, 0] + c[1, 1] * x**2)
    assert abs(sd_nocov - sd) / sd > 0.1
    # arrays work
    dd, ll, hh = fit.extrapolate(np.array([300.0, 400.0]))
    assert dd.shape == ll.shape == hh.shape == (2,)
    # lower confidence -> narrower
    _, lo68, hi68 = fit.extrapolate(300.0, confidence=0.68)
    assert lo < lo68 < d300 < hi68 < hi


def test_t_distribution_without_errors():
    rng = np.random.default_rng(5)
    t3 = np.array([600.0, 800.0, 1000.0])
    d = arrhenius(t3) * np.exp(rng.normal(scale=0.2, size=3))
    fit = fit_arrhenius(t3, d)
    assert fit.dof == 1
    d300, _, hi = fit.extrapolate(300.0)
    c, x = fit.covariance, 1 / 300.0
    sd = np.sqrt(c[0, 0] + 2 * c[0, 1] * x + c[1, 1] * x**2)
    assert np.log(hi / d300) == pytest.approx(stats.t.ppf(0.975, 1) * sd, rel=1e-9)


def test_two_points():
    fit = fit_arrhenius([600, 900], arrhenius([600, 900]))
    assert fit.Ea_eV == pytest.approx(0.3, rel=1e-10)
    assert np.isnan(fit.Ea_err_eV)
    _, lo, hi = fit.extrapolate(300)
    assert np.isnan(lo)
    assert np.isnan(hi)
    with_err = fit_arrhenius([600, 900], arrhenius([600, 900]), [1e-7, 1e-6])
    assert np.isfinite(with_err.Ea_err_eV)
    assert with_err.error_model == "absolute"


def test_bad_input_is_named():
    d = arrhenius(T)
    d[3] = 0.0
    with pytest.raises(ValueError, match="T = 800 K"):
        fit_arrhenius(T, d)
    d[3] = -1e-6
    with pytest.raises(ValueError, match="T = 800 K"):
        fit_arrhenius(T, d)
    # a bad point outside the fitted subset is fine
    assert fit_arrhenius(T, d, mask=T != 800).n_fit == 4
    with pytest.raises(ValueError, match="at least 2"):
        fit_arrhenius(T, arrhenius(T), t_max=550)
    with pytest.raises(ValueError, match="D_err at T = 600 K"):
        fit_arrhenius(T, arrhenius(T), [1, 0, 1, 1, 1])
    with pytest.raises(IonflowInputError, match="temperatures"):
        fit_arrhenius(T[:3], arrhenius(T))


def test_nernst_einstein_lgps_numbers():
    """pmg's LGPS test: D = 1.16083658794e-6 cm²/s at 600 K, 20 Li in 970.41 Å³ -> 74.17 mS/cm."""
    volume = 970.4137178985233
    sigma = nernst_einstein_conductivity(1.16083658794e-6, 600.0, 20, volume, charge=1)
    assert sigma == pytest.approx(74.1654, rel=1e-3)
    # same conversion factor as pymatgen's get_conversion_factor (CODATA constants)
    sc = pytest.importorskip("scipy.constants")
    factor = 1000 * 20 / (volume * 1e-24 * sc.N_A) * (sc.N_A * sc.e) ** 2 / (sc.R * 600)
    assert sigma == pytest.approx(factor * 1.16083658794e-6, rel=1e-9)
    # Haven ratio and charge scale as expected
    assert nernst_einstein_conductivity(1e-6, 600, 20, volume, haven_ratio=0.5) == pytest.approx(
        2 * nernst_einstein_conductivity(1e-6, 600, 20, volume)
    )
    assert nernst_einstein_conductivity(1e-6, 600, 20, volume, charge=2) == pytest.approx(
        4 * nernst_einstein_conductivity(1e-6, 600, 20, volume)
    )
    with pytest.raises(ValueError, match="volume"):
        nernst_einstein_conductivity(1e-6, 600, 20, 0.0)


def test_conductivity_interval():
    rng = np.random.default_rng(6)
    d = arrhenius(T) * np.exp(rng.normal(scale=0.1, size=T.size))
    fit = fit_arrhenius(T, d, 0.1 * d)
    s, lo, hi = conductivity_at(fit, 300.0, n_mobile=20, volume_A3=970.0)
    assert lo < s < hi
    d300, dlo, _ = fit.extrapolate(300.0)
    assert s == pytest.approx(nernst_einstein_conductivity(d300, 300.0, 20, 970.0))
    assert lo == pytest.approx(nernst_einstein_conductivity(dlo, 300.0, 20, 970.0))
    json.dumps(fit.as_dict(), allow_nan=False)


def test_ion_charge():
    assert ion_charge("Li") == 1
    assert ion_charge("Na") == 1
    assert ion_charge("Mg2+") == 2
    assert ion_charge("O2-") == -2
    assert ion_charge("F") == -1
    with pytest.raises(ValueError, match="unknown species"):
        ion_charge("Xx")


def test_synthetic_arrhenius_coverage():
    """Hopping walks with D(T) = D0 exp(-Ea/kT) (lian2025 layout: 3 runs x 4 segments per T).

    The true Ea must lie within the reported 2-sigma interval in >= 90 % of 100 trials, the
    estimator must be unbiased, and the check must have power: errors shrunk 3x fail it.
    """
    coverage, ea, err = arrhenius_coverage(100, seed=2024, Ea_eV=0.3)
    assert coverage >= 0.9
    assert abs(ea.mean() - 0.3) < 3 * ea.std(ddof=1) / np.sqrt(ea.size)
    assert 0.7 < ea.std(ddof=1) / np.sqrt(np.mean(err**2)) < 1.4
    assert np.mean(np.abs(ea - 0.3) <= 2 * err / 3) < 0.9
