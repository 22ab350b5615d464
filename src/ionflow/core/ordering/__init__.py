"""Disordered inputs -> ordered models (bohm-champagne 2.1, deng2025).

:func:`order_structure` runs the whole chain: occupancy and charge checks
(:mod:`.validate`), the smallest integral supercell (:mod:`.supercell`), symmetry-distinct
orderings from a real enumerator (:mod:`.enumerate`, :mod:`.orbits`), Ewald pre-ranking, MLIP
relaxation of the best few and Boltzmann weights (:mod:`.energy`).

Examples
--------
>>> from pymatgen.core import Lattice, Structure
>>> s = Structure(Lattice.cubic(4.2), [{"Li+": 0.5}, "Cl-"], [[0, 0, 0], [0.5, 0.5, 0.5]])
>>> result = order_structure(s, model=None, top_k=5)  # doctest: +SKIP
>>> result.lowest.structure.composition.reduced_formula  # doctest: +SKIP
'LiCl2'
"""

from __future__ import annotations

from ionflow.core.ordering.energy import (
    K_B_EV,
    boltzmann_weights,
    ewald_energy,
    relax_ordering,
    select_boltzmann,
    space_group,
)
from ionflow.core.ordering.enumerate import (
    ENUMERATORS,
    Enumeration,
    available_enumerator,
    count_orderings,
    enumerate_orderings,
)
from ionflow.core.ordering.orbits import brute_force_orderings, site_permutations
from ionflow.core.ordering.order import (
    OrderedCandidate,
    OrderingPlan,
    OrderingResult,
    order_structure,
    plan_ordering,
)
from ionflow.core.ordering.supercell import SupercellChoice, find_integral_supercell
from ionflow.core.ordering.validate import (
    SiteGroup,
    check_cif_occupancies,
    check_occupancies,
    count_bounds,
    label_orbits,
    oxidation_decorated,
    site_groups,
)

__all__ = [
    "ENUMERATORS",
    "K_B_EV",
    "Enumeration",
    "OrderedCandidate",
    "OrderingPlan",
    "OrderingResult",
    "SiteGroup",
    "SupercellChoice",
    "available_enumerator",
    "boltzmann_weights",
    "brute_force_orderings",
    "check_cif_occupancies",
    "check_occupancies",
    "count_bounds",
    "count_orderings",
    "enumerate_orderings",
    "ewald_energy",
    "find_integral_supercell",
    "label_orbits",
    "order_structure",
    "oxidation_decorated",
    "plan_ordering",
    "relax_ordering",
    "select_boltzmann",
    "site_groups",
    "site_permutations",
    "space_group",
]
