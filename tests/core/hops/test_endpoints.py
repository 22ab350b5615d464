"""Tests of ionflow.core.hops.endpoints: supercells and vacancy endpoints."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from ionflow.core.errors import IonflowInputError
from ionflow.core.hops import build_vacancy_endpoints, enumerate_hops, supercell_matrix


def test_supercell_matrix_is_the_smallest_diagonal(lifepo4):
    matrix = supercell_matrix(lifepo4)
    assert matrix.dtype.kind == "i"
    assert np.array_equal(matrix, np.diag(np.diag(matrix)))
    np.testing.assert_array_equal(np.diag(matrix), [3, 2, 1])  # a=4.74, b=6.07, c=10.41
    lengths = np.asarray(lifepo4.lattice.abc) * np.diag(matrix)
    assert np.all(lengths >= 10.0)
    assert np.all(lengths - np.asarray(lifepo4.lattice.abc) < 10.0)  # one less is too short
    np.testing.assert_array_equal(np.diag(supercell_matrix(lifepo4, 12.5)), [3, 3, 2])


def test_supercell_matrix_exact_multiple_needs_no_extra_repeat():
    structure = Structure(Lattice.cubic(5.0), ["Li"], [[0, 0, 0]])
    np.testing.assert_array_equal(np.diag(supercell_matrix(structure, 10.0)), [2, 2, 2])


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_supercell_matrix_rejects_non_positive_length(lifepo4, bad):
    with pytest.raises(IonflowInputError, match="min_length"):
        supercell_matrix(lifepo4, bad)


def _check_endpoints(structure, hop, endpoints, min_length=10.0):
    initial, final = endpoints.initial, endpoints.final
    multiples = np.diag(endpoints.supercell)
    assert np.all(np.asarray(initial.lattice.abc) >= min_length)
    n_cells = int(np.prod(multiples))
    # the supercell minus one mobile ion, same composition in both endpoints
    expected = structure.composition * n_cells - {hop.initial.species: 1}
    assert initial.composition == expected
    assert final.composition == expected
    assert len(initial) == len(final) == len(structure) * n_cells - 1
    assert endpoints.moving_index == 0
    assert initial[0].specie.symbol == final[0].specie.symbol == hop.initial.species
    moved = final.cart_coords[0] - initial.cart_coords[0]
    np.testing.assert_allclose(moved, endpoints.hop_vector, atol=1e-9)
    assert np.linalg.norm(moved) == pytest.approx(hop.length, abs=1e-6)
    # every other atom identical, in the same order
    assert [s.species for s in initial][1:] == [s.species for s in final][1:]
    np.testing.assert_array_equal(initial.frac_coords[1:], final.frac_coords[1:])

    # the destination is empty in the initial state and the origin in the final state
    def nearest(structure, cart):
        d = structure.lattice.get_all_distances(
            structure.lattice.get_fractional_coords(cart), structure.frac_coords[1:]
        )
        return float(d.min())

    assert nearest(initial, final.cart_coords[0]) > 1.0
    assert nearest(final, initial.cart_coords[0]) > 1.0
    # ... and both are sites of the full supercell
    full = structure * multiples
    for cart in (initial.cart_coords[0], final.cart_coords[0]):
        d = full.lattice.get_all_distances(
            full.lattice.get_fractional_coords(cart), full.frac_coords
        )
        assert d.min() < 1e-6


def test_li2mno3_endpoints_for_all_nine_hops(li2mno3):
    for hop in enumerate_hops(li2mno3):
        endpoints = build_vacancy_endpoints(li2mno3, hop)
        assert endpoints.hop_id == hop.hop_id
        np.testing.assert_array_equal(np.diag(endpoints.supercell), [3, 2, 2])
        _check_endpoints(li2mno3, hop, endpoints)


def test_lifepo4_and_sodium_endpoints(lifepo4, na_structure):
    (hop,) = enumerate_hops(lifepo4, symprec=0.1)
    _check_endpoints(lifepo4, hop, build_vacancy_endpoints(lifepo4, hop))
    (na_hop,) = enumerate_hops(na_structure, "Na")
    endpoints = build_vacancy_endpoints(na_structure, na_hop, min_length=8.0)
    assert len(endpoints.initial) == 63
    _check_endpoints(na_structure, na_hop, endpoints, min_length=8.0)


def test_to_ase_keeps_unwrapped_positions(li2mno3):
    hops = enumerate_hops(li2mno3)
    for hop in hops:
        endpoints = build_vacancy_endpoints(li2mno3, hop)
        atoms_i, atoms_f = endpoints.to_ase()
        np.testing.assert_array_equal(atoms_i.positions, endpoints.initial.cart_coords)
        np.testing.assert_array_equal(atoms_f.positions, endpoints.final.cart_coords)
        np.testing.assert_allclose(
            atoms_f.positions[0] - atoms_i.positions[0], endpoints.hop_vector, atol=1e-12
        )
        assert atoms_i.get_chemical_symbols() == atoms_f.get_chemical_symbols()
        assert atoms_i.info["hop_id"] == hop.hop_id
        assert atoms_f.info["moving_index"] == 0
        assert atoms_i.calc is None
    # at least one hop leaves the cell: the final position is kept outside, not wrapped
    outside = []
    for hop in hops:
        final = build_vacancy_endpoints(li2mno3, hop).to_ase()[1]
        frac = final.cell.scaled_positions(final.positions[:1])
        outside.append(bool(np.any((frac < 0) | (frac >= 1))))
    assert any(outside)


def test_supercell_too_small_for_own_image_hop():
    structure = Structure(Lattice.cubic(3.0), ["Li"], [[0, 0, 0]])
    (hop,) = enumerate_hops(structure)
    with pytest.raises(IonflowInputError, match=r"own image.*increase min_length"):
        build_vacancy_endpoints(structure, hop, min_length=2.0)
    endpoints = build_vacancy_endpoints(structure, hop, min_length=5.0)
    assert len(endpoints.initial) == 7


def test_hop_from_another_structure_is_rejected(li2mno3, lifepo4):
    hop = enumerate_hops(li2mno3)[0]
    with pytest.raises(IonflowInputError, match="not a site of the supercell"):
        build_vacancy_endpoints(lifepo4, hop)
