"""ConductivityFlow on a partially occupied structure; the ordering helpers of the flows."""

from __future__ import annotations

import numpy as np
import pytest
from jobflow import JobStore, run_locally
from maggma.stores import MemoryStore
from pymatgen.core import Lattice, Structure

from ionflow.core.errors import IonflowInputError
from ionflow.flows import ConductivityFlow
from ionflow.flows.conductivity import combine_orderings_conductivity
from ionflow.flows.ordering import check_hop_count, check_orderable, select_orderings
from ionflow.jobs import ArrheniusMaker, DiffusionAnalysisMaker, MLIPMDMaker
from ionflow.store import output_as_dict


def _store():
    return JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})


@pytest.fixture
def cual_disordered():
    """fcc Cu, 16 sites (a = 4.1 Å, expanded: molten on EMT above ~1500 K); 8 sites Cu/Al 50 %."""
    s = Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.1), ["Cu"], [[0, 0, 0]])
    s.make_supercell([2, 2, 1])
    for i in (0, 2, 5, 7, 8, 10, 13, 15):
        s.replace(i, {"Cu": 0.5, "Al": 0.5})
    return s


def test_select_orderings_keeps_lowest_and_is_reproducible():
    w = [0.5, 0.2, 0.15, 0.1, 0.05]
    a = select_orderings(w, 3, seed=4)
    assert len(a) == 3
    assert 0 in a
    assert a == select_orderings(w, 3, seed=4)
    assert select_orderings(w, 9) == [0, 1, 2, 3, 4]
    assert select_orderings(w, 1) == [0]
    counts = np.zeros(5)
    for seed in range(2000):
        for i in select_orderings(w, 2, seed=seed):
            counts[i] += 1
    # drawn by weight: 0.2 : 0.15 : 0.1 : 0.05 among the rest
    assert counts[1:] / 2000 == pytest.approx([0.4, 0.3, 0.2, 0.1], abs=0.04)
    # zero weights: filled by rank
    assert select_orderings([1.0, 0.0, 0.0], 2) == [0, 1]
    with pytest.raises(IonflowInputError, match="n_orderings"):
        select_orderings(w, 0)


def test_hop_cap_points_to_md(lifepo4):
    s = lifepo4.copy()
    s.perturb(0.05, min_distance=0.05)  # P1: every Li distinct
    n = check_hop_count(s, "Li", max_hops=None, symprec=0.001)
    assert n >= 4
    with pytest.raises(IonflowInputError, match="conductivity MD"):
        check_hop_count(s, "Li", max_hops=n - 1, symprec=0.001)


def test_check_orderable_names_the_problem(cual_disordered):
    coords = [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0.5, 0.5]]
    li = Structure(Lattice.cubic(4.2), [{"Li+": 0.5}, {"Li+": 0.5}, "Cl-"], coords)
    assert "supercell" in check_orderable(li, max_atoms=8)
    sevenths = Structure(Lattice.cubic(4.2), [{"Li+": 1 / 7}, {"Li+": 6 / 7}, "Cl-"], coords)
    with pytest.raises(IonflowInputError, match=r"integral|supercell"):
        check_orderable(sevenths, max_atoms=8)
    with pytest.raises(IonflowInputError, match="cap"):
        check_orderable(cual_disordered, max_orderings=2, oxidation_states={"Cu": 0, "Al": 0})


def test_combine_weights_and_spread():
    docs = [
        {
            "Ea_eV": 0.3,
            "sigma_mS_cm": 1.0,
            "D_cm2_s": [1e-6, 2e-6],
            "temperatures_K": [800, 1000],
            "T_extrapolate_K": 300.0,
        },
        {
            "Ea_eV": 0.5,
            "sigma_mS_cm": 3.0,
            "D_cm2_s": [3e-6, 4e-6],
            "temperatures_K": [800, 1000],
            "T_extrapolate_K": 300.0,
        },
        None,
    ]
    meta = [{"index": 0, "weight": 0.6}, {"index": 2, "weight": 0.2}, {"index": 3, "weight": 0.2}]
    out = combine_orderings_conductivity.original(docs, meta, formula="X", mobile_species="Li")
    w = np.array([0.75, 0.25])  # renormalised over the orderings with a result
    assert out.Ea_eV == pytest.approx(np.dot(w, [0.3, 0.5]))
    assert out.Ea_spread_eV == pytest.approx(np.sqrt(np.dot(w, (np.array([0.3, 0.5]) - 0.35) ** 2)))
    assert out.D_cm2_s == pytest.approx([1.5e-6, 2.5e-6])
    assert out.sigma_range_mS_cm == [1.0, 3.0]
    assert out.orderings[2].failure is not None
    assert any("ordering 3" in w for w in out.warnings)
    docs[1] = {**docs[1], "Ea_eV": -0.02, "warnings": ["800 K: too few hops to trust D"]}
    out = combine_orderings_conductivity.original(docs, meta, formula="X", mobile_species="Li")
    assert any("ordering 2: Ea = -0.020 eV <= 0" in w for w in out.warnings)
    assert "ordering 2: 800 K: too few hops to trust D" in out.warnings


