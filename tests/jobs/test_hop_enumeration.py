"""HopEnumerationMaker: what a screen will cost is said before any NEB runs."""

from __future__ import annotations

import pytest
from jobflow import JobStore, run_locally
from maggma.stores import MemoryStore

from ionflow.core.errors import IonflowInputError
from ionflow.jobs import HopEnumerationMaker
from ionflow.store import output_as_dict


def _enumerate(maker, structure):
    return maker.make.original(maker, structure)


def _length_rule(**kwargs):
    return HopEnumerationMaker(supercell_rule="length", **kwargs)


def test_a_supercell_far_below_a_sensible_size_warns(na_structure):
    """1x1x1 NaCl (5.64 Å between vacancy images) was used silently with supercell_min 5."""
    doc = _enumerate(_length_rule(species="Na", supercell_min_length=5.0), na_structure)
    assert doc.supercell_min_width_A == pytest.approx(5.64)
    assert any("only 5.64 Å wide" in w for w in doc.warnings)
    doc = _enumerate(_length_rule(species="Na", supercell_min_length=10.0), na_structure)
    assert doc.supercell_min_width_A == pytest.approx(11.28)
    assert doc.warnings == []


def test_an_oblique_cell_whose_width_falls_short_warns(li2o_primitive):
    """The fcc primitive cell: 4 x 3.26 Å >= 12 Å lattice vectors make a cell 10.65 Å wide."""
    maker = _length_rule(species="Li", supercell_min_length=12.0)
    doc = _enumerate(maker, li2o_primitive)
    assert doc.supercell_min_width_A == pytest.approx(4 * 4.61 / 3**0.5)
    assert any("10.65 Å, below the requested 12 Å" in w for w in doc.warnings)
    assert doc.supercell_rule == "length"


def test_the_width_rule_reaches_the_width_with_fewer_atoms(li2o_primitive, na_structure):
    """The default rule: every width >= L (no warning); fewer atoms where the old rule got there.

    The old rule's fcc primitive cell falls short of 12 Å in width; NaCl's conventional cell
    reaches 10 Å only at 2x2x2 (64 atoms).
    """
    for structure, species, size in ((li2o_primitive, "Li", 12.0), (na_structure, "Na", 10.0)):
        old = _enumerate(_length_rule(species=species, supercell_min_length=size), structure)
        maker = HopEnumerationMaker(species=species, supercell_min_length=size)
        assert maker.supercell_rule == "width"
        new = _enumerate(maker, structure)
        assert new.supercell_rule == "width"
        assert new.supercell.rule == "width"
        assert new.supercell_min_width_A >= size
        assert new.supercell.min_width_A == pytest.approx(new.supercell_min_width_A)
        assert not [w for w in new.warnings if "wide" in w]
        if old.supercell_min_width_A >= size:
            assert new.supercell.n_atoms < old.supercell.n_atoms
        else:
            assert any("below the requested" in w for w in old.warnings)
        assert new.n_sites_supercell == new.supercell.n_atoms - 1
        for hop in new.hops:
            assert len(hop.initial_structure) == new.supercell.n_atoms - 1
            assert hop.supercell == new.supercell.matrix


@pytest.mark.parametrize("bad", ["cube", "", "Width"])
def test_an_unknown_supercell_rule_is_refused(bad):
    with pytest.raises(IonflowInputError, match="supercell_rule"):
        HopEnumerationMaker(supercell_rule=bad)


@pytest.fixture
def p1_li2mno3(li2mno3):
    """Li2MnO3 with every Li displaced a little: P1, 8 distinct Li sites, 64 hops."""
    s = li2mno3.copy()
    for k, i in enumerate(s.indices_from_symbol("Li")):
        s.translate_sites([i], [0.004 * (k + 1), -0.003 * k, 0.002], frac_coords=True)
    return s


def test_a_low_symmetry_cell_warns_of_its_cost_and_can_be_capped(p1_li2mno3):
    maker = HopEnumerationMaker(species="Li", symprec=0.001, supercell_min_length=7.0)
    doc = _enumerate(maker, p1_li2mno3)
    assert len(doc.hops) == len(doc.sites) ** 2 > 50
    assert any(f"{len(doc.hops)} hops to compute" in w for w in doc.warnings)

    capped = HopEnumerationMaker(species="Li", symprec=0.001, max_hops=20)
    with pytest.raises(IonflowInputError, match=r"more than max_hops = 20"):
        _enumerate(capped, p1_li2mno3)

    cut = HopEnumerationMaker(
        species="Li", symprec=0.001, supercell_min_length=7.0, max_hop_length=2.9
    )
    doc = _enumerate(cut, p1_li2mno3)
    assert all(h.length_A <= 2.9 for h in doc.hops)
    assert doc.skipped_hops
    assert len(doc.hops) + len(doc.skipped_hops) == len(doc.sites) ** 2
    assert any("left out (max_hop_length)" in w for w in doc.warnings)


def test_warnings_reach_the_screen_document(na_structure, emt_spec):
    """The enumeration's warnings are kept in the screen summary (and printed by the CLI)."""
    from pymatgen.core import Lattice, Structure

    from ionflow.flows import ScreenHopsFlow
    from ionflow.jobs import MLIPNebMaker

    cu = Structure.from_spacegroup("Fm-3m", Lattice.cubic(3.61), ["Cu"], [[0, 0, 0]])
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    flow = ScreenHopsFlow(
        enumeration_maker=_length_rule(species="Cu", supercell_min_length=7.0),
        neb_maker=MLIPNebMaker(model=emt_spec),
    ).make(cu)
    run_locally(flow, store=store, ensure_success=True, log=False)
    out = output_as_dict(store, flow.output.uuid)
    assert any("only 7.22 Å wide" in w for w in out["warnings"])
