"""Distinct orderings: shry vs an independent brute-force orbit count; lowest Ewald ordering."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.analysis.ewald import EwaldSummation
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Lattice, Structure
from pymatgen.transformations.standard_transformations import (
    OrderDisorderedStructureTransformation,
)

from ionflow.core.ordering import (
    enumerate_orderings,
    find_integral_supercell,
    order_structure,
    oxidation_decorated,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _limgof(shape) -> Structure:
    s = Structure(
        Lattice.cubic(4.0),
        [{"Li": 0.5, "Mg": 0.5}, {"O": 0.5, "F": 0.5}],
        [[0, 0, 0], [0.5, 0.5, 0.5]],
    )
    s.make_supercell(shape)
    return oxidation_decorated(s)


def _half_li(shape) -> Structure:
    """Simple-cubic Li+ sublattice, half occupied (vacancies), Cl- at the cube centres."""
    s = Structure(Lattice.cubic(3.0), [{"Li+": 0.5}, "Cl-"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    s.make_supercell(shape)
    return s


@pytest.mark.parametrize(
    "structure",
    [_limgof([2, 2, 1]), _half_li([2, 2, 2]), _half_li([2, 2, 1]), _limgof([1, 1, 2])],
    ids=["LiMgOF-221", "Li0.5-222", "Li0.5-221", "LiMgOF-112"],
)
def test_shry_count_equals_brute_force_orbit_count(structure):
    choice = find_integral_supercell(structure)
    shry = enumerate_orderings(structure, choice, enumerator="shry")
    brute = enumerate_orderings(structure, choice, enumerator="bruteforce")
    assert shry.n_distinct == brute.n_distinct == len(shry.structures) == len(brute.structures)
    assert shry.exact
    assert brute.exact
    # no two listed orderings are equivalent, and both lists are the same set
    matcher = StructureMatcher(primitive_cell=False, scale=False, attempt_supercell=False)
    groups = matcher.group_structures(shry.structures + brute.structures)
    assert len(groups) == shry.n_distinct
    assert all(len(g) == 2 for g in groups)


def test_known_count_of_a_half_filled_cube():
    """4 of the 8 sites of a 2x2x2 simple-cubic supercell: 6 classes.

    The 8 sites are the vertices {0,1}^3 of a cube, and a translation by one cell is the
    reflection x -> 1 - x of those vertices, so the group acting is the cube's O_h (48
    operations). Burnside over O_h gives 6 colourings with 4 of 8 vertices black (of the 22
    two-colourings of the cube's vertices: 1, 1, 3, 3, 6, 3, 3, 1, 1 by the number black).
    """
    structure = _half_li([2, 2, 2])
    result = enumerate_orderings(structure, find_integral_supercell(structure), enumerator="shry")
    assert result.n_configurations == 70
    assert result.n_distinct == 6


def _ewald_per_atom(s: Structure) -> float:
    return EwaldSummation(s).total_energy / len(s)


def test_lowest_ewald_ordering_is_pymatgens():
    structure = _limgof([2, 2, 1])
    result = order_structure(structure, model=None, top_k=100)
    ours = result.lowest
    ref = OrderDisorderedStructureTransformation(
        algo=OrderDisorderedStructureTransformation.ALGO_BEST_FIRST
    ).apply_transformation(structure, return_ranked_list=1)[0]["structure"]
    assert np.isclose(_ewald_per_atom(ours.structure), _ewald_per_atom(ref), atol=1e-6)
    assert StructureMatcher(primitive_cell=False, scale=False).fit(ours.structure, ref)
    # Ewald ranks are in order and the lowest has the largest weight
    energies = [c.ewald_energy_eV for c in result.orderings]
    assert energies == sorted(energies)
    assert result.energy_source == "ewald"
    assert result.model is None


def test_pymatgen_fallback_lists_the_lowest_distinct_orderings():
    structure = _limgof([2, 2, 1])
    choice = find_integral_supercell(structure)
    fallback = enumerate_orderings(structure, choice, enumerator="pymatgen", max_orderings=3)
    assert not fallback.exact
    assert fallback.n_distinct is None
    assert 1 <= len(fallback.structures) <= 3
    complete = enumerate_orderings(structure, choice, enumerator="bruteforce")
    lowest = min(_ewald_per_atom(s) for s in complete.structures)
    assert np.isclose(min(_ewald_per_atom(s) for s in fallback.structures), lowest, atol=1e-6)


def test_an_ordered_structure_is_its_one_ordering():
    s = Structure(Lattice.cubic(4.0), ["Li", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    result = order_structure(s, model=None)
    assert result.n_enumerated == 1
    assert len(result.orderings) == 1
    assert result.lowest.weight == 1.0


def test_an_ordered_alloy_needs_no_oxidation_states():
    s = Structure.from_spacegroup(
        "Pm-3m", Lattice.cubic(3.75), ["Au", "Cu"], [[0, 0, 0], [0.5, 0.5, 0]]
    )
    result = order_structure(s, model=None)
    assert len(result.orderings) == 1
    assert result.lowest.ewald_energy_eV is None
    assert result.lowest.structure.composition.reduced_formula == "Cu3Au"


@pytest.mark.parametrize("enumerator", ["shry", "bruteforce"])
def test_each_orbit_keeps_its_own_occupancy(enumerator):
    """Li half on the cube corner and half on one face centre: two orbits, one Li each per 2
    cells; no ordering may put both Li on one orbit (4 configurations, not 6)."""
    s = Structure(
        Lattice.tetragonal(4.0, 4.4),
        [{"Li": 0.5}, {"Li": 0.5}, "Cl"],
        [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0.5, 0.5]],
    )
    result = order_structure(s, model=None, top_k=10, supercell=[2, 1, 1], enumerator=enumerator)
    assert result.n_configurations == 4
    for cand in result.orderings:
        corner = [
            site
            for site in cand.structure
            if site.specie.symbol == "Li" and site.c < 1e-6 and site.b < 1e-6
        ]
        assert len(corner) == 1, cand.structure
        assert "ordering_orbit" not in cand.structure.site_properties
