"""Arrhenius fits of diffusivities, extrapolation with confidence intervals, Nernst–Einstein.

Model: ``ln D = a + b / T`` with ``a = ln D0`` and ``b = -Ea / k_B``, fitted by (weighted) linear
least squares. With diffusivity errors the weights are ``1 / s_i²`` with ``s_i = D_err_i / D_i``
(the standard error of ``ln D_i`` to first order). The covariance of ``(a, b)`` is propagated to
any extrapolated ``ln D(T)``: ``var = C_aa + 2 C_ab / T + C_bb / T²``.

Error model (``error_scaling``):

* ``"absolute"``: the ``D_err`` are taken as true standard errors, ``C = (Xᵀ W X)⁻¹``, normal
  quantiles for confidence intervals;
* ``"scaled"``: ``C`` multiplied by the reduced chi-square (the errors only give relative weights),
  Student-t quantiles with ``n - 2`` degrees of freedom;
* ``"auto"`` (default): ``C`` multiplied by ``max(1, chi²_red)``: the stated errors are trusted
  unless the points scatter more than they allow (then as ``"scaled"``, with t quantiles).

Without ``D_err`` the fit is unweighted and the covariance comes from the residuals (Student-t).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from scipy import stats

from ionflow.core.diffusion.conductivity import ion_charge, nernst_einstein_conductivity
from ionflow.core.diffusion.units import E_CHARGE_C, KB_EV_K
from ionflow.core.errors import IonflowInputError
from ionflow.core.jsonable import jsonable

if TYPE_CHECKING:
    from collections.abc import Sequence

# E_CHARGE_C, KB_EV_K, ion_charge and nernst_einstein_conductivity live in .units and
# .conductivity; they stay importable from here.
__all__ = [
    "E_CHARGE_C",
    "KB_EV_K",
    "ArrheniusResult",
    "conductivity_at",
    "fit_arrhenius",
    "ion_charge",
    "nernst_einstein_conductivity",
]

logger = logging.getLogger(__name__)

ErrorScaling = Literal["auto", "absolute", "scaled"]


@dataclass
class ArrheniusResult:
    """Arrhenius fit ``D = D0 exp(-Ea / (k_B T))``.

    Attributes
    ----------
    Ea_eV : float
        Activation energy, eV.
    Ea_err_eV : float
        Standard error of ``Ea`` (NaN when it cannot be estimated, e.g. 2 points, no errors).
    D0_cm2_s : float
        Prefactor, cm²/s.
    ln_D0_err : float
        Standard error of ``ln D0`` (the prefactor is log-normal: ``D0 * exp(±ln_D0_err)``).
    temperatures : np.ndarray
        All temperatures given, K.
    D_cm2_s : np.ndarray
        All diffusivities given, cm²/s.
    D_err_cm2_s : np.ndarray or None
        Their standard errors.
    mask : np.ndarray
        Boolean: which points were fitted.
    covariance : np.ndarray
        2x2 covariance of ``(ln D0, b)`` with ``ln D = ln D0 + b / T`` (``b`` in K).
    n_fit : int
        Number of fitted points.
    dof : int
        ``n_fit - 2``.
    chi2_red : float or None
        Reduced chi-square of a weighted fit (None without errors or ``dof == 0``).
    error_model : str
        ``"absolute"``, ``"scaled"`` or ``"residuals"`` (unweighted fit): what the covariance
        finally is.
    confidence : float
        Default confidence level of the intervals.
    """

    Ea_eV: float
    Ea_err_eV: float
    D0_cm2_s: float
    ln_D0_err: float
    temperatures: np.ndarray
    D_cm2_s: np.ndarray
    D_err_cm2_s: np.ndarray | None
    mask: np.ndarray
    covariance: np.ndarray
    n_fit: int
    dof: int
    chi2_red: float | None
    error_model: str
    confidence: float = 0.95

    @property
    def D0_log_err(self) -> float:
        """Alias of ``ln_D0_err``."""
        return self.ln_D0_err

    @property
    def slope_K(self) -> float:
        """Slope ``b = -Ea / k_B`` of ``ln D`` against ``1/T``, K."""
        return -self.Ea_eV / KB_EV_K

    def _quantile(self, confidence: float) -> float:
        if not 0 < confidence < 1:
            raise IonflowInputError(f"confidence must be in (0, 1), got {confidence}")
        p = 0.5 + confidence / 2
        if self.error_model == "absolute":
            return float(stats.norm.ppf(p))
        if self.dof < 1:
            return math.nan
        return float(stats.t.ppf(p, self.dof))

    def predict(self, temperature_K: float | np.ndarray) -> float | np.ndarray:
        """Fitted diffusivity at ``temperature_K``, cm²/s."""
        t = np.asarray(temperature_K, dtype=np.float64)
        out = self.D0_cm2_s * np.exp(self.slope_K / t)
        return float(out) if out.ndim == 0 else out

    def extrapolate(
        self, temperature_K: float | np.ndarray, confidence: float | None = None
    ) -> tuple[Any, Any, Any]:
        """Diffusivity at any temperature with a confidence interval.

        Parameters
        ----------
        temperature_K : float or np.ndarray
            Temperature(s), K.
        confidence : float, optional
            Confidence level (default ``self.confidence``, 95 %).

        Returns
        -------
        tuple
            ``(D, D_low, D_high)`` in cm²/s (floats or arrays like ``temperature_K``). The
            interval propagates the full covariance of ``(ln D0, b)``; quantiles are normal for
            absolute errors and Student-t (``n - 2`` dof) when the covariance comes from the
            scatter of the points. NaN bounds when the uncertainty is unknown.
        """
        t = np.asarray(temperature_K, dtype=np.float64)
        if np.any(t <= 0):
            raise IonflowInputError(f"temperature must be > 0 K, got {temperature_K}")
        x = 1.0 / t
        c = self.covariance
        y = math.log(self.D0_cm2_s) + self.slope_K * x
        var = c[0, 0] + 2 * c[0, 1] * x + c[1, 1] * x**2
        q = self._quantile(self.confidence if confidence is None else confidence)
        half = q * np.sqrt(np.maximum(var, 0.0))
        d, lo, hi = np.exp(y), np.exp(y - half), np.exp(y + half)
        if d.ndim == 0:
            return float(d), float(lo), float(hi)
        return d, lo, hi

    def sigma_mS_cm(
        self,
        temperature_K: float | np.ndarray,
        n_mobile: float,
        volume_A3: float,
        charge: float = 1.0,
        haven_ratio: float = 1.0,
        confidence: float | None = None,
    ) -> tuple[Any, Any, Any]:
        """Nernst–Einstein conductivity at ``temperature_K`` with its confidence interval.

        Parameters
        ----------
        temperature_K : float or np.ndarray
            Temperature(s), K.
        n_mobile : float
            Mobile ions in ``volume_A3``.
        volume_A3 : float
            Cell volume, Å³.
        charge : float, optional
            Ion charge, e.
        haven_ratio : float, optional
            Haven ratio.
        confidence : float, optional
            Confidence level.

        Returns
        -------
        tuple
            ``(sigma, sigma_low, sigma_high)`` in mS/cm.
        """
        d, lo, hi = self.extrapolate(temperature_K, confidence)
        return tuple(
            nernst_einstein_conductivity(v, temperature_K, n_mobile, volume_A3, charge, haven_ratio)
            for v in (d, lo, hi)
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (arrays to lists, non-finite floats to None)."""
        return jsonable({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})


