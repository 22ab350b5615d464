"""Routing, fingerprints, submission and credential checks of ionflow.fireworks (in-process).

The FireWorks workers themselves run in tests/test_fireworks_e2e.py (real ``rlaunch``).
"""

from __future__ import annotations

import pytest
from jobflow import JobStore
from maggma.stores import MemoryStore

from ionflow.fireworks import (
    FINGERPRINT_KEY,
    CredentialsInSpecError,
    find_credentials,
    firework_categories,
    flow_fingerprint,
    load_launchpad,
    recover_lost_runs,
    route_flow,
    submit,
    unrouted_jobs,
)
from ionflow.flows import ConductivityFlow, ScreenHopsFlow
from ionflow.jobs import HopEnumerationMaker, MLIPMDMaker, MLIPNebMaker


def _screen(model, share_work=False, **neb):
    # one NEB per hop by default here: its fan-out creates the NEB jobs directly (the shared
    # procedure's two levels of run-time jobs are checked in test_route_flow_shared_work_...)
    return ScreenHopsFlow(
        enumeration_maker=HopEnumerationMaker(species="Cu", supercell_min_length=7.0),
        neb_maker=MLIPNebMaker(model=model, neb_settings=neb, progress=False),
        share_work=share_work,
    )


def _store():
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    store.connect()
    return store


def _run_fan_out(flow):
    """Run the enumeration and the fan-out job; return the jobs the fan-out creates."""
    store = _store()
    enum, fan = flow.jobs
    enum.run(store)
    response = fan.run(store)
    return {job.name: job for job, _ in response.replace.iterflow()}, store


def test_pass_manager_config_trap_without_route_flow(cu_fcc, emt_spec):
    # jobflow's default: the CPU fan-out's category overwrites its GPU children's
    new_jobs, _ = _run_fan_out(_screen(emt_spec).make(cu_fcc))
    neb = next(j for name, j in new_jobs.items() if name.startswith("mlip neb"))
    assert neb.config.manager_config["_category"] == "cpu"
    # and the collector loses its tolerance of a failed hop: one fizzled NEB would block it
    assert "_allow_fizzled_parents" not in new_jobs["collect hop screen"].config.manager_config


def test_route_flow_keeps_gpu_children_and_routes_helper_jobs(cu_fcc, emt_spec):
    flow = route_flow(_screen(emt_spec).make(cu_fcc), fworker="clusterA")
    assert unrouted_jobs(flow) == []
    new_jobs, _ = _run_fan_out(flow)
    configs = {name: j.config.manager_config for name, j in new_jobs.items()}
    assert set(configs) == {"mlip neb Cu1(4a)->Cu1(4a)", "collect hop screen", "store_inputs"}
    assert configs["mlip neb Cu1(4a)->Cu1(4a)"]["_category"] == "gpu"
    assert configs["collect hop screen"]["_category"] == "cpu"
    # the collector's own tolerance is not overwritten by its parent's config either
    assert configs["collect hop screen"]["_allow_fizzled_parents"] is True
    assert configs["store_inputs"]["_category"] == "cpu"  # jobflow's helper job
    assert {c["_fworker"] for c in configs.values()} == {"clusterA"}
    # and the run-time jobs pass the fix on to the jobs they would create
    assert not any(j.config.pass_manager_config for j in new_jobs.values())


def test_route_flow_shared_work_routes_both_levels_of_run_time_jobs(cu_fcc, emt_spec):
    """Shared work: fan-out -> vacancy relaxations (gpu) + band fan-out (cpu) -> NEBs (gpu)."""
    flow = route_flow(_screen(emt_spec, share_work=True).make(cu_fcc), fworker="clusterA")
    assert unrouted_jobs(flow) == []
    level1, store = _run_fan_out(flow)
    configs = {name: j.config.manager_config for name, j in level1.items()}
    (relax,) = [n for n in configs if n.startswith("vacancy relax")]
    assert configs[relax]["_category"] == "gpu"
    assert configs["fan out shared bands"]["_category"] == "cpu"
    assert configs["fan out shared bands"]["_allow_fizzled_parents"] is True
    level1[relax].run(store)
    response = level1["fan out shared bands"].run(store)
    level2 = {job.name: job.config.manager_config for job, _ in response.replace.iterflow()}
    nebs = [n for n in level2 if n.startswith("mlip neb")]
    assert nebs
    assert all(level2[n]["_category"] == "gpu" for n in nebs)
    assert level2["collect hop screen"]["_category"] == "cpu"
    assert level2["collect hop screen"]["_allow_fizzled_parents"] is True
    assert {c["_fworker"] for c in [*configs.values(), *level2.values()]} == {"clusterA"}


