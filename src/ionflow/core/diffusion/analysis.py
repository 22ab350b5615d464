"""Tracer and charge diffusivity from unwrapped MD trajectories, with an uncertainty.

The default analysis follows lian2025 (section 2.3) and DESIGN.md §3:

1. every run (an independent MD trajectory of the mobile ions) is cut into non-overlapping
   segments of equal length (lian2025: 3 runs x 200 ps -> 12 segments x 50 ps);
2. the time-origin-averaged MSD of every segment is computed by FFT (:func:`msd_fft`);
3. the MSD curves are averaged and ``D = slope / (2 d)`` is fitted by ordinary least squares on
   the 20–80 % window of the segment's lag range (``d`` = number of Cartesian axes used);
4. the standard error of ``D`` is the standard deviation of the per-segment ``D`` over
   ``sqrt(n_segments)``. With one segment of one run there is no spread to use, and the error
   is the least-squares standard error of the slope, which ignores that MSD points at
   neighbouring lags are strongly correlated and therefore *underestimates* the uncertainty
   (``error_method = "fit"`` flags it).

Relation to pymatgen-analysis-diffusion
---------------------------------------
``DiffusionAnalyzer(smoothed="max")`` (the pymatgen default) does, in this order:

1. subtracts from every displacement the mean displacement of *all* non-diffusing atoms
   (framework drift);
2. computes the per-ion, all-time-origin MSD of the whole run by FFT (no segments);
3. fits ``MSD = a + b Δt`` on lags from ``int(1000 fs / frame interval)`` (1 ps) to
   ``min(N_ion * N_frames // min_obs, N_frames)`` (exclusive; ``min_obs = 30``), every
   ``max(int((max - min) / 200), 1)``-th lag, by least squares with weights ``1/Δt``;
4. ``D = b / 6`` (always 3D), the charge diffusivity from the MSD of the summed displacement
   divided by N, fitted the same way; ``sigma`` from Nernst–Einstein with the charge from the
   oxidation state (or the number of valence electrons);
5. its ``diffusivity_std_dev`` is the least-squares slope error, which treats the strongly
   correlated MSD points as independent (on its LGPS test data it is 0.013 % of D).

``preset="pymatgen_max"`` with ``drift=framework_drift(framework positions)`` reproduces steps
1–4 exactly (see :func:`pymatgen_max_fit_lags`). On pymatgen's LGPS 600 K test set it gives
D = 1.161293e-6 cm²/s and sigma = 74.1654 mS/cm, equal to the installed pymatgen to
round-off. The D asserted in pymatgen's own test, 1.16083658794e-6, is the same window fitted
*without* weights (an older pymatgen; the data file still says ``weighted: false``):
``fit_lags=pymatgen_max_fit_lags(...), weighting="none"`` reproduces it to 10 digits.

Our default differs on purpose:

* the fit window is 20–80 % of the lag range of a segment (lian2025), not 1 ps to the end of
  the run: with many ions pymatgen's upper limit is the whole run, whose last lags are averaged
  over a handful of time origins and are the noisiest part of the curve;
* ordinary least squares: with errors taken from the spread over segments the weights only
  change the point estimate, and unweighted fits keep ``D(mean curve) = mean(D_segments)``;
* the uncertainty is the standard error over independent segments/runs (it includes the
  correlations along the MSD curve that the fit error ignores);
* no drift correction unless ``drift`` is given: ionflow stores mobile-ion positions only; pass
  ``TrajectoryData.framework_drift_A`` (or :func:`framework_drift`) when the framework drifts
  (thermostats that do not conserve momentum, e.g. Langevin);
* ``d`` is selectable (1D/2D projections), the charge comes from the caller.

On pymatgen's LGPS 600 K data (20 ps) the default gives ``D`` about 13 % above the "max" value:
the run is too short for either number to be precise, and the hop criterion says so.

Code map
--------
:func:`diffusion_coefficient` runs named steps, each a small function: :func:`prepare_runs`
(checks, equilibration skip, drift) -> :func:`plan_segments` -> :func:`segment_msds` ->
:func:`~ionflow.core.diffusion.fitting.choose_fit_window` ->
:func:`~ionflow.core.diffusion.fitting.fit_diffusivity` (fit and error estimate) -> the charge
diffusivity -> the hop check (:mod:`~ionflow.core.diffusion.hops`) -> the
:class:`~ionflow.core.diffusion.result.DiffusionResult`. The knobs are one
:class:`~ionflow.core.diffusion.settings.DiffusionSettings`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ionflow.core.diffusion.fitting import (
    FitWindow,
    SlopeFit,
    choose_fit_window,
    fit_diffusivity,
    pymatgen_max_fit_lags,
)
from ionflow.core.diffusion.hops import HopCheck, _hop_verdict, count_hops, enough_hops
from ionflow.core.diffusion.msd import _check_positions, collective_msd_fft, msd_fft
from ionflow.core.diffusion.result import DiffusionResult
from ionflow.core.diffusion.settings import DiffusionSettings
from ionflow.core.errors import IonflowInputError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "DiffusionResult",
    "DiffusionSettings",
    "HopCheck",
    "PreparedRun",
    "count_hops",
    "diffusion_coefficient",
    "enough_hops",
    "plan_segments",
    "prepare_runs",
    "pymatgen_max_fit_lags",
    "segment_msds",
]

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# step 1: the runs
# --------------------------------------------------------------------------------------------


@dataclass
class PreparedRun:
    """One run ready for the analysis: production frames and the drift to subtract.

    Attributes
    ----------
    positions : np.ndarray
        Unwrapped mobile-ion positions after the equilibration frames, Å,
        ``(n_frames, n_mobile, 3)`` (float32 stays float32).
    drift : np.ndarray or None
        ``(n_frames, 3)`` drift of the same frames, subtracted on access (:meth:`frames`).
    """

    positions: np.ndarray
    drift: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        """Frames of the run."""
        return int(self.positions.shape[0])

    def frames(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Drift-corrected positions of frames ``start .. stop - 1`` (a view without drift)."""
        seg = self.positions[start:stop]
        if self.drift is None:
            return seg
        return seg - self.drift[start:stop, None, :]


