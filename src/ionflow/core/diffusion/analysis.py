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
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ionflow.core.diffusion.msd import _check_dims, _check_positions, collective_msd_fft, msd_fft
from ionflow.core.errors import IonflowInputError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "DiffusionResult",
    "HopCheck",
    "count_hops",
    "diffusion_coefficient",
    "enough_hops",
    "pymatgen_max_fit_lags",
]

logger = logging.getLogger(__name__)

#: 1 Å²/ps = 1e-16 cm² / 1e-12 s = 1e-4 cm²/s
A2_PER_PS_TO_CM2_PER_S = 1e-4

Weighting = Literal["none", "inverse_time"]


# --------------------------------------------------------------------------------------------
# hop detection
# --------------------------------------------------------------------------------------------


def count_hops(
    positions: np.ndarray,
    threshold_A: float = 1.5,
    *,
    smooth_frames: int = 1,
    chunk_frames: int = 64,
) -> np.ndarray:
    """Count the jumps of every ion with a moving-reference displacement criterion.

    Each ion starts with its first position as reference site. Whenever it is found more than
    ``threshold_A`` away from its reference, one hop is counted and the reference moves to the
    current position. A jump between two sites ``a`` apart (``a > threshold_A``) is therefore
    counted once; vibrations are not counted as long as their amplitude stays well below the
    threshold (use ``smooth_frames`` to average them out when frames are dense).

    Parameters
    ----------
    positions : np.ndarray
        Unwrapped Cartesian positions, Å, ``(n_frames, n_atoms, 3)``.
    threshold_A : float, optional
        Displacement from the reference site that counts as a hop (default 1.5 Å, about half
        to two thirds of a typical Li/Na site-to-site distance).
    smooth_frames : int, optional
        Running-mean window (frames) applied to the positions first (default 1: none).
    chunk_frames : int, optional
        Frames processed per vectorised chunk (memory/speed trade-off).

    Returns
    -------
    np.ndarray
        Integer hop counts per ion, shape ``(n_atoms,)``.
    """
    arr = _check_positions(positions)
    if threshold_A <= 0:
        raise IonflowInputError(f"threshold_A must be > 0, got {threshold_A}")
    if smooth_frames > 1:
        if smooth_frames >= arr.shape[0]:
            raise IonflowInputError(
                f"smooth_frames={smooth_frames} must be smaller than the number of frames "
                f"({arr.shape[0]})"
            )
        csum = np.cumsum(np.asarray(arr, dtype=np.float64), axis=0)
        csum = np.concatenate([np.zeros((1, *arr.shape[1:])), csum], axis=0)
        arr = (csum[smooth_frames:] - csum[:-smooth_frames]) / smooth_frames
    n_frames, n_atoms, _ = arr.shape
    thr2 = float(threshold_A) ** 2
    ref = np.array(arr[0], dtype=np.float64)
    counts = np.zeros(n_atoms, dtype=np.int64)
    for start in range(1, n_frames, chunk_frames):
        seg = np.asarray(arr[start : start + chunk_frames], dtype=np.float64)
        k = seg.shape[0]
        frame_idx = np.arange(k)[:, None]
        ptr = np.zeros(n_atoms, dtype=np.int64)  # first unscanned frame of the chunk, per ion
        active = np.arange(n_atoms)
        while active.size:
            d2 = ((seg[:, active, :] - ref[active]) ** 2).sum(axis=-1)  # (k, n_active)
            over = (d2 > thr2) & (frame_idx >= ptr[active])
            has = over.any(axis=0)
            if not has.any():
                break
            first = over.argmax(axis=0)[has]
            hit = active[has]
            counts[hit] += 1
            ref[hit] = seg[first, hit]
            ptr[hit] = first + 1
            active = hit[ptr[hit] < k]
    return counts


