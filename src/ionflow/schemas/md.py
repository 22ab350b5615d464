"""Documents of MLIP molecular dynamics (:class:`~ionflow.jobs.md.MLIPMDMaker`).

The diffusion and Arrhenius documents live in :mod:`ionflow.schemas.diffusion`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ionflow.schemas.arrays import PackedArray


class MDTrajectory(BaseModel):
    """Compact production trajectory (``data`` store)."""

    positions_mobile: PackedArray = Field(description="(n_frames, n_mobile, 3) Å unwrapped, f32")
    times_ps: PackedArray
    temperatures_K: PackedArray
    potential_energies_eV: PackedArray
    mobile_indices: list[int]
    cell: list[list[float]]
    thermo: dict[str, PackedArray] = Field(default_factory=dict)
    full_frames: PackedArray | None = None
    full_frame_times_ps: PackedArray | None = None
    numbers: list[int] | None = Field(
        default=None,
        description="atomic numbers in atom order (full_frames and datasets need the species); "
        "None in documents written before they were stored",
    )


class MDDoc(BaseModel):
    """Output of :class:`~ionflow.jobs.md.MLIPMDMaker`: one run at one temperature."""

    formula: str
    model: str
    temperature_K: float
    seed: int
    completed: bool
    failure_reason: str | None = None
    n_atoms: int
    n_mobile: int
    mobile_species: str | None
    volume_A3: float
    n_frames: int
    frame_interval_fs: float
    production_ps_sampled: float
    mean_temperature_K: float | None = None
    steps_per_s: float | None = None
    wall_time_s: float | None = None
    summary: dict[str, Any] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)
    trajectory: MDTrajectory | None = None


from ionflow.schemas.diffusion import ArrheniusDoc, DiffusionDoc  # noqa: E402  (earlier home)

__all__ = ["ArrheniusDoc", "DiffusionDoc", "MDDoc", "MDTrajectory"]
