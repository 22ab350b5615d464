"""Documents of disordered inputs: solid-solution series and conductivity over orderings.

:class:`SolidSolutionDoc` is the output of :class:`~ionflow.jobs.solid_solution.SolidSolutionMaker`
(configurations of every composition with formation energy, E_hull and whether the Boltzmann
selection kept them); :class:`OrderingsConductivityDoc` the output of
:class:`~ionflow.flows.conductivity.ConductivityFlow` on a partially occupied structure (one
Arrhenius result per selected ordering and their weight average).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pymatgen.core import Structure

__all__ = [
    "OrderingConductivity",
    "OrderingsConductivityDoc",
    "SeriesConfigurationDoc",
    "SolidSolutionDoc",
]


class SeriesConfigurationDoc(BaseModel):
    """One ordered configuration of one composition of the series."""

    label: str
    x: float = Field(description="fraction of the site element replaced")
    formula: str = Field(description="composition per formula unit of the parent")
    cell_formula: str
    energy_eV: float = Field(description="MLIP energy of the cell")
    n_atoms: int
    e_form_per_fu_eV: float = Field(description="formation energy vs the end members")
    e_form_per_atom_eV: float
    e_hull_per_fu_eV: float
    e_hull_per_atom_eV: float
    on_hull: bool
    selected: bool = Field(description="kept by the Boltzmann selection by E_hull")
    space_group: str | None = None
    structure: Structure | None = Field(None, description="ordered structure (data store)")

    model_config = {"arbitrary_types_allowed": True}


class SolidSolutionDoc(BaseModel):
    """Output of :class:`~ionflow.jobs.solid_solution.SolidSolutionMaker`."""

    parent_formula: str
    site: str
    substituent: str
    fractions: list[float]
    member_formulas: list[str]
    model: str
    temperature_K: float
    seed: int
    n_select: int | None = None
    configurations: list[SeriesConfigurationDoc]
    n_configurations: int
    n_selected: int
    lowest_per_member: dict[str, str] = Field(
        default_factory=dict, description="formula -> label of its lowest configuration"
    )
    stable_formulas: list[str] = Field(default_factory=list, description="members on the hull")
    wall_time_s: float | None = None
    warnings: list[str] = Field(default_factory=list)


class OrderingConductivity(BaseModel):
    """The conductivity of one ordering of a disordered structure."""

    index: int = Field(description="rank of the ordering by MLIP energy (0: lowest)")
    weight: float = Field(description="Boltzmann weight among the selected orderings")
    energy_per_atom_eV: float | None = None
    space_group: str | None = None
    formula: str | None = None
    Ea_eV: float | None = None
    Ea_err_eV: float | None = None
    sigma_mS_cm: float | None = None
    D_cm2_s: list[float | None] = Field(default_factory=list)
    temperatures_K: list[float] = Field(default_factory=list)
    arrhenius: dict[str, Any] | None = Field(None, description="the ordering's ArrheniusDoc")
    failure: str | None = None


class OrderingsConductivityDoc(BaseModel):
    """Conductivity of a disordered structure: per selected ordering and weight-averaged."""

    formula: str = Field(description="formula of the disordered input")
    mobile_species: str
    n_orderings: int
    selection_seed: int
    orderings: list[OrderingConductivity]
    temperatures_K: list[float]
    D_cm2_s: list[float | None] = Field(description="weight average per temperature")
    D_spread_cm2_s: list[float | None] = Field(description="weighted std over orderings")
    Ea_eV: float | None = Field(None, description="weight average over orderings with a fit")
    Ea_spread_eV: float | None = None
    sigma_mS_cm: float | None = Field(None, description="weight average at T_extrapolate")
    sigma_spread_mS_cm: float | None = None
    sigma_range_mS_cm: list[float] | None = Field(None, description="min and max over orderings")
    T_extrapolate_K: float | None = None
    warnings: list[str] = Field(default_factory=list)