@dataclass
class HopCheck:
    """Whether a trajectory saw enough ion jumps for its diffusivity to be trusted.

    Attributes
    ----------
    ok : bool
        Both criteria met.
    reason : str
        Human-readable explanation (which criterion failed, or the figures when both pass).
    n_hops : int
        Total hop events (all ions, all runs).
    hops_per_ion : float
        ``n_hops / n_ions``.
    msd_end_A2 : float
        MSD at the end of the fitted lag window, Å².
    msd_hop_ratio : float
        ``msd_end_A2 / hop_length_A**2``.
    """

    ok: bool
    reason: str
    n_hops: int
    hops_per_ion: float
    msd_end_A2: float
    msd_hop_ratio: float

    def __bool__(self) -> bool:
        return bool(self.ok)


def _hop_verdict(
    n_hops: int,
    n_ions: int,
    msd_end_A2: float,
    *,
    hop_length_A: float,
    min_hops: int,
    min_msd_hop_ratio: float,
) -> HopCheck:
    ratio = msd_end_A2 / hop_length_A**2
    problems = []
    if n_hops < min_hops:
        problems.append(f"only {n_hops} hop events detected (need >= {min_hops})")
    if not ratio >= min_msd_hop_ratio:
        problems.append(
            f"MSD at the end of the fit window is {msd_end_A2:.3g} Å² = {ratio:.3g} squared "
            f"hop lengths (need >= {min_msd_hop_ratio:g} x ({hop_length_A:g} Å)²)"
        )
    ok = not problems
    if ok:
        reason = (
            f"ok: {n_hops} hop events ({n_hops / n_ions:.3g} per ion), MSD at the end of the fit "
            f"window {msd_end_A2:.3g} Å² = {ratio:.3g} squared hop lengths"
        )
    else:
        reason = "; ".join(problems) + ": D is not trustworthy, run longer or hotter"
    return HopCheck(
        ok=ok,
        reason=reason,
        n_hops=int(n_hops),
        hops_per_ion=n_hops / n_ions,
        msd_end_A2=float(msd_end_A2),
        msd_hop_ratio=float(ratio),
    )


def enough_hops(
    positions: np.ndarray,
    *,
    threshold_A: float = 1.5,
    hop_length_A: float = 2.0,
    min_hops: int = 20,
    min_msd_hop_ratio: float = 2.0,
    lag_fraction: float = 0.8,
    smooth_frames: int = 1,
) -> HopCheck:
    """Tell whether a trajectory saw enough jumps to trust its diffusivity.

    Criterion (both must hold):

    * at least ``min_hops`` hop events in total (:func:`count_hops` with ``threshold_A``): the
      relative statistical error of ``D`` scales roughly as ``1/sqrt(n_hops)``, so 20 events
      mean an error of roughly 20–25 %;
    * the MSD at ``lag_fraction`` of the run (the end of the default fit window) exceeds
      ``min_msd_hop_ratio`` squared hop lengths, i.e. the fit sees the diffusive regime and not
      the vibrational plateau (cf. the screen ``MSD_800K > 5 Å²`` quoted in lian2025).

    Parameters
    ----------
    positions : np.ndarray
        Unwrapped Cartesian positions of the mobile ions, Å, ``(n_frames, n_atoms, 3)``.
    threshold_A : float, optional
        Hop detection threshold, Å.
    hop_length_A : float, optional
        Typical site-to-site distance, Å.
    min_hops : int, optional
        Minimum number of hop events.
    min_msd_hop_ratio : float, optional
        Minimum ``MSD(end) / hop_length_A**2``.
    lag_fraction : float, optional
        Lag (fraction of the run) at which the MSD is read.
    smooth_frames : int, optional
        Passed to :func:`count_hops`.

    Returns
    -------
    HopCheck
        Truthy when the run is trustworthy; ``reason`` explains.
    """
    arr = _check_positions(positions)
    counts = count_hops(arr, threshold_A, smooth_frames=smooth_frames)
    msd = msd_fft(arr)
    lag = int(np.floor(lag_fraction * (arr.shape[0] - 1)))
    return _hop_verdict(
        int(counts.sum()),
        arr.shape[1],
        float(msd[lag]),
        hop_length_A=hop_length_A,
        min_hops=min_hops,
        min_msd_hop_ratio=min_msd_hop_ratio,
    )


# --------------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


_CURVES = ("msd_A2", "msd_err_A2", "mscd_A2", "time_ps")


