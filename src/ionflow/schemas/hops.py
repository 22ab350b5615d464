"""Documents of the hop screen: the enumeration and the screen summary.

The per-hop NEB document lives in :mod:`ionflow.schemas.neb` (re-exported here).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pymatgen.core import Structure


class SiteDoc(BaseModel):
    """One symmetry-distinct mobile-ion site."""

    label: str = Field(description="Site label, e.g. Li1")
    species: str
    wyckoff: str = Field(description="Wyckoff symbol, e.g. 4h")
    multiplicity: int = Field(description="Number of equivalent sites in the input cell")
    wyckoff_multiplicity: int | None = None
    index: int = Field(description="Representative site index in the input structure")
    frac_coords: list[float]


class SupercellDoc(BaseModel):
    """The vacancy supercell of a screen (the same for every hop)."""

    matrix: list[list[int | float]] = Field(
        description="Rows: supercell vectors in units of the input cell's vectors (integers, "
        "or halves etc. where the supercell uses a centring translation of the input cell)"
    )
    n_atoms: int = Field(description="Atoms in the full supercell, before the vacancy")
    min_width_A: float = Field(description="Narrowest perpendicular width (Å)")
    min_image_distance_A: float = Field(
        description="Shortest distance between a point and its periodic images (Å)"
    )
    rule: str = Field(description="width, distance or length (diagonal, before issue 15)")
    min_length_A: float = Field(description="The requested size L (Å)")


class HopDoc(BaseModel):
    """One inequivalent hop i -> nearest j, with its vacancy endpoints."""

    hop_id: str
    initial_label: str
    initial_wyckoff: str
    final_label: str
    final_wyckoff: str
    length_A: float
    min_ion_distance_A: float
    close_approach: bool = Field(
        description="Straight path passes closer than the threshold (0.5 Å) to another ion"
    )
    start_index: int
    end_index: int
    end_image: list[int]
    initial_structure: Structure | None = Field(None, description="Vacancy supercell, IS")
    final_structure: Structure | None = Field(None, description="Vacancy supercell, FS")
    moving_index: int = 0
    supercell: list[list[int | float]] | None = Field(
        None, description="Supercell matrix relative to the input cell (see SupercellDoc)"
    )
    hop: dict[str, Any] = Field(default_factory=dict, description="ionflow.core Hop.as_dict()")


class HopEnumerationDoc(BaseModel):
    """Output of :class:`~ionflow.jobs.hops.HopEnumerationMaker`."""

    formula: str
    species: str
    structure: Structure
    sites: list[SiteDoc]
    hops: list[HopDoc]
    supercell_min_length_A: float
    supercell_rule: str = Field(
        "length", description="width, distance or length; documents before issue 15: length"
    )
    supercell: SupercellDoc | None = Field(None, description="The vacancy supercell")
    symprec: float | None = Field(None, description="Symmetry tolerance (Å) of the site search")
    n_sites_supercell: int | None = None
    supercell_min_width_A: float | None = Field(
        None, description="Narrowest distance between periodic images of a vacancy (Å)"
    )
    skipped_hops: list[str] = Field(
        default_factory=list, description="Hops left out by max_hop_length, with lengths"
    )
    warnings: list[str] = Field(default_factory=list)


class HopResultRow(BaseModel):
    """One row of the Table-1-style barrier table."""

    hop_id: str
    initial: str = Field(description="IS label with Wyckoff, e.g. Li1 (4h)")
    final: str
    length_A: float
    close_approach: bool
    barrier_forward_eV: float | None
    barrier_reverse_eV: float | None
    converged: bool
    failure_reason: str | None = None
    force_calls: int | None = None
    wall_time_s: float | None = None
    band_id: str | None = Field(None, description="Band (NEB) the barriers come from, e.g. B2")
    reversed: bool | None = Field(None, description="The hop runs its band backwards")


class HopScreenDoc(BaseModel):
    """Summary of a hop screen: the barrier table, lowest barrier, percolation barriers."""

    formula: str
    reduced_formula: str
    species: str
    model: str
    structure: Structure
    sites: list[SiteDoc]
    hops: list[HopResultRow]
    lowest_barrier_eV: float | None = None
    lowest_barrier_hop: str | None = None
    percolation_barriers_eV: dict[str, float | None] = Field(
        default_factory=dict, description="Keys 1D, 2D, 3D; None where hops never percolate"
    )
    n_hops: int
    n_converged: int
    n_failed: int
    n_nebs: int | None = Field(None, description="NEB bands run (one per distinct path)")
    n_endpoint_relaxations: int | None = Field(
        None, description="Endpoint (vacancy) relaxations run"
    )
    total_force_calls: int | None = Field(
        None, description="Force calls of every band and endpoint relaxation"
    )
    warnings: list[str] = Field(default_factory=list, description="From the enumeration")
    supercell: SupercellDoc | None = Field(
        None, description="The vacancy supercell of every hop (from the enumeration)"
    )


from ionflow.schemas.neb import NebDoc, NebImages  # noqa: E402  (documents of earlier versions)

__all__ = [
    "HopDoc",
    "HopEnumerationDoc",
    "HopResultRow",
    "HopScreenDoc",
    "NebDoc",
    "NebImages",
    "SiteDoc",
    "SupercellDoc",
]