def _as_run_list(
    positions: np.ndarray | Sequence[np.ndarray] | None,
    runs: Sequence[np.ndarray] | None,
) -> list[np.ndarray]:
    if positions is not None and runs is not None:
        raise IonflowInputError("give either positions or runs, not both")
    src = runs if runs is not None else positions
    if src is None:
        raise IonflowInputError("no positions given")
    if isinstance(src, np.ndarray):
        run_list = [src]
    else:
        run_list = list(src)
        if not run_list:
            raise IonflowInputError("runs is empty")
    return [_check_positions(r, name=f"run {i}") for i, r in enumerate(run_list)]


def _drift_list(
    drift: np.ndarray | Sequence[np.ndarray] | None, run_list: list[np.ndarray]
) -> list[np.ndarray | None]:
    """One ``(n_frames, 3)`` float64 drift (or None) per run."""
    if drift is None:
        return [None] * len(run_list)
    drift_seq = [drift] if isinstance(drift, np.ndarray) else list(drift)
    if len(drift_seq) != len(run_list):
        raise IonflowInputError(f"got {len(drift_seq)} drift arrays for {len(run_list)} runs")
    out: list[np.ndarray | None] = []
    for i, (dr, run) in enumerate(zip(drift_seq, run_list)):
        dr = np.asarray(dr, dtype=np.float64)
        if dr.shape != (run.shape[0], 3):
            raise IonflowInputError(
                f"drift of run {i} must have shape ({run.shape[0]}, 3), got {dr.shape}"
            )
        out.append(dr)
    return out


