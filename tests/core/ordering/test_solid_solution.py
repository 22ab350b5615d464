"""Composition series on a parent, hull over the members' orderings, selection."""

from __future__ import annotations

import pytest
from pymatgen.core import Lattice, Structure

from ionflow.core.errors import IonflowInputError
from ionflow.core.ordering.solid_solution import composition_series, evaluate_series


@pytest.fixture
def nacl() -> Structure:
    s = Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]
    )
    s.add_oxidation_state_by_element({"Na": 1, "Cl": -1})
    return s


def test_series_members(nacl):
    members = composition_series(nacl, "Cl", "Br", [0.25, 0.5], max_atoms=16)
    assert [m.x for m in members] == [0.0, 0.25, 0.5, 1.0]
    assert [m.formula for m in members] == ["Na1Cl1", "Na1Cl0.75Br0.25", "Na1Cl0.5Br0.5", "Na1Br1"]
    assert members[0].structure.is_ordered
    assert members[-1].structure.is_ordered
    assert not members[1].structure.is_ordered
    br = members[1].structure.composition.element_composition["Br"]
    assert br == pytest.approx(1.0)  # 4 Cl sites x 0.25
    assert members[1].supercell_multiple == 1
    # oxidation state carried over to the substituent
    assert {str(sp) for sp in members[-1].structure.composition} == {"Na+", "Br-"}


def test_series_errors(nacl):
    with pytest.raises(IonflowInputError, match="has no I"):
        composition_series(nacl, "I", "Br", [0.5])
    with pytest.raises(IonflowInputError, match="cannot be made integral"):
        composition_series(nacl, "Cl", "Br", [0.1], max_atoms=16)
    with pytest.raises(IonflowInputError, match="in \\[0, 1\\]"):
        composition_series(nacl, "Cl", "Br", [1.5])


def _fake_order(structure: Structure):
    """Two 'orderings' per member with energies linear in x plus a known mixing term."""
    comp = structure.composition.element_composition
    n_br, n = comp["Br"], comp["Na"]
    x = n_br / n
    base = n * ((1 - x) * -8.0 + x * -7.0)
    mix = -0.1 * n * x * (1 - x) * 4  # -0.1 eV/fu at x = 0.5
    plain = structure.copy()
    plain.remove_oxidation_states()
    return [("o0", plain, base + mix), ("o1", plain, base + mix + 0.05 * n)]


def test_evaluate_series_hull_and_selection(nacl):
    members = composition_series(nacl, "Cl", "Br", [0.5], max_atoms=16)
    res = evaluate_series(members, _fake_order, temperature=800, seed=2)
    assert len(res.configurations) == 6
    low = res.lowest_per_member()
    assert low[0.5].hull.e_form_per_fu == pytest.approx(-0.1)
    assert low[0.5].hull.on_hull
    assert low[0.5].hull.e_hull_per_fu == pytest.approx(0.0, abs=1e-9)
    high = [c for c in res.configurations if c.label.endswith("o1")]
    assert all(c.hull.e_hull_per_fu == pytest.approx(0.05) for c in high)
    assert all(low[x].selected for x in (0.0, 0.5, 1.0))
    again = evaluate_series(members, _fake_order, temperature=800, seed=2)
    assert again.selected == res.selected


def test_solid_solution_maker_ewald_ranked(nacl):
    """The Maker end to end on a store, ranked by Ewald energy (model=None: no model call)."""
    from jobflow import JobStore, run_locally
    from maggma.stores import MemoryStore

    from ionflow.jobs.solid_solution import SolidSolutionMaker
    from ionflow.store import output_as_dict

    maker = SolidSolutionMaker(
        site="Cl",
        substituent="Br",
        fractions=(0.5,),
        model=None,
        top_k=3,
        max_atoms=16,
        n_select=4,
        seed=1,
        worker="cpu",
    )
    job = maker.make(nacl)
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    run_locally(job, store=store, ensure_success=True, log=False)
    doc = output_as_dict(store, job.output.uuid)
    assert doc["member_formulas"] == ["Na1Cl1", "Na1Cl0.5Br0.5", "Na1Br1"]
    assert doc["n_configurations"] >= 3
    assert doc["n_selected"] == min(4, doc["n_configurations"])
    confs = doc["configurations"]
    assert {c["x"] for c in confs} == {0.0, 0.5, 1.0}
    ends = [c for c in confs if c["x"] in (0.0, 1.0)]
    assert all(c["e_form_per_fu_eV"] == pytest.approx(0.0, abs=1e-9) for c in ends)
    assert all(c["e_hull_per_fu_eV"] >= 0 for c in confs)
    for x in (0.0, 0.5, 1.0):  # the lowest of every composition is selected
        low = min((c for c in confs if c["x"] == x), key=lambda c: c["e_hull_per_fu_eV"])
        assert low["selected"]
