"""The hop screen with shared work: same table as one NEB per hop, fewer NEBs and relaxations."""

from __future__ import annotations

import pytest
from jobflow import JobStore, run_locally
from maggma.stores import MemoryStore
from pymatgen.core import Lattice, Structure

from ionflow.core.neb.summary import format_barrier_table
from ionflow.flows import ScreenHopsFlow
from ionflow.jobs import HopEnumerationMaker, MLIPNebMaker
from ionflow.store import output_as_dict


@pytest.fixture
def cu3al_tetragonal() -> Structure:
    """Cu3Al L1_2 stretched along c (P4/mmm): two Cu sites (1c, 2e), 4 hops."""
    return Structure(
        Lattice.tetragonal(3.6, 3.8),
        ["Al", "Cu", "Cu", "Cu"],
        [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]],
    )


def _store():
    return JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})


def _screen(model, structure, share_work):
    flow = ScreenHopsFlow(
        enumeration_maker=HopEnumerationMaker(species="Cu", supercell_min_length=7.0),
        neb_maker=MLIPNebMaker(model=model, n_images=5, neb_settings={"fmax": 0.05}),
        share_work=share_work,
    ).make(structure)
    store = _store()
    run_locally(flow, store=store, ensure_success=True, log=False)
    return store, output_as_dict(store, flow.output.uuid)


def _names(store, prefix):
    return [d["name"] for d in store.query({"name": {"$regex": f"^{prefix}"}})]


def test_shared_screen_matches_one_neb_per_hop(cu3al_tetragonal, emt_spec):
    shared_store, shared = _screen(emt_spec, cu3al_tetragonal, True)
    own_store, own = _screen(emt_spec, cu3al_tetragonal, False)
    # the same table: every hop, forward and reverse
    assert [r["hop_id"] for r in shared["hops"]] == [r["hop_id"] for r in own["hops"]]
    assert shared["n_hops"] == own["n_hops"] == 4
    assert shared["n_converged"] == 4
    for a, b in zip(shared["hops"], own["hops"]):
        assert a["barrier_forward_eV"] == pytest.approx(b["barrier_forward_eV"], abs=0.02)
        assert a["barrier_reverse_eV"] == pytest.approx(b["barrier_reverse_eV"], abs=0.02)
    # less work: 3 bands instead of 4 NEBs, 2 vacancy relaxations instead of 8
    assert len(_names(shared_store, "mlip neb")) == shared["n_nebs"] == 3
    assert len(_names(own_store, "mlip neb")) == own["n_nebs"] == 4
    assert len(_names(shared_store, "vacancy relax")) == shared["n_endpoint_relaxations"] == 2
    assert own["n_endpoint_relaxations"] == 8
    assert shared["total_force_calls"] < own["total_force_calls"]
    # the reverse hop names its partner's band and swaps its barriers
    rows = {r["hop_id"]: r for r in shared["hops"]}
    fwd, rev = rows["Cu1(1c)->Cu2(2e)"], rows["Cu2(2e)->Cu1(1c)"]
    assert fwd["band_id"] == rev["band_id"]
    assert (fwd["reversed"], rev["reversed"]) == (False, True)
    assert rev["barrier_forward_eV"] == fwd["barrier_reverse_eV"]
    assert rev["force_calls"] == 0 < fwd["force_calls"]
    assert all(r["band_id"] is None for r in own["hops"])
    table = format_barrier_table(shared["hops"])
    assert f"{fwd['band_id']} rev" in table
    assert "band" not in format_barrier_table(own["hops"]).splitlines()[0]


def test_failed_vacancy_relaxation_fails_its_hops_with_the_reason(cu_fcc):
    _, out = _screen({"@module": "no_such_module_xyz", "@callable": "Calc"}, cu_fcc, True)
    assert out["n_failed"] == out["n_hops"] == 1
    reason = out["hops"][0]["failure_reason"]
    assert "vacancy V1" in reason
    assert "Cannot import" in reason
    assert out["n_nebs"] == 0
