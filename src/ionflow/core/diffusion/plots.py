"""Plots of MSD curves and Arrhenius fits (matplotlib, Agg canvas: no display, no pyplot state)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ionflow.core.diffusion.arrhenius import ArrheniusResult
from ionflow.core.diffusion.result import DiffusionResult
from ionflow.core.diffusion.units import A2_PER_PS_TO_CM2_PER_S

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["plot_arrhenius", "plot_msd"]

logger = logging.getLogger(__name__)


def _new_figure(size: tuple[float, float]) -> Figure:
    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: str | Path, dpi: int) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    logger.info("wrote %s", out)
    return out


def plot_msd(
    results: DiffusionResult | Sequence[DiffusionResult],
    path: str | Path,
    *,
    show_fit: bool = True,
    show_err: bool = True,
    collective: bool = False,
    dpi: int = 150,
) -> Path:
    """MSD against lag time, one colour per result, the fit window shaded.

    Parameters
    ----------
    results : DiffusionResult or sequence of DiffusionResult
        Results to draw (e.g. one per temperature).
    path : str or Path
        Output image (format from the suffix, e.g. ``.png``).
    show_fit : bool, optional
        Draw the fitted line over the fit window.
    show_err : bool, optional
        Shade the standard error of the averaged MSD (when there are several segments).
    collective : bool, optional
        Also draw the collective MSD (dashed) where available.
    dpi : int, optional
        Resolution.

    Returns
    -------
    Path
        The written file.
    """
    items = [results] if isinstance(results, DiffusionResult) else list(results)
    if not items:
        raise ValueError("no results to plot")
    order = sorted(
        range(len(items)),
        key=lambda i: -np.inf if items[i].temperature is None else items[i].temperature,
    )
    fig = _new_figure((6.4, 4.8))
    ax = fig.add_subplot()
    cmap = matplotlib.colormaps["plasma"]
    windows = {
        (round(float(r.time_ps[r.fit_lags[0]]), 9), round(float(r.time_ps[r.fit_lags[-1]]), 9))
        for r in items
    }
    same_window = len(windows) == 1
    if same_window:
        ((t_lo, t_hi),) = windows
        ax.axvspan(t_lo, t_hi, color="0.5", alpha=0.12, lw=0)
    for rank, i in enumerate(order):
        r = items[i]
        colour = cmap(0.1 + 0.75 * rank / max(1, len(items) - 1))
        label = f"{r.temperature:g} K" if r.temperature is not None else f"run {i}"
        label += f": D = {r.D_cm2_s:.2e} ± {r.D_err_cm2_s:.1e} cm²/s"
        ax.plot(r.time_ps, r.msd_A2, color=colour, lw=1.2, label=label)
        if show_err and r.msd_err_A2 is not None:
            ax.fill_between(
                r.time_ps,
                r.msd_A2 - r.msd_err_A2,
                r.msd_A2 + r.msd_err_A2,
                color=colour,
                alpha=0.2,
                lw=0,
            )
        if collective and r.mscd_A2 is not None:
            ax.plot(r.time_ps, r.mscd_A2, color=colour, lw=0.8, ls="--")
        t_lo, t_hi = r.time_ps[r.fit_lags[0]], r.time_ps[r.fit_lags[-1]]
        if not same_window:
            ax.axvspan(t_lo, t_hi, color=colour, alpha=0.07, lw=0)
        if show_fit:
            slope = r.D_cm2_s / A2_PER_PS_TO_CM2_PER_S * 2 * r.dim
            tt = np.array([t_lo, t_hi])
            ax.plot(tt, r.fit_intercept_A2 + slope * tt, color="k", lw=0.9, ls=":")
    ax.set_xlabel("Δt (ps)")
    ax.set_ylabel(f"MSD (Å²){'' if items[0].dim == 3 else f', {items[0].dim}D projection'}")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="small", title="shaded: fit window; dotted: fit")
    return _save(fig, path, dpi)


def plot_arrhenius(
    arrhenius_result: ArrheniusResult,
    path: str | Path,
    T_extrapolate: float | None = 300.0,
    *,
    confidence: float | None = None,
    dpi: int = 150,
) -> Path:
    """Arrhenius plot: log D against 1000/T with error bars, fit, extrapolation and its band.

    Parameters
    ----------
    arrhenius_result : ArrheniusResult
        The fit (points outside the fitted subset are drawn hollow).
    path : str or Path
        Output image.
    T_extrapolate : float or None, optional
        Temperature to extrapolate to (default 300 K); None: no extrapolation.
    confidence : float, optional
        Confidence level of the band (default: the result's).
    dpi : int, optional
        Resolution.

    Returns
    -------
    Path
        The written file.
    """
    ar = arrhenius_result
    fig = _new_figure((6.4, 4.8))
    ax = fig.add_subplot()
    _draw_points(ax, ar)
    _draw_fit(ax, ar, T_extrapolate, confidence)
    if T_extrapolate is not None:
        _draw_extrapolated(ax, ar, T_extrapolate, confidence)
    ax.set_yscale("log")
    ax.set_xlabel("1000/T (1/K)")
    ax.set_ylabel("D (cm²/s)")
    ax.text(
        0.97,
        0.97,
        f"$E_a$ = {ar.Ea_eV:.3f} ± {ar.Ea_err_eV:.3f} eV\n$D_0$ = {ar.D0_cm2_s:.2e} cm²/s",
        transform=ax.transAxes,
        ha="right",
        va="top",
    )
    _temperature_axis(ax)
    ax.legend(fontsize="small", loc="lower left")
    return _save(fig, path, dpi)


def _draw_points(ax: Any, ar: ArrheniusResult) -> None:
    """D against 1000/T with error bars; points outside the fit hollow."""
    x = 1000.0 / ar.temperatures
    yerr = None
    if ar.D_err_cm2_s is not None:
        lower = np.minimum(ar.D_err_cm2_s, ar.D_cm2_s * 0.999)  # keep bars on a log axis
        yerr = np.vstack([lower, ar.D_err_cm2_s])
    for sel, face, lab in ((ar.mask, "C0", "fitted"), (~ar.mask, "none", "not fitted")):
        if not np.any(sel):
            continue
        ax.errorbar(
            x[sel],
            ar.D_cm2_s[sel],
            yerr=None if yerr is None else yerr[:, sel],
            fmt="o",
            color="C0",
            mfc=face,
            capsize=3,
            label=lab,
        )


def _draw_fit(
    ax: Any, ar: ArrheniusResult, T_extrapolate: float | None, confidence: float | None
) -> None:
    """The fitted line over the fitted temperatures (and on to ``T_extrapolate``), its band."""
    t_all = list(ar.temperatures[ar.mask])
    if T_extrapolate is not None:
        t_all.append(float(T_extrapolate))
    x_grid = np.linspace(1000.0 / max(t_all), 1000.0 / min(t_all), 200)
    d_fit, lo, hi = ar.extrapolate(1000.0 / x_grid, confidence)
    conf = ar.confidence if confidence is None else confidence
    ax.plot(x_grid, d_fit, "C1-", lw=1.2, label="Arrhenius fit")
    if np.all(np.isfinite(lo)):
        ax.fill_between(x_grid, lo, hi, color="C1", alpha=0.2, lw=0, label=f"{conf:.0%} CI")


def _draw_extrapolated(
    ax: Any, ar: ArrheniusResult, T_extrapolate: float, confidence: float | None
) -> None:
    """The extrapolated D at ``T_extrapolate`` with its interval."""
    d_x, lo_x, hi_x = ar.extrapolate(T_extrapolate, confidence)
    bars = None
    if np.isfinite(lo_x):
        bars = [[d_x - lo_x], [hi_x - d_x]]
    ax.errorbar(
        [1000.0 / T_extrapolate],
        [d_x],
        yerr=bars,
        fmt="s",
        color="C3",
        capsize=3,
        label=f"{T_extrapolate:g} K: {d_x:.2e} cm²/s",
    )


def _temperature_axis(ax: Any) -> None:
    """A secondary top axis in K."""
    secax = ax.secondary_xaxis("top", functions=(_inv1000, _inv1000))
    x_lo, x_hi = ax.get_xlim()
    t_ticks = [t for t in _T_TICKS if x_lo <= 1000.0 / t <= x_hi]
    if len(t_ticks) >= 2:
        secax.set_xticks(t_ticks)
        secax.set_xticklabels([f"{t:g}" for t in t_ticks])
    secax.set_xlabel("T (K)")


_T_TICKS = (200, 250, 300, 400, 500, 600, 800, 1000, 1500, 2000, 3000)


def _inv1000(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(v != 0, 1000.0 / np.where(v != 0, v, 1.0), np.inf)
