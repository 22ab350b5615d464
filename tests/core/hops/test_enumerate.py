"""Tests of ionflow.core.hops.enumerate: lian2025's N² hop rule."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from ionflow.core.errors import IonflowInputError
from ionflow.core.hops import Hop, enumerate_hops, find_mobile_sites


def _check_geometry(structure: Structure, hop: Hop) -> None:
    """The stored coordinates, indices, images and length agree with each other."""
    frac = structure.frac_coords
    assert hop.start_index == hop.initial.index
    np.testing.assert_allclose(hop.start_frac, frac[hop.start_index])
    np.testing.assert_allclose(hop.end_frac, frac[hop.end_index] + np.array(hop.end_image))
    assert hop.end_index in hop.final.equivalent_indices
    assert np.linalg.norm(hop.vector(structure.lattice)) == pytest.approx(hop.length, abs=1e-9)
    assert hop.length > 0
    assert hop.close_approach == (hop.min_ion_distance < 0.5)


def test_lifepo4_single_hop_along_the_b_chain(lifepo4):
    (hop,) = enumerate_hops(lifepo4, symprec=0.1)
    _check_geometry(lifepo4, hop)
    assert hop.hop_id == "Li1(4a)->Li1(4a)"
    # Li-Li distance along the 1D channel (b = 6.066 Å here, Li at y = 0 and 1/2)
    assert hop.length == pytest.approx(3.0328, abs=1e-3)
    b_axis = lifepo4.lattice.matrix[1] / np.linalg.norm(lifepo4.lattice.matrix[1])
    assert abs(hop.vector(lifepo4.lattice) @ b_axis) / hop.length > 0.99
    assert not hop.close_approach
    assert hop.min_ion_distance == pytest.approx(1.455, abs=0.01)


def test_lifepo4_two_sites_give_four_hops(lifepo4):
    hops = enumerate_hops(lifepo4)  # symprec=0.01: P2_1/c, Li on 2a and 2b
    assert [h.hop_id for h in hops] == [
        "Li1(2a)->Li1(2a)",
        "Li1(2a)->Li2(2b)",
        "Li2(2b)->Li1(2a)",
        "Li2(2b)->Li2(2b)",
    ]
    assert hops[1].length == pytest.approx(3.0328, abs=1e-3)
    assert hops[0].length == pytest.approx(lifepo4.lattice.a, abs=1e-6)


def test_li2mno3_nine_hops(li2mno3):
    hops = enumerate_hops(li2mno3)
    assert len(hops) == 9
    labels = ["Li1(4h)", "Li2(2c)", "Li3(2b)"]
    assert [h.hop_id for h in hops] == [f"{i}->{j}" for i in labels for j in labels]
    for hop in hops:
        _check_geometry(li2mno3, hop)
    lengths = {h.hop_id: h.length for h in hops}
    # forward and reverse are separate hops of the same length
    for i in labels:
        for j in labels:
            assert lengths[f"{i}->{j}"] == pytest.approx(lengths[f"{j}->{i}"], abs=1e-9)
    # in-layer and layer-to-layer nearest hops ~2.7-2.9 Å; 2c->2c and 2b->2b are long
    # (C-centring vector (a + b) / 2, 4.926 Å)
    assert lengths["Li1(4h)->Li1(4h)"] == pytest.approx(2.740, abs=0.005)
    assert lengths["Li1(4h)->Li2(2c)"] == pytest.approx(2.820, abs=0.005)
    centring = np.hypot(li2mno3.lattice.a / 2, li2mno3.lattice.b / 2)
    assert lengths["Li2(2c)->Li2(2c)"] == pytest.approx(centring, abs=1e-6)
    assert lengths["Li3(2b)->Li3(2b)"] == pytest.approx(lengths["Li2(2c)->Li2(2c)"], abs=1e-6)
    assert not any(h.close_approach for h in hops)


def test_enumeration_is_deterministic_and_takes_precomputed_sites(li2mno3):
    sites = find_mobile_sites(li2mno3)
    first = enumerate_hops(li2mno3)
    second = enumerate_hops(li2mno3, sites=sites)
    assert [h.as_dict() for h in first] == [h.as_dict() for h in second]


def test_single_site_cell_hops_to_its_own_image():
    structure = Structure(Lattice.cubic(3.0), ["Li"], [[0.25, 0.25, 0.25]])
    (hop,) = enumerate_hops(structure)
    assert hop.hop_id == "Li1(1a)->Li1(1a)"
    assert (hop.start_index, hop.end_index) == (0, 0)
    assert hop.length == pytest.approx(3.0)
    # six images tie at 3 Å: the lexicographically lowest image wins
    assert hop.end_image == (-1, 0, 0)
    assert hop.min_ion_distance == pytest.approx(3.0)


def test_sodium_rock_salt(na_structure):
    (hop,) = enumerate_hops(na_structure, species="Na")
    assert hop.hop_id == "Na1(4a)->Na1(4a)"
    assert hop.length == pytest.approx(5.64 / np.sqrt(2))
    _check_geometry(na_structure, hop)
    # the straight Na-Na path passes between two Cl at a/(2*sqrt 2) ... a/2
    assert hop.min_ion_distance == pytest.approx(5.64 / 2 / np.sqrt(2), abs=1e-6)


def test_oxidation_state_decorated_species_argument(li2mno3):
    decorated = li2mno3.copy()
    decorated.add_oxidation_state_by_element({"Li": 1, "Mn": 4, "O": -2})
    hops = enumerate_hops(decorated, species="Li+")
    assert [h.as_dict() for h in hops] == [h.as_dict() for h in enumerate_hops(li2mno3)]


def test_path_through_an_atom_is_flagged():
    # Li at x = 0 and 0.4 of a 7.5 Å cell: nearest hop 3 Å along +x, and an O sits 0.15 Å
    # off the straight path at its midpoint (mirror at x = 0.2 keeps one Li site type).
    structure = Structure(
        Lattice.orthorhombic(7.5, 5.0, 5.0),
        ["Li", "Li", "O"],
        [[0.0, 0.0, 0.0], [0.4, 0.0, 0.0], [0.2, 0.03, 0.0]],
    )
    (hop,) = enumerate_hops(structure)
    assert hop.length == pytest.approx(3.0)
    assert hop.min_ion_distance == pytest.approx(0.15, abs=1e-9)
    assert hop.close_approach
    (relaxed,) = enumerate_hops(structure, close_approach=0.1)
    assert not relaxed.close_approach


def test_other_mobile_ions_count_for_the_closest_approach():
    # a Li (site type 2) right on the Li1 -> Li1 path
    structure = Structure(
        Lattice.orthorhombic(3.0, 6.0, 6.0), ["Li", "Li"], [[0.0, 0.0, 0.0], [0.5, 0.5, 0.5]]
    )
    structure.append("Li", [0.5, 0.02, 0.0])
    hops = {h.hop_id: h for h in enumerate_hops(structure, symprec=0.001)}
    own = next(h for hid, h in hops.items() if hid.startswith("Li1") and "->Li1" in hid)
    assert own.length == pytest.approx(3.0)
    assert own.min_ion_distance == pytest.approx(0.12, abs=1e-9)
    assert own.close_approach


def test_wrong_sites_are_rejected(li2mno3, na_structure):
    na_sites = find_mobile_sites(na_structure, "Na")
    with pytest.raises(IonflowInputError, match="species Li"):
        enumerate_hops(li2mno3, sites=na_sites)


def test_hop_dict_round_trip(li2mno3):
    for hop in enumerate_hops(li2mno3):
        d = json.loads(json.dumps(hop.as_dict()))
        assert Hop.from_dict(d) == hop


def test_large_supercell_is_fast_and_gives_the_same_hops(li2mno3):
    supercell = li2mno3 * (3, 2, 3)  # 432 atoms
    start = time.perf_counter()
    hops = enumerate_hops(supercell)
    elapsed = time.perf_counter() - start
    reference = enumerate_hops(li2mno3)
    assert [h.hop_id for h in hops] == [h.hop_id for h in reference]
    np.testing.assert_allclose([h.length for h in hops], [h.length for h in reference])
    assert elapsed < 5.0
