"""Fitting ``D`` to MSD curves: the fit window, the least-squares lines, the error estimate.

The steps :func:`~ionflow.core.diffusion.diffusion_coefficient` runs after the MSD curves:

1. :func:`choose_fit_window`: which lags are fitted (20–80 % of the segment, explicit lags or
   pymatgen's "max" window) and with which weights;
2. :func:`fit_diffusivity`: one line ``MSD = a + b Δt`` through the averaged curve and one
   through every segment's curve (:func:`fit_lines`), ``D = b / (2 d)``;
3. :func:`segment_error`: the standard error of ``D`` from the spread over segments, or the
   least-squares slope error when there is a single segment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ionflow.core.diffusion.units import A2_PER_PS_TO_CM2_PER_S
from ionflow.core.errors import IonflowInputError

if TYPE_CHECKING:
    from ionflow.core.diffusion.settings import DiffusionSettings

__all__ = [
    "FitWindow",
    "SlopeFit",
    "choose_fit_window",
    "fit_diffusivity",
    "fit_lines",
    "pymatgen_max_fit_lags",
    "segment_error",
]


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


@dataclass
class FitWindow:
    """The fitted lags of a segment and their least-squares weights.

    Attributes
    ----------
    lags : np.ndarray
        Lag indices (frames), at least two.
    time_ps : np.ndarray
        The same lags in ps.
    weights : np.ndarray
        Least-squares weight of every lag.
    weighting : str
        ``"none"`` or ``"inverse_time"``.
    segment_frames : int
        Frames per segment (lags run ``0 .. segment_frames - 1``).
    """

    lags: np.ndarray
    time_ps: np.ndarray
    weights: np.ndarray
    weighting: str
    segment_frames: int

    @property
    def fractions(self) -> tuple[float, float]:
        """First and last fitted lag as fractions of the segment's lag range."""
        n = self.segment_frames - 1
        return float(self.lags[0] / n), float(self.lags[-1] / n)


def _window_lags(
    segment_frames: int, n_mobile: int, timestep_fs: float, settings: DiffusionSettings
) -> np.ndarray:
    """Lag indices of the fit: the preset's, the explicit ones, or the fractional window."""
    if settings.preset == "pymatgen_max":
        return pymatgen_max_fit_lags(
            segment_frames, n_mobile, timestep_fs, min_obs=settings.min_obs
        )
    if settings.fit_lags is not None:
        lags = np.asarray(settings.fit_lags, dtype=np.int64)
        if lags.max() >= segment_frames:
            raise IonflowInputError(
                f"fit_lags must be lag indices within 0..{segment_frames - 1}, "
                f"got {settings.fit_lags!r}"
            )
        return lags
    lo, hi = settings.fit_window
    first = math.ceil(lo * (segment_frames - 1) - 1e-9)
    last = math.floor(hi * (segment_frames - 1) + 1e-9)
    return np.arange(first, last + 1, settings.lag_stride)


def choose_fit_window(
    segment_frames: int, n_mobile: int, timestep_fs: float, settings: DiffusionSettings
) -> FitWindow:
    """The lags fitted in every segment and their weights.

    Parameters
    ----------
    segment_frames : int
        Frames per segment.
    n_mobile : int
        Mobile ions (for pymatgen's window).
    timestep_fs : float
        Time between frames, fs.
    settings : DiffusionSettings
        ``preset``, ``fit_lags``, ``fit_window``, ``lag_stride``, ``weighting``, ``min_obs``.

    Returns
    -------
    FitWindow
        At least two lags.

    Raises
    ------
    IonflowInputError
        Fewer than two lags, lags outside the segment, ``1/Δt`` weights at lag 0.
    """
    lags = _window_lags(segment_frames, n_mobile, timestep_fs, settings)
    if lags.size < 2:
        raise IonflowInputError(
            f"only {lags.size} lag(s) in the fit window: segments of {segment_frames} frames "
            "are too short for this window"
        )
    t_fit = lags * timestep_fs * 1e-3  # ps
    weighting = settings.effective_weighting
    if weighting == "inverse_time":
        if np.any(t_fit <= 0):
            raise IonflowInputError("inverse_time weighting needs lags > 0 in the fit window")
        weights = 1.0 / t_fit
    else:
        weights = np.ones_like(t_fit)
    return FitWindow(lags, t_fit, weights, weighting, segment_frames)


def fit_lines(
    t: np.ndarray, y: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted least-squares lines ``y = a + b t`` for every column of ``y``.

    Parameters
    ----------
    t : np.ndarray
        Abscissae ``(n,)``.
    y : np.ndarray
        Ordinates ``(n,)`` or ``(n, k)`` (one line per column).
    weights : np.ndarray
        Weights ``(n,)``.

    Returns
    -------
    tuple of np.ndarray
        Slope, intercept and the standard error of the slope (from the weighted residuals,
        ``n - 2`` degrees of freedom; NaN with two points); scalars for a 1D ``y``.
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


@dataclass
class SlopeFit:
    """``D`` fitted to the averaged MSD curve, per segment, and its standard error.

    Attributes
    ----------
    D_cm2_s : float
        From the line through the segment-averaged curve, cm²/s.
    D_err_cm2_s : float
        Standard error (see ``error_method``), cm²/s.
    D_segments_cm2_s : np.ndarray
        From the line through every segment's curve, cm²/s.
    intercept_A2 : float
        Intercept of the line through the averaged curve, Å².
    error_method : str
        ``"segments"`` or ``"fit"`` (see :func:`segment_error`).
    """

    D_cm2_s: float
    D_err_cm2_s: float
    D_segments_cm2_s: np.ndarray
    intercept_A2: float
    error_method: str


def segment_error(D_segments_cm2_s: np.ndarray, fit_err_cm2_s: float) -> tuple[float, str]:
    """Standard error of ``D`` and how it was obtained.

    Parameters
    ----------
    D_segments_cm2_s : np.ndarray
        ``D`` of every segment.
    fit_err_cm2_s : float
        Least-squares slope error of the averaged curve, as ``D``.

    Returns
    -------
    tuple of (float, str)
        ``(std(D_segments, ddof=1) / sqrt(n), "segments")`` with two or more segments, else
        ``(fit_err_cm2_s, "fit")`` (an underestimate: neighbouring MSD points are correlated).
    """
    n = len(D_segments_cm2_s)
    if n >= 2:
        return float(np.std(D_segments_cm2_s, ddof=1) / math.sqrt(n)), "segments"
    return float(fit_err_cm2_s), "fit"


def fit_diffusivity(curves: np.ndarray, window: FitWindow, dim: int) -> SlopeFit:
    """``D = slope / (2 d)`` of the averaged curve and of every segment, with its error.

    Parameters
    ----------
    curves : np.ndarray
        MSD of every segment, Å², ``(n_segments, segment_frames)``.
    window : FitWindow
        Fitted lags and weights.
    dim : int
        ``d``.

    Returns
    -------
    SlopeFit
        The fit; the line through the mean curve is the mean of the segment lines when the
        fit is unweighted.
    """
    factor = A2_PER_PS_TO_CM2_PER_S / (2 * dim)
    lags = window.lags
    y = np.column_stack([curves.mean(axis=0)[lags], curves[:, lags].T])
    slope, intercept, se = fit_lines(window.time_ps, y, window.weights)
    d_segs = slope[1:] * factor
    err, method = segment_error(d_segs, se[0] * factor)
    return SlopeFit(
        D_cm2_s=float(slope[0] * factor),
        D_err_cm2_s=err,
        D_segments_cm2_s=d_segs,
        intercept_A2=float(intercept[0]),
        error_method=method,
    )
