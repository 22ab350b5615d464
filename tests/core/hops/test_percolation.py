"""Tests of ionflow.core.hops.percolation: periodic dimensionality and percolation barriers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from ionflow.core.errors import IonflowInputError
from ionflow.core.hops import (
    Hop,
    MobileSite,
    enumerate_hops,
    find_mobile_sites,
    hop_edges,
    percolation_barriers,
    percolation_dimension_at,
    periodic_dimensionality,
)

X, Y, Z = [1, 0, 0], [0, 1, 0], [0, 0, 1]


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ([], 0),
        ([(0, 0, [0, 0, 0])], 0),
        ([(0, 0, X)], 1),
        ([(0, 0, X), (0, 0, [2, 0, 0])], 1),  # parallel translations: still 1D
        ([(0, 0, X), (0, 0, Y)], 2),
        ([(0, 0, [1, 1, 0]), (0, 0, [1, -1, 0])], 2),
        ([(0, 0, X), (0, 0, Y), (0, 0, Z)], 3),
        ([(0, 1, [0, 0, 0]), (1, 0, [0, 0, 0])], 0),  # isolated dimer (doubled edge)
        ([(0, 1, [0, 0, 0]), (1, 0, X)], 1),  # zig-zag chain through two sites
        ([(0, 1, [0, 0, 0]), (1, 2, Y), (2, 0, Z)], 1),  # one cycle, net translation (0,1,1)
        ([(0, 1, [0, 0, 0]), (2, 3, X)], 0),  # two components, neither periodic
        ([(0, 1, [0, 0, 0]), (0, 1, X), (2, 2, Y), (2, 2, Z)], 2),  # max over components
    ],
)
def test_periodic_dimensionality(edges, expected):
    assert periodic_dimensionality(4, edges) == expected


def test_periodic_dimensionality_checks_node_ids():
    with pytest.raises(IonflowInputError, match="outside"):
        periodic_dimensionality(2, [(0, 2, X)])


def _orthorhombic_hops() -> tuple[Structure, list[Hop]]:
    """One Li per cell with hand-made hops along a (3 Å), b (3.5 Å) and c (4 Å)."""
    structure = Structure(Lattice.orthorhombic(3.0, 3.5, 4.0), ["Li"], [[0, 0, 0]])
    (site,) = find_mobile_sites(structure)
    hops = [
        Hop(
            hop_id=name,
            initial=site,
            final=site,
            start_index=0,
            end_index=0,
            end_image=image,
            length=length,
            start_frac=(0.0, 0.0, 0.0),
            end_frac=(float(image[0]), float(image[1]), float(image[2])),
            min_ion_distance=length,
        )
        for name, image, length in [
            ("x", (1, 0, 0), 3.0),
            ("y", (0, 1, 0), 3.5),
            ("z", (0, 0, 1), 4.0),
        ]
    ]
    return structure, hops


def test_simple_lattice_barriers_by_direction():
    structure, hops = _orthorhombic_hops()
    edges = hop_edges(structure, hops)
    assert sorted(e.hop_id for e in edges) == ["x", "y", "z"]  # +a and -a are one edge
    result = percolation_barriers(structure, hops, {"x": 0.1, "y": 0.2, "z": 0.3})
    assert result == {"1D": 0.1, "2D": 0.2, "3D": 0.3}
    # the order of the costs, not of the directions, decides
    result = percolation_barriers(structure, hops, {"x": 0.9, "y": 0.5, "z": 0.2})
    assert result == {"1D": 0.2, "2D": 0.5, "3D": 0.9}
    # one value reaches several dimensions at once
    assert percolation_barriers(structure, hops, {"x": 0.4, "y": 0.4, "z": 0.4}) == {
        "1D": 0.4,
        "2D": 0.4,
        "3D": 0.4,
    }


def test_failed_hops_are_left_out():
    structure, hops = _orthorhombic_hops()
    assert percolation_barriers(structure, hops, {"x": 0.1, "y": 0.2}) == {
        "1D": 0.1,
        "2D": 0.2,
        "3D": None,
    }
    result = percolation_barriers(structure, hops, {"x": math.nan, "y": 0.2, "z": None})
    assert result == {"1D": 0.2, "2D": None, "3D": None}
    assert percolation_barriers(structure, hops, {}) == {"1D": None, "2D": None, "3D": None}


def test_dimension_at_threshold():
    structure, hops = _orthorhombic_hops()
    barriers = {"x": 0.1, "y": 0.2, "z": 0.3}
    expected = {0.05: 0, 0.1: 1, 0.15: 1, 0.2: 2, 0.3: 3, 10.0: 3}
    for threshold, dimension in expected.items():
        assert percolation_dimension_at(structure, hops, barriers, threshold) == dimension


def test_isolated_dimer_never_percolates():
    # two Li 2.5 Å apart in a 10 Å box: the only Li->Li hop joins the pair
    structure = Structure(Lattice.cubic(10.0), ["Li", "Li"], [[0.4, 0.5, 0.5], [0.65, 0.5, 0.5]])
    (hop,) = enumerate_hops(structure)
    assert hop.length == pytest.approx(2.5)
    assert len(hop_edges(structure, [hop])) == 1
    assert percolation_barriers(structure, [hop], {hop.hop_id: 0.1}) == {
        "1D": None,
        "2D": None,
        "3D": None,
    }


def test_lifepo4_is_one_dimensional(lifepo4):
    hops = enumerate_hops(lifepo4, symprec=0.1)
    (hop,) = hops
    edges = hop_edges(lifepo4, hops, symprec=0.1)
    assert len(edges) == 4  # 4 Li per cell, each with two chain neighbours
    frac = lifepo4.frac_coords
    for edge in edges:  # chains along b only
        dfrac = frac[edge.v] + edge.offset - frac[edge.u]
        np.testing.assert_allclose(np.abs(dfrac), [0, 0.5, 0], atol=1e-3)
    result = percolation_barriers(lifepo4, hops, {hop.hop_id: 0.27}, symprec=0.1)
    assert result == {"1D": 0.27, "2D": None, "3D": None}
    assert percolation_dimension_at(lifepo4, hops, {hop.hop_id: 0.27}, 0.2, symprec=0.1) == 0


def test_rock_salt_sodium_is_three_dimensional(na_structure):
    hops = enumerate_hops(na_structure, "Na")
    assert len(hop_edges(na_structure, hops)) == 4 * 12 // 2
    result = percolation_barriers(na_structure, hops, {hops[0].hop_id: 0.8})
    assert result == {"1D": 0.8, "2D": 0.8, "3D": 0.8}


def test_li2mno3_with_lian2025_fine_tuned_barriers(li2mno3):
    hops = enumerate_hops(li2mno3)
    # lian2025 Table 1 (fine-tuned CHGNet): forward barrier of each hop, labels as ours
    table = {
        ("Li1", "Li1"): 0.70, ("Li1", "Li2"): 0.57, ("Li1", "Li3"): 0.56,
        ("Li2", "Li1"): 0.58, ("Li2", "Li2"): 2.53, ("Li2", "Li3"): 0.55,
        ("Li3", "Li1"): 0.67, ("Li3", "Li2"): 0.64, ("Li3", "Li3"): 6.40,
    }  # fmt: skip
    # edge cost = max(forward, reverse); the reverse of i->j is approximated by j->i
    barriers = {
        h.hop_id: max(table[h.initial.label, h.final.label], table[h.final.label, h.initial.label])
        for h in hops
    }
    edges = hop_edges(li2mno3, hops)
    counts = {h.hop_id: sum(e.hop_id == h.hop_id for e in edges) for h in hops}
    for h in hops:  # forward and reverse hops expand to the same undirected edges
        reverse = f"{h.hop_id.split('->')[1]}->{h.hop_id.split('->')[0]}"
        assert counts[h.hop_id] == counts[reverse]
    result = percolation_barriers(li2mno3, hops, barriers)
    # 4h-2c ribbons in the Li layer run along a first; 2c-2b hops through the LiMn2 layer
    # add a second direction; the third needs the long 2c->2c hop (nearest-only hop set)
    assert result == {"1D": 0.58, "2D": 0.64, "3D": 2.53}
    assert result["1D"] <= result["2D"] <= result["3D"]


def test_hop_edges_offsets_point_at_the_right_sites(li2mno3):
    hops = enumerate_hops(li2mno3)
    frac = li2mno3.frac_coords
    lengths = {h.hop_id: h.length for h in hops}
    for edge in hop_edges(li2mno3, hops):
        vec = (frac[edge.v] + edge.offset - frac[edge.u]) @ li2mno3.lattice.matrix
        assert np.linalg.norm(vec) == pytest.approx(lengths[edge.hop_id], abs=0.05)
        assert edge.offset.dtype.kind == "i"


def test_hop_edges_rejects_negative_tolerance(li2mno3):
    with pytest.raises(IonflowInputError, match="length_tol"):
        hop_edges(li2mno3, enumerate_hops(li2mno3), length_tol=-0.1)


def test_mobile_site_type_is_exported():
    assert MobileSite.__name__ == "MobileSite"


def _square_net_with_anion() -> Structure:
    """Li on a 3 Å square net; the O above the a-bond makes a and b inequivalent."""
    return Structure(Lattice.tetragonal(3.0, 6.0), ["Li", "O"], [[0, 0, 0], [0.5, 0, 0.5]])


def test_symmetry_expansion_keeps_inequivalent_paths_of_equal_length_apart():
    structure = _square_net_with_anion()
    (hop,) = enumerate_hops(structure)
    assert hop.length == pytest.approx(3.0)
    vec = np.abs(hop.vector(structure.lattice))
    by_symmetry = hop_edges(structure, [hop])
    by_length = hop_edges(structure, [hop], symprec=None)
    # the computed hop runs along one axis only; its space-group images stay on that axis
    assert len(by_symmetry) == 1
    np.testing.assert_allclose(np.abs(by_symmetry[0].offset), vec / 3.0, atol=1e-8)
    # length matching also gives the inequivalent path along the other axis
    assert len(by_length) == 2
    assert percolation_barriers(structure, [hop], {hop.hop_id: 0.3}) == {
        "1D": 0.3,
        "2D": None,
        "3D": None,
    }
    assert percolation_barriers(structure, [hop], {hop.hop_id: 0.3}, symprec=None)["2D"] == 0.3


def test_symmetry_expansion_covers_every_equivalent_site(na_structure, li2mno3):
    for structure, species in [(na_structure, "Na"), (li2mno3, "Li")]:
        hops = enumerate_hops(structure, species)
        edges = hop_edges(structure, hops)
        for hop in hops:
            starts = {e.u for e in edges if e.hop_id == hop.hop_id} | {
                e.v for e in edges if e.hop_id == hop.hop_id
            }
            assert set(hop.initial.equivalent_indices) <= starts


def test_site_classes_from_another_symprec_fall_back_to_length(lifepo4, caplog):
    # at 0.1 Å LiFePO4 is Pnma with one Li orbit of 4; at 0.01 Å it is P2_1/c, whose
    # operations do not map the Li orbit onto itself: the edges are matched by length
    hops = enumerate_hops(lifepo4, symprec=0.1)
    with caplog.at_level("WARNING", logger="ionflow.core.hops.percolation"):
        edges = hop_edges(lifepo4, hops, symprec=0.01)
    assert "matched by length" in caplog.text
    assert len(edges) == len(hop_edges(lifepo4, hops, symprec=0.1)) == 4


def test_hop_edges_rejects_bad_symprec(lifepo4):
    with pytest.raises(IonflowInputError, match="symprec"):
        hop_edges(lifepo4, enumerate_hops(lifepo4, symprec=0.1), symprec=0.0)
