"""Nernst–Einstein conductivity and the charge of a mobile ion.

Used by the per-temperature result (:class:`~ionflow.core.diffusion.result.DiffusionResult`),
the Arrhenius fit (:mod:`~ionflow.core.diffusion.arrhenius`) and the report; it depends on
neither of them.
"""

from __future__ import annotations

import re

import numpy as np

from ionflow.core.diffusion.units import E_CHARGE_C, KB_EV_K
from ionflow.core.errors import IonflowInputError

__all__ = ["ion_charge", "nernst_einstein_conductivity"]


def nernst_einstein_conductivity(
    D_cm2_s: float | np.ndarray,
    temperature_K: float | np.ndarray,
    n_mobile: float,
    volume_A3: float,
    charge: float = 1.0,
    haven_ratio: float = 1.0,
) -> float | np.ndarray:
    """Ionic conductivity ``sigma = n q² D / (k_B T H_R)`` in mS/cm.

    Parameters
    ----------
    D_cm2_s : float or np.ndarray
        Tracer diffusivity, cm²/s (or the charge diffusivity with ``haven_ratio=1``).
    temperature_K : float or np.ndarray
        Temperature, K.
    n_mobile : float
        Number of mobile ions in ``volume_A3``.
    volume_A3 : float
        Cell volume, Å³.
    charge : float, optional
        Ion charge in units of e (``q = charge * e``).
    haven_ratio : float, optional
        Haven ratio ``H_R = D_tracer / D_sigma`` (1: uncorrelated ions).

    Returns
    -------
    float or np.ndarray
        Conductivity, mS/cm.
    """
    if not volume_A3 > 0:
        raise IonflowInputError(f"volume_A3 must be > 0, got {volume_A3}")
    if not n_mobile > 0:
        raise IonflowInputError(f"n_mobile must be > 0, got {n_mobile}")
    if not haven_ratio > 0:
        raise IonflowInputError(f"haven_ratio must be > 0, got {haven_ratio}")
    t = np.asarray(temperature_K, dtype=np.float64)
    if np.any(t <= 0):
        raise IonflowInputError(f"temperature must be > 0 K, got {temperature_K}")
    n_per_m3 = n_mobile / (volume_A3 * 1e-30)
    d_m2_s = np.asarray(D_cm2_s, dtype=np.float64) * 1e-4
    kt_j = KB_EV_K * E_CHARGE_C * t
    sigma_s_m = n_per_m3 * (charge * E_CHARGE_C) ** 2 * d_m2_s / (kt_j * haven_ratio)
    out = sigma_s_m * 10.0  # 1 S/m = 0.01 S/cm = 10 mS/cm
    return float(out) if np.ndim(out) == 0 else out


def ion_charge(species: str) -> float:
    """Charge (units of e) of a mobile ion from its symbol.

    ``"Li+"``, ``"Mg2+"``, ``"F-"`` give their oxidation state; a bare element uses its single
    most common oxidation state in pymatgen (Li, Na, K -> 1; Mg, Zn -> 2; F -> -1).

    Parameters
    ----------
    species : str
        Element or species symbol.

    Returns
    -------
    float
        Charge in units of e.
    """
    from pymatgen.core.periodic_table import Element

    m = re.fullmatch(r"([A-Z][a-z]?)(\d*)([+-]?)", str(species).strip())
    if m is None:
        raise IonflowInputError(f"unknown species {species!r}")
    symbol, digits, sign = m.groups()
    try:
        el = Element(symbol)
    except ValueError as exc:
        raise IonflowInputError(f"unknown species {species!r}") from exc
    if sign:
        return float(int(digits or 1) * (1 if sign == "+" else -1))
    if digits:
        raise IonflowInputError(f"cannot read a charge from {species!r} (write e.g. 'Mg2+')")
    common = el.common_oxidation_states
    if not common:
        raise IonflowInputError(
            f"no common oxidation state for {species!r}: give the charge explicitly"
        )
    return float(common[0])
