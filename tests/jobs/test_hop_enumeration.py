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


def test_a_supercell_far_below_a_sensible_size_warns(na_structure):
    """1x1x1 NaCl (5.64 Å between vacancy images) was used silently with supercell_min 5."""
    doc = _enumerate(HopEnumerationMaker(species="Na", supercell_min_length=5.0), na_structure)
    assert doc.supercell_min_width_A == pytest.approx(5.64)
    assert any("only 5.64 Å wide" in w for w in doc.warnings)
    doc = _enumerate(HopEnumerationMaker(species="Na", supercell_min_length=10.0), na_structure)
    assert doc.supercell_min_width_A == pytest.approx(11.28)
    assert doc.warnings == []


def test_an_oblique_cell_whose_width_falls_short_warns(li2o_primitive):
    """The fcc primitive cell: 4 x 3.26 Å >= 12 Å lattice vectors make a cell 10.65 Å wide."""
    maker = HopEnumerationMaker(species="Li", supercell_min_length=12.0)
    doc = _enumerate(maker, li2o_primitive)
    assert doc.supercell_min_width_A == pytest.approx(4 * 4.61 / 3**0.5)
    assert any("10.65 Å, below the requested 12 Å" in w for w in doc.warnings)


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
        enumeration_maker=HopEnumerationMaker(species="Cu", supercell_min_length=7.0),
        neb_maker=MLIPNebMaker(model=emt_spec),
    ).make(cu)
    run_locally(flow, store=store, ensure_success=True, log=False)
    out = output_as_dict(store, flow.output.uuid)
    assert any("only 7.22 Å wide" in w for w in out["warnings"])
