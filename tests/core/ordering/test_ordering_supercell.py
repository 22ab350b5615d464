"""The smallest supercell that makes every occupancy integral; HNF shapes."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from ionflow.core.errors import IonflowInputError
from ionflow.core.ordering import find_integral_supercell
from ionflow.core.ordering.supercell import hnf_matrices, min_width, widths


def _one_site(species: dict, a: float = 4.0) -> Structure:
    return Structure(Lattice.cubic(a), [species, "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


@pytest.mark.parametrize(
    ("species", "size"),
    [
        ({"Li": 1.0}, 1),
        ({"Li": 0.5, "Na": 0.5}, 2),
        ({"Li": 1 / 3, "Na": 2 / 3}, 3),
        ({"Li": 0.333, "Na": 0.667}, 3),  # as a CIF writes it
        ({"Li": 0.25, "Na": 0.75}, 4),
        ({"Li": 0.75}, 4),  # vacancies count too
    ],
)
def test_smallest_size(species, size):
    choice = find_integral_supercell(_one_site(species), max_atoms=200)
    assert choice.size == size
    assert round(abs(np.linalg.det(np.array(choice.matrix)))) == size
    n_atoms = round(sum(species.values()) * size) + size
    assert choice.n_atoms == n_atoms


def test_group_amounts_not_single_sites_decide():
    """Two equal half-occupied sites need no supercell: one atom over the pair."""
    s = Structure(
        Lattice.cubic(4.0),
        [{"Li": 0.5}, {"Li": 0.5}, "Cl"],
        [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0.5, 0.5]],
    )
    assert find_integral_supercell(s).size == 1


def test_no_integral_supercell_under_the_limit_names_the_amounts():
    with pytest.raises(IonflowInputError, match=r"no supercell of at most 5 atoms.*Li"):
        find_integral_supercell(_one_site({"Li": 1 / 3, "Na": 2 / 3}), max_atoms=5)


def test_given_supercell_must_make_the_occupancies_integral():
    s = _one_site({"Li": 0.5, "Na": 0.5})
    assert find_integral_supercell(s, supercell=[1, 1, 2]).matrix == (
        (1, 0, 0),
        (0, 1, 0),
        (0, 0, 2),
    )
    with pytest.raises(IonflowInputError, match="fractional atoms"):
        find_integral_supercell(s, supercell=[1, 1, 3])


@pytest.mark.parametrize(("n", "count"), [(1, 1), (2, 7), (3, 13), (4, 35), (5, 31), (6, 91)])
def test_hnf_count_is_the_number_of_sublattices(n, count):
    """Sublattices of index n of a 3D lattice (OEIS A001001)."""
    mats = list(hnf_matrices(n))
    assert len(mats) == count
    assert all(round(np.linalg.det(m)) == n for m in mats)


def test_most_compact_shape_is_chosen():
    s = _one_site({"Li": 0.25, "Na": 0.75})
    choice = find_integral_supercell(s)
    lattice = s.lattice.matrix
    # every diagonal shape of 4 cells has a 4 Å width; the bcc-like superlattice is wider
    assert choice.min_width > min_width(np.diag([2, 2, 1]) @ lattice) + 1
    assert np.isclose(
        choice.min_width, 4 * np.sqrt(2), atol=1e-3
    )  # bcc superlattice of the 4 Å cube
    assert widths(np.array(choice.matrix) @ lattice) > widths(np.diag([4, 1, 1]) @ lattice)


def test_two_cells_of_a_cube_are_the_face_diagonal_superlattice():
    s = _one_site({"Li": 0.5, "Na": 0.5})
    choice = find_integral_supercell(s)
    assert choice.size == 2
    got = widths(np.array(choice.matrix) @ s.lattice.matrix)
    assert np.allclose(got, [4.0, 4 * np.sqrt(2), 4 * np.sqrt(2)], atol=1e-6)  # not 4, 4, 8


def test_an_ordered_structure_needs_the_unit_cell_only():
    s = _one_site({"Li": 1.0})
    assert find_integral_supercell(s).matrix == ((1, 0, 0), (0, 1, 0), (0, 0, 1))