def prepare_runs(
    positions: np.ndarray | Sequence[np.ndarray] | None,
    *,
    runs: Sequence[np.ndarray] | None = None,
    drift: np.ndarray | Sequence[np.ndarray] | None = None,
    equilibration_frames: int = 0,
) -> list[PreparedRun]:
    """Check the runs, drop the equilibration frames, attach the drift of every run.

    Parameters
    ----------
    positions : np.ndarray or sequence of np.ndarray or None
        One run ``(n_frames, n_mobile, 3)`` or a list of runs; None when ``runs`` is given.
    runs : sequence of np.ndarray, optional
        Alternative to ``positions``.
    drift : np.ndarray or sequence of np.ndarray, optional
        ``(n_frames, 3)`` drift per run (all frames, equilibration included).
    equilibration_frames : int, optional
        Frames dropped at the start of every run.

    Returns
    -------
    list of PreparedRun
        One per run, all with the same number of mobile ions.
    """
    run_list = _as_run_list(positions, runs)
    n_mobile = run_list[0].shape[1]
    if any(r.shape[1] != n_mobile for r in run_list):
        counts = [r.shape[1] for r in run_list]
        raise IonflowInputError(f"all runs must have the same number of mobile ions, got {counts}")
    drifts = _drift_list(drift, run_list)
    skip = int(equilibration_frames)
    for i, run in enumerate(run_list):
        if run.shape[0] - skip < 2:
            raise IonflowInputError(
                f"equilibration_frames={skip} leaves {max(run.shape[0] - skip, 0)} frame(s) of "
                f"run {i} ({run.shape[0]} frames): need at least 2"
            )
    if skip:
        logger.info("skipping %d equilibration frames of every run", skip)
    return [
        PreparedRun(run[skip:], None if dr is None else dr[skip:])
        for run, dr in zip(run_list, drifts)
    ]


# --------------------------------------------------------------------------------------------
# steps 2-3: segments and their MSD curves
# --------------------------------------------------------------------------------------------


