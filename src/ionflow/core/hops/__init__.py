"""Mobile-ion sites, hop enumeration, NEB endpoints, initial paths and percolation."""

from __future__ import annotations

from ionflow.core.hops.endpoints import (
    HopEndpoints,
    build_vacancy_endpoints,
    perpendicular_widths,
    supercell_matrix,
    supercell_warnings,
)
from ionflow.core.hops.enumerate import Hop, enumerate_hops
from ionflow.core.hops.interpolate import interpolate_path, max_neighbour_gap
from ionflow.core.hops.percolation import (
    Edge,
    hop_edges,
    percolation_barriers,
    percolation_dimension_at,
    periodic_dimensionality,
)
from ionflow.core.hops.sites import MobileSite, find_mobile_sites
from ionflow.core.hops.supercell import (
    SUPERCELL_RULES,
    SupercellChoice,
    build_supercell,
    choose_supercell,
    min_image_distance,
)
from ionflow.core.hops.validate import normalize_species, validate_structure

__all__ = [
    "SUPERCELL_RULES",
    "Edge",
    "Hop",
    "HopEndpoints",
    "MobileSite",
    "SupercellChoice",
    "build_supercell",
    "build_vacancy_endpoints",
    "choose_supercell",
    "enumerate_hops",
    "find_mobile_sites",
    "hop_edges",
    "interpolate_path",
    "max_neighbour_gap",
    "min_image_distance",
    "normalize_species",
    "percolation_barriers",
    "percolation_dimension_at",
    "periodic_dimensionality",
    "perpendicular_widths",
    "supercell_matrix",
    "supercell_warnings",
    "validate_structure",
]
