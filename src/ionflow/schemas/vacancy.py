"""Document of one relaxed single-vacancy supercell (VacancyRelaxMaker)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pymatgen.core import Structure

__all__ = ["VacancyDoc"]


class VacancyDoc(BaseModel):
    """A symmetry-distinct vacancy supercell relaxed at fixed cell, shared by many endpoints."""

    vacancy_id: str | None = Field(None, description="e.g. V1 (the screen's numbering)")
    label: str | None = Field(None, description="Site left vacant, e.g. Li2 (2c)")
    site_index: int | None = Field(None, description="Vacant site in the perfect supercell")
    formula: str | None = None
    model: str
    energy_eV: float | None = None
    forces_eV_A: list[list[float]] | None = Field(None, description="(n_atoms, 3), relaxed")
    structure: Structure | None = Field(None, description="Relaxed, atom order as given")
    converged: bool = False
    n_steps: int = 0
    force_calls: int = 0
    max_force_eV_A: float | None = None
    max_mobile_shift_A: float | None = Field(
        None, description="Largest displacement of a mobile ion during the relaxation (Å)"
    )
    wall_time_s: float = 0.0
    failure_reason: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