def test_worker_override_reaches_static_and_run_time_jobs(cu_fcc, emt_spec, li2o_primitive):
    flow = _screen(emt_spec).make(cu_fcc)
    flow.update_maker_kwargs({"worker": "cpu"}, class_filter=MLIPNebMaker)
    new_jobs, _ = _run_fan_out(route_flow(flow))
    assert new_jobs["mlip neb Cu1(4a)->Cu1(4a)"].config.manager_config["_category"] == "cpu"

    cond = ConductivityFlow(
        temperatures=(600.0,), n_runs=2, supercell_min_length=None, mobile_species="Li"
    ).make(li2o_primitive)
    cond.update_maker_kwargs({"worker": "cpu"}, class_filter=MLIPMDMaker)
    cats = firework_categories(_workflow(route_flow(cond)))
    assert set(cats.values()) == {"cpu"}


def _workflow(flow):
    from jobflow.managers.fireworks import flow_to_workflow

    return flow_to_workflow(flow, store=None)


def test_every_firework_of_a_conductivity_flow_is_routed(li2o_primitive):
    cond = ConductivityFlow(
        temperatures=(600.0, 800.0), n_runs=2, supercell_min_length=None, mobile_species="Li"
    ).make(li2o_primitive)
    wf = _workflow(route_flow(cond)).to_dict()
    cats = [fw["spec"]["_category"] for fw in wf["fws"]]
    names = [fw["name"] for fw in wf["fws"]]
    assert len(cats) == 4 + 2 + 1
    assert sorted(c for c, n in zip(cats, names) if n.startswith("mlip md")) == ["gpu"] * 4
    assert {c for c, n in zip(cats, names) if not n.startswith("mlip md")} == {"cpu"}
    assert all("store" not in fw["spec"] for fw in wf["fws"])


def test_fingerprint_follows_structure_and_settings(cu_fcc, emt_spec, na_structure):
    a = flow_fingerprint(_screen(emt_spec, fmax=0.05).make(cu_fcc))
    b = flow_fingerprint(_screen(emt_spec, fmax=0.05).make(cu_fcc.copy()))
    assert a == b
    assert len(a) == 64
    assert flow_fingerprint(_screen(emt_spec, fmax=0.03).make(cu_fcc)) != a
    strained = cu_fcc.copy()
    strained.scale_lattice(cu_fcc.volume * 1.01)
    assert flow_fingerprint(_screen(emt_spec, fmax=0.05).make(strained)) != a


class FakeLaunchPad:
    """The two LaunchPad calls submit() makes, on a mongomock collection."""

    def __init__(self):
        import mongomock

        self.workflows = mongomock.MongoClient().db.workflows
        self.added = []
        self._next = 1

    def add_wf(self, wf):
        ids = {}
        for fw in wf.fws:
            ids[fw.fw_id] = self._next
            self._next += 1
        self.workflows.insert_one(
            {"metadata": wf.metadata, "nodes": list(ids.values()), "state": "READY",
             "name": wf.name}
        )  # fmt: skip
        self.added.append(wf)
        return ids


def test_submit_once_then_skip_then_force(cu_fcc, emt_spec):
    lp = FakeLaunchPad()
    first = submit(_screen(emt_spec).make(cu_fcc), lp)
    assert first.submitted
    assert first.fw_ids == [1, 2]
    wf = lp.added[0].to_dict()
    assert {fw["spec"]["_category"] for fw in wf["fws"]} == {"cpu"}  # enumeration, fan-out
    assert all(fw["spec"][FINGERPRINT_KEY] == first.fingerprint for fw in wf["fws"])
    assert wf["metadata"][FINGERPRINT_KEY] == first.fingerprint

    again = submit(_screen(emt_spec).make(cu_fcc), lp)
    assert not again.submitted
    assert again.fingerprint == first.fingerprint
    assert again.existing[0]["fw_ids"] == [1, 2]
    assert "READY" in again.reason
    assert len(lp.added) == 1

    forced = submit(_screen(emt_spec).make(cu_fcc), lp, force=True)
    assert forced.submitted
    assert len(lp.added) == 2
    other = submit(_screen(emt_spec, fmax=0.02).make(cu_fcc), lp)
    assert other.submitted