def conductivity_at(
    arrhenius: ArrheniusResult,
    temperature_K: float | np.ndarray,
    n_mobile: float,
    volume_A3: float,
    charge: float = 1.0,
    haven_ratio: float = 1.0,
    confidence: float | None = None,
) -> tuple[Any, Any, Any]:
    """``(sigma, low, high)`` in mS/cm from an Arrhenius fit.

    See :meth:`ArrheniusResult.sigma_mS_cm` for the parameters.
    """
    return arrhenius.sigma_mS_cm(
        temperature_K, n_mobile, volume_A3, charge, haven_ratio, confidence
    )


# --------------------------------------------------------------------------------------------
# fit_arrhenius and its steps
# --------------------------------------------------------------------------------------------


def _input_arrays(
    temperatures: Sequence[float] | np.ndarray,
    D: Sequence[float] | np.ndarray,
    D_err: Sequence[float] | np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Temperatures, diffusivities and errors as flat float arrays of one length."""
    t = np.asarray(temperatures, dtype=np.float64).ravel()
    d = np.asarray(D, dtype=np.float64).ravel()
    if t.shape != d.shape:
        raise IonflowInputError(f"{t.size} temperatures but {d.size} diffusivities")
    if np.any(~np.isfinite(t)) or np.any(t <= 0):
        raise IonflowInputError(f"temperatures must be finite and > 0 K, got {t.tolist()}")
    err = None if D_err is None else np.asarray(D_err, dtype=np.float64).ravel()
    if err is not None and err.shape != d.shape:
        raise IonflowInputError(f"{err.size} errors for {d.size} diffusivities")
    return t, d, err


def _fit_selection(
    t: np.ndarray,
    mask: Sequence[bool] | np.ndarray | None,
    t_min: float | None,
    t_max: float | None,
) -> np.ndarray:
    """Boolean mask of the fitted temperatures (at least two)."""
    sel = np.ones(t.shape, dtype=bool)
    if mask is not None:
        m = np.asarray(mask, dtype=bool).ravel()
        if m.shape != t.shape:
            raise IonflowInputError(f"mask has {m.size} entries for {t.size} temperatures")
        sel &= m
    if t_max is not None:
        sel &= t <= t_max
    if t_min is not None:
        sel &= t >= t_min
    n = int(sel.sum())
    if n < 2:
        raise IonflowInputError(
            f"need at least 2 temperatures in the fitted subset, got {n} "
            f"(temperatures {t.tolist()}, t_min={t_min}, t_max={t_max})"
        )
    return sel


def _check_fitted_points(t: np.ndarray, d: np.ndarray, err: np.ndarray | None) -> None:
    """Every fitted ``D`` > 0, two distinct temperatures, every fitted error finite and > 0."""
    for ti, di in zip(t, d):
        if not (np.isfinite(di) and di > 0):
            raise IonflowInputError(
                f"D at T = {ti:g} K is {di:g} cm²/s: ln D needs D > 0 "
                "(no diffusion seen: drop this temperature or run longer)"
            )
    if np.unique(t).size < 2:
        raise IonflowInputError("need at least 2 distinct temperatures in the fitted subset")
    if err is not None:
        for ti, ei in zip(t, err):
            if not (np.isfinite(ei) and ei > 0):
                raise IonflowInputError(f"D_err at T = {ti:g} K is {ei:g}: must be finite and > 0")


def _weighted_line(
    x: np.ndarray, y: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """``y = a + b x`` by weighted least squares: ``(a, b)``, ``(Xᵀ W X)⁻¹`` and chi²."""
    a_mat = np.column_stack([np.ones_like(x), x])
    normal = a_mat.T @ (w[:, None] * a_mat)
    cov_unit = np.linalg.inv(normal)
    coef = cov_unit @ (a_mat.T @ (w * y))
    resid = y - a_mat @ coef
    return coef, cov_unit, float(w @ resid**2)


def _covariance(
    cov_unit: np.ndarray, chi2: float, dof: int, *, weighted: bool, error_scaling: ErrorScaling
) -> tuple[np.ndarray, float | None, str]:
    """Covariance of ``(ln D0, b)``, reduced chi² and the error model (module docstring)."""
    if not weighted:
        cov = cov_unit * (chi2 / dof) if dof > 0 else np.full((2, 2), np.nan)
        return cov, None, "residuals"
    chi2_red = chi2 / dof if dof > 0 else None
    if error_scaling == "absolute" or chi2_red is None:
        if error_scaling == "scaled":
            logger.info("2 points: cannot scale errors by chi²; using them as absolute")
        return cov_unit, chi2_red, "absolute"
    if error_scaling == "scaled" or chi2_red > 1.0:
        return cov_unit * chi2_red, chi2_red, "scaled"
    return cov_unit, chi2_red, "absolute"


def _finite_sqrt(x: float) -> float:
    return float(math.sqrt(x)) if np.isfinite(x) else math.nan


def fit_arrhenius(
    temperatures: Sequence[float] | np.ndarray,
    D: Sequence[float] | np.ndarray,
    D_err: Sequence[float] | np.ndarray | None = None,
    *,
    t_max: float | None = None,
    t_min: float | None = None,
    mask: Sequence[bool] | np.ndarray | None = None,
    error_scaling: ErrorScaling = "auto",
    confidence: float = 0.95,
) -> ArrheniusResult:
    """Fit ``ln D`` against ``1/T`` (weighted when errors are given).

    Parameters
    ----------
    temperatures : sequence of float
        Temperatures, K.
    D : sequence of float
        Diffusivities, cm²/s; every fitted one must be > 0.
    D_err : sequence of float, optional
        Standard errors of ``D`` (> 0 for fitted points): weights ``(D / D_err)²``.
    t_max, t_min : float, optional
        Fit only temperatures within these bounds (lian2025 fits the low temperatures only).
    mask : sequence of bool, optional
        Explicit subset to fit (combined with ``t_max``/``t_min`` by logical and).
    error_scaling : {"auto", "absolute", "scaled"}, optional
        How the covariance uses the stated errors (module docstring).
    confidence : float, optional
        Default confidence level of the result's intervals.

    Returns
    -------
    ArrheniusResult
        The fit; with 2 points and no errors ``Ea_err_eV`` is NaN (logged).

    Raises
    ------
    ValueError
        (:class:`IonflowInputError`) a fitted ``D <= 0`` or bad error (the message names the
        temperature), fewer than 2 fitted points, or mismatched lengths.
    """
    t, d, err = _input_arrays(temperatures, D, D_err)
    if error_scaling not in ("auto", "absolute", "scaled"):
        raise IonflowInputError(f"unknown error_scaling {error_scaling!r}")
    sel = _fit_selection(t, mask, t_min, t_max)
    _check_fitted_points(t[sel], d[sel], None if err is None else err[sel])
    n = int(sel.sum())

    x = 1.0 / t[sel]
    y = np.log(d[sel])
    w = np.ones_like(x) if err is None else 1.0 / (err[sel] / d[sel]) ** 2
    coef, cov_unit, chi2 = _weighted_line(x, y, w)
    cov, chi2_red, error_model = _covariance(
        cov_unit, chi2, n - 2, weighted=err is not None, error_scaling=error_scaling
    )
    if not np.all(np.isfinite(cov)):
        logger.warning(
            "Arrhenius fit of %d points without errors: no uncertainty can be estimated", n
        )
    return ArrheniusResult(
        Ea_eV=float(-coef[1] * KB_EV_K),
        Ea_err_eV=_finite_sqrt(cov[1, 1]) * KB_EV_K,
        D0_cm2_s=float(math.exp(coef[0])),
        ln_D0_err=_finite_sqrt(cov[0, 0]),
        temperatures=t,
        D_cm2_s=d,
        D_err_cm2_s=err,
        mask=sel,
        covariance=cov,
        n_fit=n,
        dof=n - 2,
        chi2_red=chi2_red,
        error_model=error_model,
        confidence=confidence,
    )
