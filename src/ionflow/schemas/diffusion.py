"""Documents of the diffusion analysis and the Arrhenius fit (:mod:`ionflow.jobs.diffusion`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = ["ArrheniusDoc", "DiffusionDoc"]


class DiffusionDoc(BaseModel):
    """Output of :class:`~ionflow.jobs.diffusion.DiffusionAnalysisMaker` at one temperature."""

    temperature_K: float
    D_cm2_s: float | None
    D_err_cm2_s: float | None
    n_runs: int
    n_segments: int
    error_method: str | None = None
    dim: int = 3
    fit_window: list[float] = Field(default_factory=lambda: [0.2, 0.8])
    enough_hops: bool | None = None
    hops_reason: str | None = None
    hop_count: int | None = None
    D_sigma_cm2_s: float | None = None
    haven_ratio: float | None = None
    n_mobile: int | None = None
    volume_A3: float | None = None
    failed_runs: list[str] = Field(default_factory=list, description="reason per failed run")
    result: dict[str, Any] = Field(default_factory=dict, description="DiffusionResult, no curves")
    curves: dict[str, Any] | None = Field(None, description="MSD curves (data store)")


class ArrheniusDoc(BaseModel):
    """Output of :class:`~ionflow.jobs.diffusion.ArrheniusMaker`."""

    formula: str | None = None
    mobile_species: str | None = None
    temperatures_K: list[float]
    D_cm2_s: list[float | None]
    D_err_cm2_s: list[float | None]
    fitted: list[bool]
    Ea_eV: float | None
    Ea_err_eV: float | None
    D0_cm2_s: float | None
    T_extrapolate_K: float = 300.0
    D_extrapolated_cm2_s: float | None = None
    D_extrapolated_interval_cm2_s: list[float] | None = None
    sigma_mS_cm: float | None = None
    sigma_interval_mS_cm: list[float] | None = None
    confidence: float = 0.95
    n_mobile: int | None = None
    volume_A3: float | None = None
    charge: float = 1.0
    haven_ratio: float = 1.0
    enough_hops: list[bool | None] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    plot_paths: dict[str, str] = Field(default_factory=dict)
    plots_png_b64: dict[str, str] | None = Field(None, description="PNG files (data store)")
