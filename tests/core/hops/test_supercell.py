"""Supercells by image distance (issue 15): fewest atoms, width reached, endpoints still right."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Lattice, Structure

from ionflow.core.errors import IonflowInputError
from ionflow.core.hops import (
    build_supercell,
    build_vacancy_endpoints,
    choose_supercell,
    enumerate_hops,
    interpolate_path,
    min_image_distance,
    perpendicular_widths,
    supercell_matrix,
)
from ionflow.core.hops.supercell import primitive_lattice


def _same_crystal(supercell: Structure, structure: Structure) -> bool:
    matcher = StructureMatcher(primitive_cell=True, scale=False, attempt_supercell=True)
    return matcher.fit(supercell, structure)


def test_length_rule_is_the_old_diagonal_rule(lifepo4):
    choice = choose_supercell(lifepo4, 10.0, "length")
    np.testing.assert_array_equal(choice.matrix, supercell_matrix(lifepo4, 10.0))
    assert choice.n_atoms == len(lifepo4) * int(np.prod(np.diag(choice.matrix)))


@pytest.mark.parametrize("size", [8.0, 10.0])
def test_width_rule_reaches_the_width_with_no_more_atoms_than_any_diagonal(lifepo4, size):
    choice = choose_supercell(lifepo4, size, "width")
    widths = perpendicular_widths(choice.lattice)
    assert widths.min() >= size - 1e-6
    assert choice.min_width == pytest.approx(widths.min())
    # every diagonal repeat of the cell that reaches the width has at least as many atoms
    cell = lifepo4.lattice.matrix
    for reps in itertools.product(range(1, 5), repeat=3):
        if perpendicular_widths(np.diag(reps) @ cell).min() >= size:
            assert choice.n_atoms <= len(lifepo4) * int(np.prod(reps))
    supercell = build_supercell(lifepo4, choice)
    assert len(supercell) == choice.n_atoms
    assert supercell.composition == lifepo4.composition * (choice.n_atoms / len(lifepo4))


def test_no_smaller_sublattice_reaches_the_width():
    """Simple cubic, a = 3 Å, L = 7 Å: brute force over all sublattices of smaller index."""
    structure = Structure(Lattice.cubic(3.0), ["Li"], [[0, 0, 0]])
    choice = choose_supercell(structure, 7.0, "width")
    assert choice.min_width >= 7.0 - 1e-6
    index = round(choice.n_cells)
    assert index < 27  # the 3x3x3 cube is not the best
    from ionflow.core.hops.supercell import _hnf_matrices

    for n in range(1, index):
        for hnf in _hnf_matrices(n):
            lattice = Lattice(hnf @ structure.lattice.matrix)
            for reduced in (
                lattice.get_niggli_reduced_lattice(),
                lattice.get_lll_reduced_lattice(),
            ):
                assert perpendicular_widths(reduced).min() < 7.0 - 1e-6


def test_distance_rule_allows_fcc_like_cells(li2o_primitive):
    width = choose_supercell(li2o_primitive, 10.0, "width")
    distance = choose_supercell(li2o_primitive, 10.0, "distance")
    assert distance.min_image_distance >= 10.0 - 1e-6
    assert distance.min_image_distance == pytest.approx(min_image_distance(distance.lattice))
    assert distance.n_atoms <= width.n_atoms
    assert width.min_image_distance >= width.min_width - 1e-9  # width <= image distance


def test_centred_cell_uses_its_primitive_cell(li2mno3):
    """C2/m conventional cell: the supercell may use the C-centring (half-integer matrix)."""
    prim = primitive_lattice(li2mno3)
    assert abs(np.linalg.det(prim)) == pytest.approx(li2mno3.volume / 2)
    old = choose_supercell(li2mno3, 10.0, "length")
    start = time.perf_counter()
    new = choose_supercell(li2mno3, 10.0, "width")
    assert time.perf_counter() - start < 5.0
    assert new.min_width >= 10.0 - 1e-6 > old.min_width  # the old rule falls short in width
    assert new.n_atoms < old.n_atoms
    assert not new.is_integer
    supercell = build_supercell(li2mno3, new)
    assert len(supercell) == new.n_atoms
    assert _same_crystal(supercell, li2mno3)
    distances = supercell.distance_matrix + np.eye(len(supercell)) * 10
    assert distances.min() > 1.5  # no site doubled
    # deterministic
    np.testing.assert_array_equal(choose_supercell(li2mno3, 10.0, "width").matrix, new.matrix)


def _check_vacancy_endpoints(structure, hop, ends):
    n_cells = ends.choice.n_cells
    expected = structure.composition * n_cells - {hop.initial.species: 1}
    assert ends.initial.composition.almost_equals(expected)
    assert len(ends.initial) == len(ends.final) == ends.choice.n_atoms - 1
    assert ends.initial[0].specie.symbol == hop.initial.species
    moved = ends.final.cart_coords[0] - ends.initial.cart_coords[0]
    assert np.linalg.norm(moved) == pytest.approx(hop.length, abs=1e-6)
    np.testing.assert_array_equal(ends.initial.frac_coords[1:], ends.final.frac_coords[1:])
    for a, b in (
        (ends.initial, ends.final.cart_coords[0]),
        (ends.final, ends.initial.cart_coords[0]),
    ):
        d = a.lattice.get_all_distances(a.lattice.get_fractional_coords(b), a.frac_coords[1:])
        assert d.min() > 1.0  # the vacancy is where the ion goes / came from


def test_endpoints_in_a_non_diagonal_supercell(li2mno3):
    choice = choose_supercell(li2mno3, 10.0, "width")
    for hop in enumerate_hops(li2mno3):
        ends = build_vacancy_endpoints(li2mno3, hop, choice=choice)
        assert ends.choice is choice
        _check_vacancy_endpoints(li2mno3, hop, ends)
    # IDPP on the oblique cell: no two atoms closer than in the endpoints' crystal
    hop = enumerate_hops(li2mno3)[1]
    ini, fin = build_vacancy_endpoints(li2mno3, hop, choice=choice).to_ase()
    images = interpolate_path(ini, fin, n_images=5)
    for image in images[1:-1]:
        d = image.get_all_distances(mic=True)[0, 1:]
        assert d.min() > 1.2


def test_endpoints_take_the_rule(lifepo4):
    (hop,) = enumerate_hops(lifepo4, symprec=0.1)
    old = build_vacancy_endpoints(lifepo4, hop)  # the core default stays the length rule
    new = build_vacancy_endpoints(lifepo4, hop, rule="width")
    assert new.choice.rule == "width"
    assert old.choice.rule == "length"
    assert len(new.initial) < len(old.initial)
    _check_vacancy_endpoints(lifepo4, hop, new)


@pytest.mark.parametrize(("rule", "size"), [("cube", 10.0), ("width", 0.0), ("width", np.nan)])
def test_bad_rule_or_size_is_refused(lifepo4, rule, size):
    with pytest.raises(IonflowInputError, match=r"rule|min_length"):
        choose_supercell(lifepo4, size, rule)


def test_as_dict_is_json_friendly(li2mno3):
    import json

    info = choose_supercell(li2mno3, 10.0, "width").as_dict()
    assert json.loads(json.dumps(info)) == info
    assert set(info) >= {"matrix", "n_atoms", "min_width_A", "min_image_distance_A", "rule"}


def test_the_diagonal_repeat_is_kept_when_nothing_is_smaller():
    wide = Structure(Lattice.cubic(11.0), ["Li"], [[0, 0, 0]])
    np.testing.assert_array_equal(choose_supercell(wide, 10.0, "width").matrix, np.eye(3))
    cube = Structure(Lattice.cubic(5.0), ["Li"], [[0, 0, 0]])
    np.testing.assert_array_equal(choose_supercell(cube, 10.0, "width").matrix, 2 * np.eye(3))