@dataclass
class DiffusionResult:
    """Diffusivity of one temperature (one or several runs) with its uncertainty.

    Attributes
    ----------
    temperature : float or None
        Temperature, K.
    D_cm2_s : float
        Tracer diffusivity (fit of the segment-averaged MSD), cm²/s.
    D_err_cm2_s : float
        Standard error of ``D_cm2_s`` (see ``error_method``), cm²/s.
    n_segments : int
        Total number of segments (over all runs).
    D_segments_cm2_s : np.ndarray
        Diffusivity fitted on each segment, cm²/s.
    dim : int
        Dimensionality ``d`` in ``D = slope / (2 d)``.
    dims : tuple of int
        Cartesian axes used.
    fit_window : tuple of float
        First and last fitted lag as fractions of the segment's lag range.
    timestep_fs : float
        Time between frames, fs.
    msd_A2 : np.ndarray
        Segment-averaged MSD, Å², for lags ``0 .. segment_frames - 1``.
    time_ps : np.ndarray
        Lag times, ps.
    error_method : str
        ``"segments"`` (spread over segments/runs) or ``"fit"`` (least-squares slope error of
        a single segment; an underestimate).
    weighting : str
        ``"none"`` (ordinary least squares) or ``"inverse_time"`` (weights ``1/Δt``).
    fit_lags : np.ndarray
        Lag indices (frames) used in the fit.
    fit_intercept_A2 : float
        Intercept of the fitted line, Å².
    n_mobile : int
        Mobile ions per run.
    n_runs : int
        Independent runs.
    segment_frames : int
        Frames per segment.
    msd_err_A2 : np.ndarray or None
        Standard error of the averaged MSD curve over segments (None with one segment).
    drift_corrected : bool
        Whether a framework drift was subtracted.
    D_sigma_cm2_s, D_sigma_err_cm2_s : float or None
        Charge (collective) diffusivity and its standard error when ``collective``.
    D_sigma_segments_cm2_s : np.ndarray or None
        Per-segment charge diffusivities.
    mscd_A2 : np.ndarray or None
        Segment-averaged collective MSD (divided by N), Å².
    haven_ratio, haven_ratio_err : float or None
        ``D / D_sigma`` and its error (relative errors added in quadrature).
    hop_count : int or None
        Total detected hop events (:func:`count_hops`).
    enough_hops : bool or None
        Verdict of the hop criterion (:func:`enough_hops`).
    hops_reason : str or None
        Explanation of the verdict.
    """

    temperature: float | None
    D_cm2_s: float
    D_err_cm2_s: float
    n_segments: int
    D_segments_cm2_s: np.ndarray
    dim: int
    dims: tuple[int, ...]
    fit_window: tuple[float, float]
    timestep_fs: float
    msd_A2: np.ndarray
    time_ps: np.ndarray
    error_method: str
    weighting: str
    fit_lags: np.ndarray
    fit_intercept_A2: float
    n_mobile: int
    n_runs: int
    segment_frames: int
    msd_err_A2: np.ndarray | None = None
    drift_corrected: bool = False
    D_sigma_cm2_s: float | None = None
    D_sigma_err_cm2_s: float | None = None
    D_sigma_segments_cm2_s: np.ndarray | None = None
    mscd_A2: np.ndarray | None = None
    haven_ratio: float | None = None
    haven_ratio_err: float | None = None
    hop_count: int | None = None
    enough_hops: bool | None = None
    hops_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def D_rel_err(self) -> float:
        """Relative standard error of ``D``."""
        return self.D_err_cm2_s / self.D_cm2_s if self.D_cm2_s else math.inf

    def conductivity_mS_cm(
        self,
        volume_A3: float,
        *,
        charge: float = 1.0,
        haven_ratio: float = 1.0,
        use_charge_diffusivity: bool = False,
    ) -> float:
        """Nernst–Einstein conductivity at this result's temperature, mS/cm.

        Parameters
        ----------
        volume_A3 : float
            Cell volume, Å³.
        charge : float, optional
            Ion charge in units of e.
        haven_ratio : float, optional
            Haven ratio dividing the tracer diffusivity (ignored with
            ``use_charge_diffusivity``).
        use_charge_diffusivity : bool, optional
            Use ``D_sigma`` (collective) instead of ``D / haven_ratio``.

        Returns
        -------
        float
            Conductivity, mS/cm.
        """
        from ionflow.core.diffusion.arrhenius import nernst_einstein_conductivity

        if self.temperature is None:
            raise IonflowInputError("this DiffusionResult has no temperature")
        if use_charge_diffusivity:
            if self.D_sigma_cm2_s is None:
                raise IonflowInputError("no charge diffusivity: analyse with collective=True")
            d, hr = self.D_sigma_cm2_s, 1.0
        else:
            d, hr = self.D_cm2_s, haven_ratio
        return float(
            nernst_einstein_conductivity(
                d, self.temperature, self.n_mobile, volume_A3, charge=charge, haven_ratio=hr
            )
        )

    def as_dict(self, include_curves: bool = True) -> dict[str, Any]:
        """JSON-friendly dict: arrays become lists, non-finite floats become None.

        Parameters
        ----------
        include_curves : bool, optional
            Include the MSD curves (``msd_A2``, ``msd_err_A2``, ``mscd_A2``, ``time_ps``), one
            value per lag; False keeps the dict small (for task documents).

        Returns
        -------
        dict
            The fields of the result.
        """
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if not include_curves:
            for key in _CURVES:
                out[key] = None
        return _jsonable(out)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DiffusionResult:
        """Rebuild a result from :meth:`as_dict` output."""
        kw = dict(d)
        for key in (
            "D_segments_cm2_s",
            "msd_A2",
            "time_ps",
            "fit_lags",
            "msd_err_A2",
            "D_sigma_segments_cm2_s",
            "mscd_A2",
        ):
            if kw.get(key) is not None:
                kw[key] = np.array(
                    [np.nan if v is None else v for v in kw[key]],
                    dtype=np.int64 if key == "fit_lags" else np.float64,
                )
        for key in ("D_cm2_s", "D_err_cm2_s", "fit_intercept_A2"):
            if kw.get(key) is None:
                kw[key] = math.nan
        kw["dims"] = tuple(kw["dims"])
        kw["fit_window"] = tuple(kw["fit_window"])
        return cls(**kw)


