"""From D(T) to the numbers a screen reports: Ea, D and σ at 300 K with intervals.

:func:`conductivity_report` is the one summary the jobflow job and the ``ionflow diffusion``
command both build (Arrhenius fit, extrapolation, Nernst–Einstein σ, warnings about left-out
temperatures and runs with too few hops); :func:`summarize_arrhenius` is its fit-only core.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ionflow.core.diffusion.arrhenius import fit_arrhenius
from ionflow.core.diffusion.conductivity import ion_charge
from ionflow.core.errors import IonflowInputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ionflow.core.diffusion.arrhenius import ArrheniusResult

__all__ = ["conductivity_report", "summarize_arrhenius"]

logger = logging.getLogger(__name__)


def _opt(x: Any) -> float | None:
    """``float(x)``, or None when it is not finite (JSON has no NaN)."""
    x = float(x)
    return x if math.isfinite(x) else None


def _as_float_array(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _fit_mask(
    T: np.ndarray, D: np.ndarray, t_min: float | None, t_max: float | None, warnings: list[str]
) -> np.ndarray:
    """Temperatures with a positive D inside ``[t_min, t_max]``; a warning per unusable D."""
    usable = np.isfinite(D) & (D > 0)
    for t, ok in zip(T, usable):
        if not ok:
            warnings.append(f"{t:.0f} K left out of the fit: no positive diffusivity")
    in_range = np.ones_like(usable)
    if t_max is not None:
        in_range &= t_max >= T
    if t_min is not None:
        in_range &= t_min <= T
    return usable & in_range


def _extrapolation(
    fit: ArrheniusResult,
    T_extrapolate: float,
    n_mobile: int,
    volume_A3: float,
    charge: float,
    haven_ratio: float,
) -> dict[str, Any]:
    """Summary entries of a fit: Ea, D0, D and σ at ``T_extrapolate`` with intervals."""
    d, dlo, dhi = fit.extrapolate(T_extrapolate)
    s, slo, shi = fit.sigma_mS_cm(
        T_extrapolate, n_mobile, volume_A3, charge=charge, haven_ratio=haven_ratio
    )
    return {
        "Ea_eV": _opt(fit.Ea_eV),
        "Ea_err_eV": _opt(fit.Ea_err_eV),
        "D0_cm2_s": _opt(fit.D0_cm2_s),
        "D_extrapolated_cm2_s": _opt(d),
        "D_extrapolated_interval_cm2_s": [_opt(dlo), _opt(dhi)],
        "sigma_mS_cm": _opt(s),
        "sigma_interval_mS_cm": [_opt(slo), _opt(shi)],
    }


def summarize_arrhenius(
    temperatures: Sequence[float],
    D_cm2_s: Sequence[float | None],
    D_err_cm2_s: Sequence[float | None] | None,
    *,
    n_mobile: int,
    volume_A3: float,
    charge: float = 1.0,
    haven_ratio: float = 1.0,
    T_extrapolate: float = 300.0,
    t_max: float | None = None,
    t_min: float | None = None,
    confidence: float = 0.95,
) -> tuple[dict[str, Any], Any]:
    """Arrhenius fit over the temperatures with a usable D, extrapolated to ``T_extrapolate``.

    Temperatures whose D is missing, zero or negative (no diffusion seen, failed runs) are left
    out of the fit with a warning each. ``t_max``/``t_min`` restrict the fit to a temperature
    range (lian2025 fit the low-temperature points only).

    Returns
    -------
    (dict, ArrheniusResult or None)
        The summary (keys of :class:`ionflow.schemas.md.ArrheniusDoc`) and the fit object
        (None when fewer than two temperatures are usable).
    """
    T = np.asarray(temperatures, dtype=float)
    D = _as_float_array(D_cm2_s)
    err = None if D_err_cm2_s is None else _as_float_array(D_err_cm2_s)
    warnings: list[str] = []
    mask = _fit_mask(T, D, t_min, t_max, warnings)
    out: dict[str, Any] = {
        "temperatures_K": T.tolist(),
        "D_cm2_s": [_opt(d) for d in D],
        "D_err_cm2_s": [None] * len(T) if err is None else [_opt(e) for e in err],
        "fitted": mask.tolist(),
        "Ea_eV": None,
        "Ea_err_eV": None,
        "D0_cm2_s": None,
        "T_extrapolate_K": float(T_extrapolate),
        "confidence": confidence,
        "n_mobile": int(n_mobile),
        "volume_A3": float(volume_A3),
        "charge": float(charge),
        "haven_ratio": float(haven_ratio),
        "warnings": warnings,
    }
    if mask.sum() < 2:
        warnings.append(f"only {int(mask.sum())} usable temperature(s): no Arrhenius fit")
        return out, None
    use_err = err is not None and bool(np.all(np.isfinite(err[mask]) & (err[mask] > 0)))
    fit = fit_arrhenius(T[mask], D[mask], err[mask] if use_err else None, confidence=confidence)
    out.update(_extrapolation(fit, T_extrapolate, n_mobile, volume_A3, charge, haven_ratio))
    if mask.sum() == 2:
        warnings.append("two temperatures only: Ea has no degrees of freedom left for its error")
    return out, fit


def _hop_warnings(
    temperatures: Sequence[float],
    enough_hops: Sequence[bool | None] | None,
    hops_reasons: Sequence[str | None] | None,
) -> list[str]:
    """``"<T> K: too few hops to trust D (<reason>)"`` for every ``enough_hops is False``."""
    if enough_hops is None:
        return []
    n = len(temperatures)
    reasons = [None] * n if hops_reasons is None else list(hops_reasons)
    if len(enough_hops) != n or len(reasons) != n:
        raise IonflowInputError(
            f"enough_hops ({len(enough_hops)}) and hops_reasons ({len(reasons)}) need one "
            f"entry per temperature ({n})"
        )
    return [
        f"{t:.0f} K: too few hops to trust D ({reason})"
        for t, ok, reason in zip(temperatures, enough_hops, reasons)
        if ok is False
    ]


def conductivity_report(
    temperatures: Sequence[float],
    D_cm2_s: Sequence[float | None],
    D_err_cm2_s: Sequence[float | None] | None,
    *,
    n_mobile: int | None,
    volume_A3: float | None,
    species: str,
    charge: float | None = None,
    haven_ratio: float = 1.0,
    T_extrapolate: float = 300.0,
    t_min: float | None = None,
    t_max: float | None = None,
    enough_hops: Sequence[bool | None] | None = None,
    hops_reasons: Sequence[str | None] | None = None,
    confidence: float = 0.95,
) -> tuple[dict[str, Any], ArrheniusResult | None]:
    """Arrhenius summary of D(T) with σ at ``T_extrapolate`` and every warning, once.

    The one summary behind the conductivity job and ``ionflow diffusion``:
    :func:`summarize_arrhenius` with the charge from ``species`` and the hop verdicts as warnings.

    Parameters
    ----------
    temperatures : sequence of float
        Temperatures, K (one per analysed temperature, any order).
    D_cm2_s, D_err_cm2_s : sequence of float or None
        Diffusivity per temperature and its standard error, cm²/s (None: no result, left out
        with a warning; the fit is weighted when every fitted error is > 0).
    n_mobile : int or None
        Mobile ions in ``volume_A3``. None when unknown (no temperature gave a result): allowed
        only when there is nothing to fit; the summary then holds None.
    volume_A3 : float or None
        Cell volume, Å³; None when unknown, as ``n_mobile``.
    species : str
        Mobile species (``"Li"``, ``"Mg2+"``, ...), for the charge.
    charge : float, optional
        Ion charge, e (default: :func:`~ionflow.core.diffusion.ion_charge` of ``species``).
    haven_ratio : float, optional
        Haven ratio in ``σ = n q² D / (H_R k_B T)``.
    T_extrapolate : float, optional
        Temperature of the reported D and σ, K.
    t_min, t_max : float, optional
        Fit only temperatures in this range.
    enough_hops : sequence of bool or None, optional
        Hop verdict per temperature (``DiffusionResult.enough_hops``); ``False`` adds
        ``"<T> K: too few hops to trust D (<reason>)"`` to the warnings.
    hops_reasons : sequence of str or None, optional
        The verdicts' explanations (``DiffusionResult.hops_reason``).
    confidence : float, optional
        Confidence level of the intervals.

    Returns
    -------
    (dict, ArrheniusResult or None)
        The summary (the keys of :func:`summarize_arrhenius`, i.e. of
        :class:`ionflow.schemas.md.ArrheniusDoc`; ``warnings`` without duplicates) and the fit
        (None with fewer than two usable temperatures).
    """
    q = ion_charge(species) if charge is None else float(charge)
    hop_warnings = _hop_warnings(temperatures, enough_hops, hops_reasons)
    summary, fit = summarize_arrhenius(
        temperatures,
        D_cm2_s,
        D_err_cm2_s,
        n_mobile=n_mobile or 0,
        volume_A3=math.nan if volume_A3 is None else volume_A3,
        charge=q,
        haven_ratio=haven_ratio,
        T_extrapolate=T_extrapolate,
        t_max=t_max,
        t_min=t_min,
        confidence=confidence,
    )
    if not n_mobile:
        summary["n_mobile"] = None
    if volume_A3 is None:
        summary["volume_A3"] = None
    summary["warnings"] = list(dict.fromkeys([*summary["warnings"], *hop_warnings]))
    return summary, fit