def plan_segments(
    run_frames: Sequence[int], timestep_fs: float, settings: DiffusionSettings
) -> tuple[int, list[int]]:
    """Length of the segments and how many every run holds.

    Parameters
    ----------
    run_frames : sequence of int
        Frames of every run.
    timestep_fs : float
        Time between frames, fs.
    settings : DiffusionSettings
        ``n_segments`` or ``segment_length_ps``.

    Returns
    -------
    tuple of (int, list of int)
        Frames per segment and segments per run.
    """
    shortest = min(run_frames)
    if settings.segment_length_ps is not None:
        seg_len = round(settings.segment_length_ps * 1000.0 / timestep_fs)
        if seg_len > shortest:
            raise IonflowInputError(
                f"segment_length_ps={settings.segment_length_ps} ({seg_len} frames) is longer "
                f"than the shortest run ({shortest} frames)"
            )
    else:
        seg_len = shortest // settings.n_segments
    if seg_len < 3:
        raise IonflowInputError(f"segments of {seg_len} frames are too short (need >= 3)")
    if settings.segment_length_ps is not None:
        per_run = [n // seg_len for n in run_frames]
    else:
        per_run = [settings.n_segments] * len(run_frames)
    unused = sum(n - k * seg_len for n, k in zip(run_frames, per_run))
    if unused:
        logger.info("%d trailing frames not used by the segmentation", unused)
    return seg_len, per_run


def segment_msds(
    runs: Sequence[PreparedRun],
    segment_frames: int,
    per_run: Sequence[int],
    settings: DiffusionSettings,
) -> tuple[np.ndarray, np.ndarray | None]:
    """MSD (and collective MSD) of every segment of every run.

    Parameters
    ----------
    runs : sequence of PreparedRun
        The runs.
    segment_frames : int
        Frames per segment.
    per_run : sequence of int
        Segments of every run (from the start of the run).
    settings : DiffusionSettings
        ``dims``, ``collective``, ``workers``.

    Returns
    -------
    tuple of np.ndarray
        ``(n_segments, segment_frames)`` MSD curves, Å², and the collective ones (None
        unless ``settings.collective``).
    """
    msd_segs: list[np.ndarray] = []
    mscd_segs: list[np.ndarray] = []
    for run, k in zip(runs, per_run):
        for s in range(k):
            seg = run.frames(s * segment_frames, (s + 1) * segment_frames)
            msd_segs.append(msd_fft(seg, dims=settings.dims, workers=settings.workers))
            if settings.collective:
                mscd_segs.append(
                    collective_msd_fft(seg, dims=settings.dims, workers=settings.workers)
                )
    return np.asarray(msd_segs), (np.asarray(mscd_segs) if settings.collective else None)


# --------------------------------------------------------------------------------------------
# steps 4-7: fit, charge diffusivity, hops, result
# --------------------------------------------------------------------------------------------


def _tracer_fit(msd_all: np.ndarray, window: FitWindow, dim: int) -> SlopeFit:
    """Tracer ``D`` with its error, logging what the caller should know."""
    fit = fit_diffusivity(msd_all, window, dim)
    if fit.error_method == "fit":
        logger.info(
            "single segment: D error from the least-squares slope (underestimates the "
            "statistical error; use several runs or n_segments > 1)"
        )
    if not fit.D_cm2_s > 0:
        logger.warning("non-positive diffusivity %.3g cm²/s (no diffusion seen?)", fit.D_cm2_s)
    return fit


def _assemble_result(
    fit: SlopeFit,
    msd_all: np.ndarray,
    window: FitWindow,
    settings: DiffusionSettings,
    *,
    runs: Sequence[PreparedRun],
    timestep_fs: float,
    temperature: float | None,
) -> DiffusionResult:
    """The :class:`DiffusionResult` of the tracer fit (charge and hop fields still empty)."""
    n_seg = msd_all.shape[0]
    seg_len = window.segment_frames
    extra: dict[str, Any] = {"preset": settings.preset}
    if settings.equilibration_frames:
        extra["equilibration_frames"] = settings.equilibration_frames
    return DiffusionResult(
        temperature=None if temperature is None else float(temperature),
        D_cm2_s=fit.D_cm2_s,
        D_err_cm2_s=fit.D_err_cm2_s,
        n_segments=n_seg,
        D_segments_cm2_s=np.asarray(fit.D_segments_cm2_s, dtype=np.float64),
        dim=settings.dim,
        dims=settings.dims,
        fit_window=window.fractions,
        timestep_fs=float(timestep_fs),
        msd_A2=msd_all.mean(axis=0),
        time_ps=np.arange(seg_len) * timestep_fs * 1e-3,
        error_method=fit.error_method,
        weighting=window.weighting,
        fit_lags=window.lags,
        fit_intercept_A2=fit.intercept_A2,
        n_mobile=int(runs[0].positions.shape[1]),
        n_runs=len(runs),
        segment_frames=seg_len,
        msd_err_A2=(msd_all.std(axis=0, ddof=1) / math.sqrt(n_seg)) if n_seg > 1 else None,
        drift_corrected=any(r.drift is not None for r in runs),
        extra=extra,
    )


def _add_charge_diffusivity(
    result: DiffusionResult, mscd_all: np.ndarray, window: FitWindow
) -> None:
    """Fill ``D_sigma`` (collective MSD fitted like the tracer one) and the Haven ratio."""
    charge = fit_diffusivity(mscd_all, window, result.dim)
    ds, ds_err = charge.D_cm2_s, charge.D_err_cm2_s
    result.D_sigma_cm2_s = ds
    result.D_sigma_err_cm2_s = ds_err
    result.D_sigma_segments_cm2_s = np.asarray(charge.D_segments_cm2_s, dtype=np.float64)
    result.mscd_A2 = mscd_all.mean(axis=0)
    d, d_err = result.D_cm2_s, result.D_err_cm2_s
    if ds > 0 and d > 0:
        hr = d / ds
        result.haven_ratio = hr
        result.haven_ratio_err = hr * math.hypot(d_err / d, ds_err / ds)
    else:
        logger.warning("charge diffusivity %.3g cm²/s is not positive: no Haven ratio", ds)


def _hop_check(
    runs: Sequence[PreparedRun], msd_end_A2: float, settings: DiffusionSettings
) -> HopCheck:
    """Hops counted over all (drift-corrected) runs, judged with the MSD at the last lag."""
    n_hops = sum(int(count_hops(run.frames(), settings.hop_threshold_A).sum()) for run in runs)
    return _hop_verdict(
        n_hops,
        int(runs[0].positions.shape[1]) * len(runs),
        msd_end_A2,
        hop_length_A=settings.hop_length_A,
        min_hops=settings.min_hops,
        min_msd_hop_ratio=settings.min_msd_hop_ratio,
    )


# --------------------------------------------------------------------------------------------
# the entry point
# --------------------------------------------------------------------------------------------


def diffusion_coefficient(
    positions: np.ndarray | Sequence[np.ndarray] | None,
    timestep_fs: float,
    *,
    runs: Sequence[np.ndarray] | None = None,
    drift: np.ndarray | Sequence[np.ndarray] | None = None,
    temperature: float | None = None,
    settings: DiffusionSettings | None = None,
    **overrides: Any,
) -> DiffusionResult:
    """Diffusivity from unwrapped mobile-ion trajectories, averaged over segments and runs.

    Parameters
    ----------
    positions : np.ndarray or sequence of np.ndarray or None
        Unwrapped Cartesian positions of the mobile ions, Å: one run ``(n_frames, n_mobile, 3)``
        or a list of independent runs (same ``n_mobile``). float32 is fine. None when ``runs``
        is given.
    timestep_fs : float
        Time between consecutive frames (MD step x sampling interval), fs.
    runs : sequence of np.ndarray, optional
        Alternative to ``positions``: independent runs.
    drift : np.ndarray or sequence of np.ndarray, optional
        ``(n_frames, 3)`` drift per run (e.g. :func:`framework_drift` of the framework atoms)
        subtracted from the mobile positions before the analysis.
    temperature : float, optional
        Temperature, K (stored in the result).
    settings : DiffusionSettings, optional
        The analysis knobs (default: ``DiffusionSettings()``, the lian2025 analysis).
    **overrides
        Any :class:`DiffusionSettings` field (``n_segments=4``, ``dims=(0, 1)``,
        ``collective=True``, ``preset="pymatgen_max"``, ``check_hops=False``, ...), replacing
        the value in ``settings``.

    Returns
    -------
    DiffusionResult
        ``D`` (cm²/s) from the segment-averaged MSD and its standard error
        ``std(D_segments, ddof=1) / sqrt(n_segments)``; with a single segment the least-squares
        slope error (``error_method="fit"``, an underestimate).

    Raises
    ------
    IonflowInputError
        Bad shapes, fewer than 2 fitted lags, invalid options.
    TypeError
        An override that is not a :class:`DiffusionSettings` field.
    """
    cfg = DiffusionSettings.build(settings, **overrides)
    prepared = prepare_runs(
        positions, runs=runs, drift=drift, equilibration_frames=cfg.equilibration_frames
    )
    if timestep_fs is None or not timestep_fs > 0:
        raise IonflowInputError(
            f"timestep_fs (time between frames, fs) must be > 0, got {timestep_fs}"
        )
    seg_len, per_run = plan_segments([r.n_frames for r in prepared], timestep_fs, cfg)
    window = choose_fit_window(seg_len, prepared[0].positions.shape[1], timestep_fs, cfg)
    msd_all, mscd_all = segment_msds(prepared, seg_len, per_run, cfg)
    fit = _tracer_fit(msd_all, window, cfg.dim)
    result = _assemble_result(
        fit, msd_all, window, cfg, runs=prepared, timestep_fs=timestep_fs, temperature=temperature
    )
    if mscd_all is not None:
        _add_charge_diffusivity(result, mscd_all, window)
    if cfg.check_hops:
        verdict = _hop_check(prepared, float(result.msd_A2[window.lags[-1]]), cfg)
        result.hop_count = verdict.n_hops
        result.enough_hops = verdict.ok
        result.hops_reason = verdict.reason
        if not verdict.ok:
            # the verdict is in the result (and becomes one warning of the Arrhenius report)
            logger.info("T=%s K: %s", temperature, verdict.reason)
    return result
