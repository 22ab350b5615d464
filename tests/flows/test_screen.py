from __future__ import annotations

import pytest
from jobflow import Flow, JobStore, OnMissing, job, run_locally
from maggma.stores import MemoryStore

from ionflow.flows import ScreenHopsFlow
from ionflow.flows.screen import collect_hop_screen
from ionflow.jobs import HopEnumerationMaker, MLIPNebMaker
from ionflow.mlip import get_evaluator
from ionflow.store import output_as_dict


def _store():
    return JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})


def _cu_flow(model, **neb):
    return ScreenHopsFlow(
        enumeration_maker=HopEnumerationMaker(species="Cu", supercell_min_length=7.0),
        neb_maker=MLIPNebMaker(model=model, neb_settings=neb),
    )


def test_screen_flow_end_to_end(cu_fcc, emt_spec):
    store = _store()
    flow = _cu_flow(emt_spec).make(cu_fcc)
    run_locally(flow, store=store, ensure_success=True, log=False)
    out = output_as_dict(store, flow.output.uuid)
    assert out["n_hops"] == 1
    assert out["n_converged"] == 1
    row = out["hops"][0]
    assert row["initial"] == "Cu1 (4a)"
    assert row["converged"] is True
    assert 0.4 < row["barrier_forward_eV"] < 1.2
    assert out["lowest_barrier_eV"] == pytest.approx(row["barrier_forward_eV"])
    # fcc: the nearest-neighbour network percolates in 3D at the hop barrier
    assert out["percolation_barriers_eV"]["3D"] == pytest.approx(
        max(row["barrier_forward_eV"], row["barrier_reverse_eV"])
    )
    # the NEB document keeps its images in the data store, not in the task document
    neb_docs = list(store.query({"name": {"$regex": "^mlip neb"}}))
    assert len(neb_docs) == 1
    images = neb_docs[0]["output"]["images"]
    assert "blob_uuid" in images
    loaded = output_as_dict(store, neb_docs[0]["uuid"])
    assert len(loaded["images"]["positions"]) == loaded["n_images"]


def test_failed_model_is_reported_not_raised(cu_fcc):
    store = _store()
    flow = _cu_flow({"@module": "no_such_module_xyz", "@callable": "Calc"}).make(cu_fcc)
    run_locally(flow, store=store, ensure_success=True, log=False)
    out = output_as_dict(store, flow.output.uuid)
    assert out["n_failed"] == 1
    assert "Cannot import" in out["hops"][0]["failure_reason"]
    assert out["lowest_barrier_eV"] is None


@job
def _crashing_neb():
    raise RuntimeError("worker killed")


def test_collect_survives_a_crashed_hop_job(cu_fcc):
    store = _store()
    enum = HopEnumerationMaker(species="Cu", supercell_min_length=7.0).make(cu_fcc)
    crashed = _crashing_neb()
    collect = collect_hop_screen(enum.output, [crashed.output], model="test")
    collect.config.on_missing_references = OnMissing.NONE
    run_locally(Flow([enum, crashed, collect]), store=store, log=False)
    out = output_as_dict(store, collect.uuid)
    assert out["n_failed"] == 1
    assert out["hops"][0]["failure_reason"] == "job produced no output"
    assert output_as_dict(store, enum.uuid)["symprec"] == 0.1  # percolation uses the same


def test_enumeration_rejects_bad_input(na_structure):
    store = _store()
    j = HopEnumerationMaker(species="Li").make(na_structure)
    responses = run_locally(j, store=store, log=False)
    assert j.uuid not in responses  # the job failed with the clear error (logged by jobflow)
    from ionflow.core.errors import IonflowInputError

    maker = HopEnumerationMaker(species="Li")
    with pytest.raises(IonflowInputError, match="no Li"):
        maker.make.original(maker, na_structure)


def test_neb_job_continues_from_its_checkpoint(cu_fcc, emt_spec, tmp_path):
    """A hop job stopped at its step limit is rerun and continues its band, not from scratch."""
    ckpt_dir = tmp_path / "ckpt"
    first = _cu_flow(emt_spec, max_steps=3)
    first.neb_maker.checkpoint_dir = str(ckpt_dir)
    store = _store()
    flow = first.make(cu_fcc)
    run_locally(flow, store=store, ensure_success=True, log=False)
    out = output_as_dict(store, flow.output.uuid)
    assert out["n_converged"] == 0
    files = list(ckpt_dir.glob("*.npz"))
    assert len(files) == 1
    assert files[0].name.startswith("neb_Cu_Cu1_4a_-_Cu1_4a_")

    (stopped,) = [d["output"] for d in store.query({"name": {"$regex": "^mlip neb"}})]
    assert stopped["n_steps"] == 3

    ev = get_evaluator(emt_spec)  # the process-wide evaluator the jobs use
    calls_before = ev.n_evaluations
    again = _cu_flow(emt_spec)
    again.neb_maker.checkpoint_dir = str(ckpt_dir)
    flow = again.make(cu_fcc)
    run_locally(flow, store=store, ensure_success=True, log=False)
    out = output_as_dict(store, flow.output.uuid)
    assert out["n_converged"] == 1
    nebs = [d["output"] for d in store.query({"name": {"$regex": "^mlip neb"}})]
    (done,) = [n for n in nebs if n["converged"]]
    # the rerun spent calls on the band only (no endpoint relaxation) and counts the first run's
    assert ev.n_evaluations - calls_before == done["force_calls"] - stopped["force_calls"]
    assert done["endpoint_force_calls"] == stopped["endpoint_force_calls"]
    assert not list(ckpt_dir.glob("*.npz"))  # removed once converged