# --------------------------------------------------------------------------------------------
# fitting
# --------------------------------------------------------------------------------------------


def pymatgen_max_fit_lags(
    n_frames: int, n_mobile: int, timestep_fs: float, *, min_obs: int = 30
) -> np.ndarray:
    """Lags that pymatgen-analysis-diffusion's ``smoothed="max"`` mode fits.

    pymatgen (``DiffusionAnalyzer.__init__``) uses, in frames,
    ``min_dt = int(1000 fs / timestep)`` (the fit starts at 1 ps),
    ``max_dt = min(n_mobile * n_frames // min_obs, n_frames)`` (exclusive) and a stride of
    ``max(int((max_dt - min_dt) / 200), 1)`` (about 200 points), then fits ``MSD = a + b Δt``
    by least squares with weights ``1/Δt``.

    Parameters
    ----------
    n_frames : int
        Frames of the (segment of the) trajectory.
    n_mobile : int
        Mobile ions.
    timestep_fs : float
        Time between frames, fs.
    min_obs : int, optional
        pymatgen's ``min_obs``.

    Returns
    -------
    np.ndarray
        Lag indices.
    """
    min_dt = int(1000 / timestep_fs)
    max_dt = min(n_mobile * n_frames // min_obs, n_frames)
    if min_dt >= max_dt:
        raise IonflowInputError(
            f"not enough data for the pymatgen 'max' window: first lag {min_dt} frames (1 ps) "
            f">= last lag {max_dt} frames"
        )
    return np.arange(min_dt, max_dt, max(int((max_dt - min_dt) / 200), 1))


def _fit_lines(
    t: np.ndarray, y: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted least-squares lines ``y = a + b t`` for every column of ``y``.

    Returns slope, intercept and the standard error of the slope (from the weighted residuals,
    ``n - 2`` degrees of freedom; NaN with two points).
    """
    w = weights / weights.sum()
    y2 = y if y.ndim == 2 else y[:, None]
    t_mean = float(w @ t)
    dt = t - t_mean
    sxx = float(w @ dt**2)
    slope = (w * dt) @ y2 / sxx
    intercept = w @ y2 - slope * t_mean
    n = t.size
    if n > 2:
        resid = y2 - intercept[None, :] - slope[None, :] * t[:, None]
        se = np.sqrt((w @ resid**2) / ((n - 2) * sxx))
    else:
        se = np.full(slope.shape, np.nan)
    if y.ndim == 1:
        return slope[0], intercept[0], se[0]
    return slope, intercept, se


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


def diffusion_coefficient(
    positions: np.ndarray | Sequence[np.ndarray] | None,
    timestep_fs: float,
    *,
    runs: Sequence[np.ndarray] | None = None,
    n_segments: int = 1,
    segment_length_ps: float | None = None,
    fit_window: tuple[float, float] = (0.2, 0.8),
    fit_lags: Sequence[int] | np.ndarray | None = None,
    lag_stride: int = 1,
    weighting: Weighting = "none",
    dims: Sequence[int] = (0, 1, 2),
    temperature: float | None = None,
    collective: bool = False,
    drift: np.ndarray | Sequence[np.ndarray] | None = None,
    preset: Literal["ionflow", "pymatgen_max"] = "ionflow",
    min_obs: int = 30,
    check_hops: bool = True,
    hop_threshold_A: float = 1.5,
    hop_length_A: float = 2.0,
    min_hops: int = 20,
    min_msd_hop_ratio: float = 2.0,
    workers: int | None = None,
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
    n_segments : int, optional
        Non-overlapping segments per run (lian2025: 4 per 200 ps run -> 50 ps segments). Every
        segment has ``min(n_frames_run) // n_segments`` frames; leftover frames at the end of
        longer runs are not used.
    segment_length_ps : float, optional
        Instead of ``n_segments``: cut every run into as many segments of
        ``round(segment_length_ps / timestep)`` frames as fit.
    fit_window : tuple of float, optional
        Fitted part of the lag range, as fractions of the segment duration (default 20–80 %).
    fit_lags : sequence of int, optional
        Explicit lag indices (frames) to fit, overriding ``fit_window``.
    lag_stride : int, optional
        Use every ``lag_stride``-th lag inside ``fit_window``.
    weighting : {"none", "inverse_time"}, optional
        Least-squares weights: ordinary (default) or ``1/Δt`` (pymatgen "max").
    dims : sequence of int, optional
        Cartesian axes: ``(0, 1, 2)`` for 3D, 2 axes for a plane, 1 axis for a line projection;
        ``d = len(dims)``.
    temperature : float, optional
        Temperature, K (stored in the result).
    collective : bool, optional
        Also compute the charge diffusivity ``D_sigma`` from the collective MSD
        (:func:`collective_msd_fft`) and the Haven ratio ``D / D_sigma``.
    drift : np.ndarray or sequence of np.ndarray, optional
        ``(n_frames, 3)`` drift per run (e.g. :func:`framework_drift` of the framework atoms)
        subtracted from the mobile positions before the analysis.
    preset : {"ionflow", "pymatgen_max"}, optional
        ``"pymatgen_max"`` sets ``fit_lags`` to :func:`pymatgen_max_fit_lags` (per segment) and
        ``weighting="inverse_time"``: with ``drift`` from the framework atoms and
        ``n_segments=1`` this reproduces pymatgen's ``DiffusionAnalyzer(smoothed="max")``.
    min_obs : int, optional
        pymatgen's ``min_obs`` for ``preset="pymatgen_max"``.
    check_hops : bool, optional
        Count hops and apply the :func:`enough_hops` criterion (fills ``hop_count``,
        ``enough_hops``, ``hops_reason``).
    hop_threshold_A, hop_length_A, min_hops, min_msd_hop_ratio : optional
        Parameters of the hop criterion (see :func:`enough_hops`); the MSD criterion reads the
        averaged MSD at the last fitted lag.
    workers : int, optional
        Threads for ``scipy.fft``.

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
    """
    run_list = _as_run_list(positions, runs)
    dims_t = _check_dims(dims)
    dim = len(dims_t)
    if timestep_fs is None or not timestep_fs > 0:
        raise IonflowInputError(
            f"timestep_fs (time between frames, fs) must be > 0, got {timestep_fs}"
        )
    n_mobile = run_list[0].shape[1]
    if any(r.shape[1] != n_mobile for r in run_list):
        counts = [r.shape[1] for r in run_list]
        raise IonflowInputError(f"all runs must have the same number of mobile ions, got {counts}")
    if weighting not in ("none", "inverse_time"):
        raise IonflowInputError(f"weighting must be 'none' or 'inverse_time', got {weighting!r}")
    if preset not in ("ionflow", "pymatgen_max"):
        raise IonflowInputError(f"preset must be 'ionflow' or 'pymatgen_max', got {preset!r}")
    lo, hi = (float(f) for f in fit_window)
    if not 0.0 <= lo < hi <= 1.0:
        raise IonflowInputError(f"fit_window must satisfy 0 <= lo < hi <= 1, got {fit_window}")

    # drift correction
    drift_list: list[np.ndarray | None] = [None] * len(run_list)
    if drift is not None:
        drift_seq = [drift] if isinstance(drift, np.ndarray) else list(drift)
        if len(drift_seq) != len(run_list):
            raise IonflowInputError(f"got {len(drift_seq)} drift arrays for {len(run_list)} runs")
        for i, (dr, run) in enumerate(zip(drift_seq, run_list)):
            dr = np.asarray(dr, dtype=np.float64)
            if dr.shape != (run.shape[0], 3):
                raise IonflowInputError(
                    f"drift of run {i} must have shape ({run.shape[0]}, 3), got {dr.shape}"
                )
            drift_list[i] = dr

    # segmentation
    lengths = [r.shape[0] for r in run_list]
    if segment_length_ps is not None:
        seg_len = round(segment_length_ps * 1000.0 / timestep_fs)
        if seg_len > min(lengths):
            raise IonflowInputError(
                f"segment_length_ps={segment_length_ps} ({seg_len} frames) is longer than the "
                f"shortest run ({min(lengths)} frames)"
            )
        per_run = [n // seg_len for n in lengths]
    else:
        if n_segments < 1:
            raise IonflowInputError(f"n_segments must be >= 1, got {n_segments}")
        seg_len = min(lengths) // n_segments
        per_run = [n_segments] * len(run_list)
    if seg_len < 3:
        raise IonflowInputError(f"segments of {seg_len} frames are too short (need >= 3)")
    unused = sum(n - k * seg_len for n, k in zip(lengths, per_run))
    if unused:
        logger.info("%d trailing frames not used by the segmentation", unused)

    # fitted lags
    if preset == "pymatgen_max":
        if fit_lags is not None:
            raise IonflowInputError("preset='pymatgen_max' sets fit_lags itself")
        lags = pymatgen_max_fit_lags(seg_len, n_mobile, timestep_fs, min_obs=min_obs)
        weighting = "inverse_time"
    elif fit_lags is not None:
        lags = np.asarray(fit_lags, dtype=np.int64)
        if lags.ndim != 1 or lags.size == 0 or lags.min() < 0 or lags.max() >= seg_len:
            raise IonflowInputError(
                f"fit_lags must be lag indices within 0..{seg_len - 1}, got {fit_lags!r}"
            )
    else:
        first = math.ceil(lo * (seg_len - 1) - 1e-9)
        last = math.floor(hi * (seg_len - 1) + 1e-9)
        lags = np.arange(first, last + 1, max(1, int(lag_stride)))
    if lags.size < 2:
        raise IonflowInputError(
            f"only {lags.size} lag(s) in the fit window: segments of {seg_len} frames are too "
            "short for this window"
        )
    t_fit = lags * timestep_fs * 1e-3  # ps
    if weighting == "inverse_time":
        if np.any(t_fit <= 0):
            raise IonflowInputError("inverse_time weighting needs lags > 0 in the fit window")
        weights = 1.0 / t_fit
    else:
        weights = np.ones_like(t_fit)

    # MSD of every segment
    msd_segs: list[np.ndarray] = []
    mscd_segs: list[np.ndarray] = []
    for run, dr, k in zip(run_list, drift_list, per_run):
        for s in range(k):
            seg = run[s * seg_len : (s + 1) * seg_len]
            if dr is not None:
                seg = seg - dr[s * seg_len : (s + 1) * seg_len, None, :]
            msd_segs.append(msd_fft(seg, dims=dims_t, workers=workers))
            if collective:
                mscd_segs.append(collective_msd_fft(seg, dims=dims_t, workers=workers))
    msd_all = np.asarray(msd_segs)  # (n_seg, seg_len)
    n_seg = msd_all.shape[0]
    msd_mean = msd_all.mean(axis=0)
    time_ps = np.arange(seg_len) * timestep_fs * 1e-3

    factor = A2_PER_PS_TO_CM2_PER_S / (2 * dim)

    def _fit(curves: np.ndarray) -> tuple[float, float, np.ndarray, float, str]:
        y = np.column_stack([curves.mean(axis=0)[lags], curves[:, lags].T])
        slope, intercept, se = _fit_lines(t_fit, y, weights)
        d_mean = float(slope[0] * factor)
        d_segs = slope[1:] * factor
        if curves.shape[0] >= 2:
            err = float(np.std(d_segs, ddof=1) / math.sqrt(curves.shape[0]))
            method = "segments"
        else:
            err = float(se[0] * factor)
            method = "fit"
        return d_mean, err, d_segs, float(intercept[0]), method

    d_cm2, d_err, d_segs, intercept, method = _fit(msd_all)
    if method == "fit":
        logger.info(
            "single segment: D error from the least-squares slope (underestimates the "
            "statistical error; use several runs or n_segments > 1)"
        )
    if not d_cm2 > 0:
        logger.warning("non-positive diffusivity %.3g cm²/s (no diffusion seen?)", d_cm2)

    result = DiffusionResult(
        temperature=None if temperature is None else float(temperature),
        D_cm2_s=d_cm2,
        D_err_cm2_s=d_err,
        n_segments=n_seg,
        D_segments_cm2_s=np.asarray(d_segs, dtype=np.float64),
        dim=dim,
        dims=dims_t,
        fit_window=(float(lags[0] / (seg_len - 1)), float(lags[-1] / (seg_len - 1))),
        timestep_fs=float(timestep_fs),
        msd_A2=msd_mean,
        time_ps=time_ps,
        error_method=method,
        weighting=weighting,
        fit_lags=lags,
        fit_intercept_A2=intercept,
        n_mobile=n_mobile,
        n_runs=len(run_list),
        segment_frames=seg_len,
        msd_err_A2=(msd_all.std(axis=0, ddof=1) / math.sqrt(n_seg)) if n_seg > 1 else None,
        drift_corrected=drift is not None,
        extra={"preset": preset},
    )

    if collective:
        mscd_all = np.asarray(mscd_segs)
        ds, ds_err, ds_segs, _, _ = _fit(mscd_all)
        result.D_sigma_cm2_s = ds
        result.D_sigma_err_cm2_s = ds_err
        result.D_sigma_segments_cm2_s = np.asarray(ds_segs, dtype=np.float64)
        result.mscd_A2 = mscd_all.mean(axis=0)
        if ds > 0 and d_cm2 > 0:
            hr = d_cm2 / ds
            result.haven_ratio = hr
            result.haven_ratio_err = hr * math.hypot(d_err / d_cm2, ds_err / ds)
        else:
            logger.warning("charge diffusivity %.3g cm²/s is not positive: no Haven ratio", ds)

    if check_hops:
        n_hops = 0
        for run, dr in zip(run_list, drift_list):
            used = run if dr is None else run - dr[:, None, :]
            n_hops += int(count_hops(used, hop_threshold_A).sum())
        verdict = _hop_verdict(
            n_hops,
            n_mobile * len(run_list),
            float(msd_mean[lags[-1]]),
            hop_length_A=hop_length_A,
            min_hops=min_hops,
            min_msd_hop_ratio=min_msd_hop_ratio,
        )
        result.hop_count = n_hops
        result.enough_hops = verdict.ok
        result.hops_reason = verdict.reason
        if not verdict.ok:
            logger.warning("T=%s K: %s", temperature, verdict.reason)
    return result