def test_archived_workflow_can_be_resubmitted(cu_fcc, emt_spec):
    lp = FakeLaunchPad()
    first = submit(_screen(emt_spec).make(cu_fcc), lp)
    lp.workflows.update_many({}, {"$set": {"state": "ARCHIVED"}})
    assert submit(_screen(emt_spec).make(cu_fcc), lp).submitted
    assert first.submitted


@pytest.mark.parametrize("kind", ["memory", "embedded"])
def test_submit_skips_a_result_already_in_the_store(cu_fcc, emt_spec, kind, tmp_path):
    from jobflow import run_locally

    from ionflow.fireworks import tag_flow
    from ionflow.store import embedded_store

    store = _store() if kind == "memory" else embedded_store(tmp_path / "store")
    flow = _screen(emt_spec).make(cu_fcc)
    fingerprint = flow_fingerprint(flow)
    tag_flow(flow, fingerprint)
    run_locally(flow, store=store, log=False, ensure_success=True)
    docs = list(store.query({f"metadata.{FINGERPRINT_KEY}": fingerprint}))
    assert len(docs) == 5  # enumeration, fan-out, NEB, collector, screen summary
    lp = FakeLaunchPad()
    result = submit(_screen(emt_spec).make(cu_fcc), lp, store=store)
    assert not result.submitted
    assert result.reason == "result in the store"
    assert result.existing[0]["uuid"] == flow.output.uuid
    assert lp.added == []


def test_find_credentials_names_paths_not_values():
    spec = {
        "fws": [{"spec": {"store": {"docs_store": {"password": "hunter2", "host": "db"}}}}],
        "uri": "mongodb+srv://alice:hunter2@cluster0.example.net/ionflow",
        "plain": "mongodb+srv://cluster0.example.net/ionflow",
        "password": None,
    }
    found = find_credentials(spec)
    assert found == ["fws[0].spec.store.docs_store.password", "uri"]
    assert not any("hunter2" in f for f in found)


def test_submit_refuses_a_flow_that_carries_credentials(cu_fcc, emt_spec):
    flow = _screen(emt_spec).make(cu_fcc)
    flow.update_metadata({"store": {"host": "db", "password": "hunter2"}})
    lp = FakeLaunchPad()
    with pytest.raises(CredentialsInSpecError, match="password") as err:
        submit(flow, lp)
    assert "hunter2" not in str(err.value)
    assert lp.added == []


def test_load_launchpad_takes_credentials_from_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "my_launchpad.yaml"
    path.write_text(
        "host: mongodb+srv://${LP_USER}:${LP_PASSWORD}@cluster0.example.net/fw\n"
        "uri_mode: true\nname: fw\nmongoclient_kwargs: {tls: true, connect: false}\n"
    )
    monkeypatch.delenv("LP_PASSWORD", raising=False)
    monkeypatch.setenv("LP_USER", "alice")
    with pytest.raises(ValueError, match="LP_PASSWORD"):
        load_launchpad(path)
    monkeypatch.setenv("LP_PASSWORD", "hunter2")
    from unittest import mock

    with mock.patch("fireworks.LaunchPad.from_dict", side_effect=lambda d: d):
        loaded = load_launchpad(path)
    assert loaded["host"] == "mongodb+srv://alice:hunter2@cluster0.example.net/fw"
    assert loaded["mongoclient_kwargs"]["tls"] is True


def test_recover_lost_runs_reruns_by_default():
    class LP:
        def detect_lostruns(self, **kwargs):
            self.kwargs = kwargs
            return [7], [3], []

    lp = LP()
    lost = recover_lost_runs(lp, expiration_secs=60)
    assert lost.fw_ids == [3]
    assert lost.launch_ids == [7]
    assert lp.kwargs == {"expiration_secs": 60, "rerun": True, "refresh": True}


def test_ionflow_submit_is_the_package_level_entry(cu_fcc, emt_spec):
    import ionflow

    lp = FakeLaunchPad()
    assert ionflow.submit(_screen(emt_spec).make(cu_fcc), lp).submitted
    assert not ionflow.submit(_screen(emt_spec).make(cu_fcc), lp).submitted
    assert ionflow.submit(_screen(emt_spec).make(cu_fcc), lp, force=True).submitted
