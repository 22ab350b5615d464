"""Synthetic trajectories with a known diffusivity, to check the analysis end to end.

Two generators:

* :func:`gaussian_walk`: Brownian motion, Gaussian steps of variance ``2 D Δt`` per axis (axes
  may have different ``D``);
* :func:`hopping_walk`: lattice-gas-like jumps of fixed length ``a`` along ±x, ±y, ±z at the
  Poisson rate ``Γ = 2 d D / a²`` (so ``D = Γ a² / (2 d)``) plus uncorrelated thermal vibration,
  i.e. the discrete, rare-event statistics of a real ion conductor at low temperature.

:func:`arrhenius_trial` simulates several temperatures with ``D(T) = D0 exp(-Ea / k_B T)``,
analyses them exactly as a real workflow would (segments, runs, 20–80 % window, weighted
Arrhenius fit) and returns the fit; :func:`arrhenius_coverage` repeats it to measure how often
the true ``Ea`` lies within ``k`` reported standard errors.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from ionflow.core.diffusion.analysis import diffusion_coefficient
from ionflow.core.diffusion.arrhenius import ArrheniusResult, fit_arrhenius
from ionflow.core.diffusion.units import A2_PER_PS_TO_CM2_PER_S, KB_EV_K
from ionflow.core.errors import IonflowInputError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["arrhenius_coverage", "arrhenius_trial", "gaussian_walk", "hopping_walk"]

logger = logging.getLogger(__name__)


def gaussian_walk(
    n_frames: int,
    n_ions: int,
    D_cm2_s: float | Sequence[float],
    timestep_fs: float,
    *,
    rng: np.random.Generator,
    dtype: type = np.float64,
) -> np.ndarray:
    """Brownian trajectories ``(n_frames, n_ions, 3)`` in Å starting at the origin.

    Parameters
    ----------
    n_frames, n_ions : int
        Shape.
    D_cm2_s : float or sequence of 3 floats
        Diffusivity (per axis when a sequence), cm²/s.
    timestep_fs : float
        Time between frames, fs.
    rng : np.random.Generator
        Random generator.
    dtype : type, optional
        Output dtype.

    Returns
    -------
    np.ndarray
        Positions, Å.
    """
    d_axes = np.broadcast_to(np.asarray(D_cm2_s, dtype=np.float64), (3,))
    sd = np.sqrt(2.0 * d_axes / A2_PER_PS_TO_CM2_PER_S * timestep_fs * 1e-3)  # Å per step
    steps = rng.standard_normal((n_frames, n_ions, 3), dtype=np.float64) * sd
    steps[0] = 0.0
    return np.cumsum(steps, axis=0).astype(dtype, copy=False)


def hopping_walk(
    n_frames: int,
    n_ions: int,
    D_cm2_s: float,
    timestep_fs: float,
    *,
    rng: np.random.Generator,
    hop_length_A: float = 2.5,
    vibration_A: float = 0.1,
) -> np.ndarray:
    """Random jumps of length ``hop_length_A`` along the Cartesian axes, plus vibration.

    Parameters
    ----------
    n_frames, n_ions : int
        Shape.
    D_cm2_s : float
        Long-time tracer diffusivity, cm²/s (3D).
    timestep_fs : float
        Time between frames, fs.
    rng : np.random.Generator
        Random generator.
    hop_length_A : float, optional
        Jump length, Å.
    vibration_A : float, optional
        Standard deviation per axis of the (uncorrelated) vibration around the site, Å.

    Returns
    -------
    np.ndarray
        ``(n_frames, n_ions, 3)`` positions, Å.
    """
    if D_cm2_s < 0 or hop_length_A <= 0:
        raise IonflowInputError("need D >= 0 and hop_length_A > 0")
    rate_per_ps = 6.0 * (D_cm2_s / A2_PER_PS_TO_CM2_PER_S) / hop_length_A**2
    counts = rng.poisson(rate_per_ps * timestep_fs * 1e-3, size=(n_frames - 1, n_ions))
    steps = np.zeros((n_frames - 1, n_ions, 3))
    total = int(counts.sum())
    if total:
        flat = np.repeat(np.arange(counts.size), counts.ravel())
        axis = rng.integers(0, 3, size=total)
        sign = rng.choice(np.array([-1.0, 1.0]), size=total)
        np.add.at(steps.reshape(-1, 3), (flat, axis), sign * hop_length_A)
    sites = np.zeros((n_frames, n_ions, 3))
    np.cumsum(steps, axis=0, out=sites[1:])
    if vibration_A > 0:
        sites += rng.normal(scale=vibration_A, size=sites.shape)
    return sites


def arrhenius_trial(
    rng: np.random.Generator,
    *,
    temperatures: Sequence[float] = (500.0, 600.0, 700.0, 800.0, 900.0),
    Ea_eV: float = 0.3,
    D0_cm2_s: float = 1e-3,
    n_runs: int = 3,
    run_ps: float = 200.0,
    n_segments: int = 4,
    timestep_fs: float = 100.0,
    n_ions: int = 16,
    hop_length_A: float = 2.5,
    vibration_A: float = 0.1,
    fit_t_max: float | None = None,
) -> ArrheniusResult:
    """Simulate hopping walks at several temperatures, analyse them, fit Arrhenius.

    Defaults mirror lian2025 (3 runs x 200 ps split into 12 segments of 50 ps per temperature,
    here with 16 ions and 100 fs between frames); with Ea = 0.3 eV the lowest temperature sees
    only ~100 jumps in total.

    Parameters
    ----------
    rng : np.random.Generator
        Random generator.
    temperatures : sequence of float, optional
        Temperatures, K.
    Ea_eV, D0_cm2_s : float, optional
        True Arrhenius parameters.
    n_runs, run_ps, n_segments, timestep_fs, n_ions : optional
        Simulation/analysis layout.
    hop_length_A, vibration_A : float, optional
        Walk parameters (:func:`hopping_walk`).
    fit_t_max : float, optional
        Fit only temperatures up to this value.

    Returns
    -------
    ArrheniusResult
        The fit from the analysed synthetic data.
    """
    n_frames = round(run_ps * 1000.0 / timestep_fs)
    temps = np.asarray(temperatures, dtype=np.float64)
    d_fit, d_err = [], []
    for t in temps:
        d_true = D0_cm2_s * np.exp(-Ea_eV / (KB_EV_K * t))
        runs = [
            hopping_walk(
                n_frames,
                n_ions,
                d_true,
                timestep_fs,
                rng=rng,
                hop_length_A=hop_length_A,
                vibration_A=vibration_A,
            )
            for _ in range(n_runs)
        ]
        res = diffusion_coefficient(
            None,
            timestep_fs,
            runs=runs,
            n_segments=n_segments,
            temperature=float(t),
            check_hops=False,
        )
        d_fit.append(res.D_cm2_s)
        d_err.append(res.D_err_cm2_s)
    return fit_arrhenius(temps, d_fit, d_err, t_max=fit_t_max)


def arrhenius_coverage(
    n_trials: int,
    seed: int = 0,
    *,
    k_sigma: float = 2.0,
    Ea_eV: float = 0.3,
    **kwargs: object,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Fraction of trials whose ``Ea`` interval ``± k_sigma * Ea_err`` contains the truth.

    Parameters
    ----------
    n_trials : int
        Repetitions.
    seed : int, optional
        Seed of the random generator.
    k_sigma : float, optional
        Interval half-width in reported standard errors.
    Ea_eV : float, optional
        True activation energy.
    **kwargs
        Passed to :func:`arrhenius_trial`.

    Returns
    -------
    tuple
        ``(coverage, Ea_fitted, Ea_err)`` over the trials.
    """
    rng = np.random.default_rng(seed)
    ea = np.empty(n_trials)
    err = np.empty(n_trials)
    for i in range(n_trials):
        fit = arrhenius_trial(rng, Ea_eV=Ea_eV, **kwargs)  # type: ignore[arg-type]
        ea[i], err[i] = fit.Ea_eV, fit.Ea_err_eV
    covered = np.abs(ea - Ea_eV) <= k_sigma * err
    return float(covered.mean()), ea, err
