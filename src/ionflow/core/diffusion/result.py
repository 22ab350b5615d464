"""The diffusivity of one temperature: :class:`DiffusionResult`.

A plain dataclass with the fitted ``D``, its uncertainty, the averaged MSD curves and the hop
verdict; :meth:`DiffusionResult.as_dict` / :meth:`DiffusionResult.from_dict` convert it to and
from the JSON stored in task documents.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ionflow.core.diffusion.conductivity import nernst_einstein_conductivity
from ionflow.core.errors import IonflowInputError
from ionflow.core.jsonable import jsonable

__all__ = ["DiffusionResult"]

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
        Total detected hop events (:func:`~ionflow.core.diffusion.hops.count_hops`).
    enough_hops : bool or None
        Verdict of the hop criterion (:func:`~ionflow.core.diffusion.hops.enough_hops`).
    hops_reason : str or None
        Explanation of the verdict.
    extra : dict
        Analysis options worth keeping with the numbers (``"preset"``; ``"skip_frames"`` when
        equilibration frames were skipped).
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
        return jsonable(out)

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