def test_conductivity_flow_on_disordered_input(cual_disordered, emt_spec, tmp_path):
    from ionflow.jobs.ordering import OrderingMaker

    settings = {
        "timestep_fs": 2.0,
        "heating_ps": 0.0,
        "equilibration_ps": 0.05,
        "production_ps": 0.4,
        "sample_interval_fs": 10.0,
    }
    flow = ConductivityFlow(
        temperatures=(2000.0, 3000.0),
        n_runs=1,
        supercell_min_length=None,
        mobile_species="Al",
        md_maker=MLIPMDMaker(model=emt_spec, md_settings=settings, checkpoint_dir=str(tmp_path)),
        diffusion_maker=DiffusionAnalysisMaker(settings={"n_segments": 1}),
        arrhenius_maker=ArrheniusMaker(plot_dir=str(tmp_path)),
        n_orderings=2,
        ordering_maker=OrderingMaker(
            model=emt_spec, top_k=2, max_orderings=50, oxidation_states={"Cu": 0, "Al": 0}
        ),
    ).make(cual_disordered)
    store = _store()
    run_locally(flow, store=store, ensure_success=True, log=False)
    doc = output_as_dict(store, flow.output.uuid)
    assert doc["n_orderings"] == 2
    assert next(o["index"] for o in doc["orderings"]) == 0  # the lowest is always run
    assert sum(o["weight"] for o in doc["orderings"]) == pytest.approx(1.0)
    for o in doc["orderings"]:
        assert o["arrhenius"]["temperatures_K"] == [2000.0, 3000.0]
        assert all(d is not None and d > 0 for d in o["D_cm2_s"])
    w = np.array([o["weight"] for o in doc["orderings"]])
    d0 = np.array([o["D_cm2_s"][0] for o in doc["orderings"]])
    assert doc["D_cm2_s"][0] == pytest.approx(float(np.dot(w, d0)))
    assert doc["D_spread_cm2_s"][0] >= 0
    # one Arrhenius plot per ordering, none overwritten
    assert len(list(tmp_path.glob("*ordering*_arrhenius.png"))) == 2


def test_ordered_structure_job_feeds_the_next_job():
    """What ScreenHopsFlow puts in front of the hop enumeration: order, check, lowest."""
    from jobflow import Flow, job

    from ionflow.flows.ordering import ordered_structure_job
    from ionflow.jobs.ordering import OrderingMaker

    @job
    def formula_of(structure):
        return {"ordered": structure.is_ordered, "formula": structure.composition.formula}

    coords = [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0.5, 0.5]]
    s = Structure(Lattice.tetragonal(4.2, 6.0), [{"Li+": 0.5}, {"Li+": 0.5}, "Cl-"], coords)
    jobs, ref = ordered_structure_job(s, OrderingMaker(model=None, top_k=2), species="Li")
    assert len(jobs) == 2
    tail = formula_of(ref)
    store = _store()
    run_locally(Flow([*jobs, tail]), store=store, ensure_success=True, log=False)
    out = output_as_dict(store, tail.uuid)
    assert out["ordered"]
    assert "Li" in out["formula"]
    # an ordered structure passes through untouched
    ordered = Structure(Lattice.cubic(4.2), ["Li", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    assert ordered_structure_job(ordered) == ([], ordered)
    # the hop cap fails the pick job with a pointer to MD
    jobs, ref = ordered_structure_job(s, OrderingMaker(model=None, top_k=2), max_hops=0)
    responses = run_locally(Flow(jobs), store=_store(), log=False)
    assert jobs[0].uuid in responses  # ordered
    assert jobs[1].uuid not in responses  # refused: more hops than the cap
