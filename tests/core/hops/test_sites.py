"""Tests of ionflow.core.hops.sites.find_mobile_sites."""

from __future__ import annotations

import json

import pytest
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from ionflow.core.hops import MobileSite, find_mobile_sites


def test_lifepo4_has_one_li_site(lifepo4):
    (site,) = find_mobile_sites(lifepo4, symprec=0.1)
    assert site.label == "Li1"
    assert site.species == "Li"
    assert site.wyckoff == "4a"
    assert site.multiplicity == site.wyckoff_multiplicity == 4
    assert site.equivalent_indices == (0, 1, 2, 3)
    assert site.index == 0
    assert site.frac_coords == pytest.approx(tuple(lifepo4[0].frac_coords))


def test_lifepo4_strict_symprec_sees_its_distortion(lifepo4):
    # pymatgen's test LiFePO4 has alpha = 90.5 deg: at symprec=0.01 it is P2_1/c
    sites = find_mobile_sites(lifepo4)
    assert [(s.label, s.wyckoff) for s in sites] == [("Li1", "2a"), ("Li2", "2b")]


def test_li2mno3_has_three_li_sites(li2mno3):
    sites = find_mobile_sites(li2mno3)
    assert [s.label for s in sites] == ["Li1", "Li2", "Li3"]
    assert [s.wyckoff for s in sites] == ["4h", "2c", "2b"]
    assert [s.multiplicity for s in sites] == [4, 2, 2]
    assert sum(s.multiplicity for s in sites) == li2mno3.composition["Li"]
    all_indices = sorted(i for s in sites for i in s.equivalent_indices)
    assert all_indices == list(range(8))
    assert all(li2mno3[i].specie.symbol == "Li" for i in all_indices)


def test_multiplicity_counts_sites_in_the_given_cell(li2mno3):
    primitive = SpacegroupAnalyzer(li2mno3).get_primitive_standard_structure()
    sites = find_mobile_sites(primitive)
    assert len(primitive) == 12
    assert sorted(s.wyckoff for s in sites) == ["2b", "2c", "4h"]
    by_wyckoff = {s.wyckoff: s for s in sites}
    assert by_wyckoff["4h"].multiplicity == 2
    assert by_wyckoff["4h"].wyckoff_multiplicity == 4
    assert by_wyckoff["2b"].multiplicity == 1
    assert by_wyckoff["2b"].wyckoff_multiplicity == 2


def test_wyckoff_symbols_refer_to_the_conventional_cell_of_a_supercell(li2mno3):
    supercell = li2mno3 * (2, 1, 1)
    sites = find_mobile_sites(supercell)
    assert [s.wyckoff for s in sites] == ["4h", "2c", "2b"]
    assert [s.multiplicity for s in sites] == [8, 4, 4]


def test_oxidation_state_decorated_structure(li2mno3):
    decorated = li2mno3.copy()
    decorated.add_oxidation_state_by_element({"Li": 1, "Mn": 4, "O": -2})
    plain = find_mobile_sites(li2mno3)
    for species in ("Li", "Li+"):
        sites = find_mobile_sites(decorated, species)
        assert sites == plain
        assert all(s.species == "Li" for s in sites)


def test_sodium_structure(na_structure):
    (site,) = find_mobile_sites(na_structure, species="Na")
    assert (site.label, site.species, site.wyckoff, site.multiplicity) == ("Na1", "Na", "4a", 4)


def test_mobile_site_dict_round_trip(li2mno3):
    for site in find_mobile_sites(li2mno3):
        d = json.loads(json.dumps(site.as_dict()))
        assert MobileSite.from_dict(d) == site
