"""Document of one MLIP-NEB job (:class:`~ionflow.jobs.neb.MLIPNebMaker`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ionflow.core.neb.result import INTERMEDIATE_MINIMUM_EV

__all__ = ["NebDoc", "NebImages"]


class NebImages(BaseModel):
    """Band geometry, kept in the ``data`` store."""

    positions: list = Field(description="(n_images, n_atoms, 3) Å, float32")
    numbers: list[int]
    cell: list[list[float]]


class NebDoc(BaseModel):
    """Output of :class:`~ionflow.jobs.neb.MLIPNebMaker` for one hop."""

    hop_id: str | None = None
    formula: str | None = None
    model: str
    barrier_forward_eV: float | None
    barrier_reverse_eV: float | None
    converged: bool
    failure_reason: str | None = None
    ts_index: int | None = None
    n_images: int
    energies_eV: list[float] = Field(default_factory=list)
    relative_energies_eV: list[float] = Field(default_factory=list)
    n_steps: int = 0
    force_calls: int = 0
    endpoint_force_calls: int = 0
    band_force_calls: int = 0
    max_force_eV_A: float | None = None
    wall_time_s: float = 0.0
    endpoints_converged: bool | None = None
    optimizer_switches: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Optimiser changes of a stalled band (step, from, to, residual, "
        "band_force_calls); empty when the band never stalled",
    )
    intermediate_minimum_eV: float | None = Field(
        None,
        description="Depth of the lowest interior image below the lower endpoint (eV); "
        f"above {INTERMEDIATE_MINIMUM_EV} eV the hop is not elementary",
    )
    settings: dict[str, Any] = Field(default_factory=dict)
    hop: dict[str, Any] | None = Field(None, description="Hop metadata (labels, length)")
    images: NebImages | None = None
