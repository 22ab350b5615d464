"""From D(T) to the numbers a screen reports: Ea, D and σ at 300 K with intervals."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ionflow.core.diffusion.arrhenius import fit_arrhenius

if TYPE_CHECKING:
    from collections.abc import Sequence

logger = logging.getLogger(__name__)


def _opt(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


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
    D = np.array([np.nan if d is None else d for d in D_cm2_s], dtype=float)
    err = None
    if D_err_cm2_s is not None:
        err = np.array([np.nan if e is None else e for e in D_err_cm2_s], dtype=float)
    warnings = []
    usable = np.isfinite(D) & (D > 0)
    for t, ok in zip(T, usable):
        if not ok:
            warnings.append(f"{t:.0f} K left out of the fit: no positive diffusivity")
    in_range = np.ones_like(usable)
    if t_max is not None:
        in_range &= t_max >= T
    if t_min is not None:
        in_range &= t_min <= T
    mask = usable & in_range
    out: dict[str, Any] = {
        "temperatures_K": T.tolist(),
        "D_cm2_s": [_opt(d) for d in D],
        "D_err_cm2_s": (
            [None] * len(T)
            if err is None
            else [None if not np.isfinite(e) else float(e) for e in err]
        ),
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
    d, dlo, dhi = fit.extrapolate(T_extrapolate)
    s, slo, shi = fit.sigma_mS_cm(
        T_extrapolate, n_mobile, volume_A3, charge=charge, haven_ratio=haven_ratio
    )

    def _f(x: Any) -> float | None:
        x = float(x)
        return x if math.isfinite(x) else None

    out.update(
        {
            "Ea_eV": _f(fit.Ea_eV),
            "Ea_err_eV": _f(fit.Ea_err_eV),
            "D0_cm2_s": _f(fit.D0_cm2_s),
            "D_extrapolated_cm2_s": _f(d),
            "D_extrapolated_interval_cm2_s": [_f(dlo), _f(dhi)],
            "sigma_mS_cm": _f(s),
            "sigma_interval_mS_cm": [_f(slo), _f(shi)],
        }
    )
    if mask.sum() == 2:
        warnings.append("two temperatures only: Ea has no degrees of freedom left for its error")
    return out, fit
