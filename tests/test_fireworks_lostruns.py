"""A worker killed mid-job: ``recover_lost_runs`` (FireWorks' detect_lostruns) and a rerun.

The LaunchPad is FireWorks' mongomock one (see tests/test_fireworks_e2e.py). A MongoDB server
holds a Firework's RUNNING state from the moment a worker checks it out; mongomock keeps it in
the worker's memory and writes it at exit. So the killed worker here first writes the LaunchPad
file (what the server would hold) and then dies without any cleanup (``os._exit``), in the
middle of a job, as a killed process does. Jobs finished before the kill keep their documents;
after the rerun every job has exactly one document.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jobflow import job

from test_fireworks_e2e import fireworks_state, reset_launchpad, rlaunch, run, write_cluster

pytest.importorskip("mongomock_persistence")


@job
def slow_step(marker: str, species: str) -> dict:
    """Sleep the first time (the worker is killed meanwhile), return at once when rerun."""
    path = Path(marker)
    if not path.exists():
        path.write_text(str(os.getpid()))
        time.sleep(300)
    return {"n": 1, "species": species}


@job
def last_step(previous: dict) -> dict:
    return {**previous, "n": previous["n"] + 1}


def make_flow(marker: str):
    from jobflow import Flow
    from pymatgen.core import Lattice, Structure

    from ionflow.jobs import HopEnumerationMaker

    cu = Structure.from_spacegroup("Fm-3m", Lattice.cubic(3.61), ["Cu"], [[0, 0, 0]])
    enum = HopEnumerationMaker(species="Cu", supercell_min_length=7.0).make(cu)
    slow = slow_step(marker, enum.output.species)
    last = last_step(slow.output)
    return Flow([enum, slow, last], output=last.output, name="lost run test")


SUBMIT = """
import json, sys
from ionflow.fireworks import load_launchpad, submit
from test_fireworks_lostruns import make_flow
result = submit(make_flow(sys.argv[2]), load_launchpad(sys.argv[1]))
print(json.dumps({"submitted": result.submitted, "fw_ids": result.fw_ids}))
"""

RECOVER = """
import dataclasses, json, sys
from ionflow.fireworks import load_launchpad, recover_lost_runs
lost = recover_lost_runs(load_launchpad(sys.argv[1]), expiration_secs=0)
print(json.dumps(dataclasses.asdict(lost)))
"""

#: rlaunch, except that SIGTERM writes the mongomock LaunchPad file and then kills the process.
KILLABLE_RLAUNCH = """
import gc, os, signal, sys
from fireworks.scripts.rlaunch_run import rlaunch

def die(signum, frame):
    from mongomock.store import ServerStore
    for obj in gc.get_objects():
        if isinstance(obj, ServerStore) and getattr(obj, "_filename", None):
            obj._to_file()
    os._exit(137)

signal.signal(signal.SIGTERM, die)
sys.exit(rlaunch(sys.argv[1:]))
"""


def stored_docs(root: Path) -> list[dict]:
    from maggma.stores import MontyStore

    store = MontyStore(
        "outputs", database_path=str(root / "store"), database_name="ionflow", key="uuid"
    )
    store.connect()
    docs = list(store.query({}, properties=["uuid", "index", "name", "output"]))
    store.close()
    return docs


def kill_worker_mid_job(root: Path, env: dict, marker: Path) -> int:
    workdir = root / "launches_killed"
    workdir.mkdir()
    cmd = [sys.executable, "-c", KILLABLE_RLAUNCH, "-l", str(root / "my_launchpad_rendered.yaml"),
           "-w", str(root / "my_fworker_cpu.yaml"), "rapidfire"]  # fmt: skip
    with open(root / "rlaunch_killed.log", "w") as log:
        proc = subprocess.Popen(cmd, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while not marker.exists():
            assert proc.poll() is None, (root / "rlaunch_killed.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the slow job never started"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        return proc.wait(timeout=60)


def test_killed_worker_is_detected_and_rerun_without_lost_or_duplicate_documents(tmp_path):
    root = tmp_path
    env = write_cluster(root)
    reset_launchpad(root, env)
    marker = root / "slow_step_started"
    cmd = [sys.executable, "-c", SUBMIT, str(root / "my_launchpad.yaml"), str(marker)]
    submitted = json.loads(run(cmd, env, root).stdout.strip().splitlines()[-1])
    assert submitted["fw_ids"] == [1, 2, 3]

    assert kill_worker_mid_job(root, env, marker) == 137
    state = fireworks_state(root)
    assert state["hop enumeration"][0] == "COMPLETED"
    assert state["slow_step"][0] == "RUNNING"  # and nobody will ever finish it
    assert state["last_step"][0] == "WAITING"
    assert [d["name"] for d in stored_docs(root)] == ["hop enumeration"]

    lost = json.loads(run([sys.executable, "-c", RECOVER, str(root / "my_launchpad.yaml")],
                          env, root).stdout.strip().splitlines()[-1])  # fmt: skip
    assert len(lost["fw_ids"]) == 1
    assert fireworks_state(root)["slow_step"][0] == "READY"

    rlaunch(root, env, "cpu", "rerun")
    assert {s for s, _ in fireworks_state(root).values()} == {"COMPLETED"}
    docs = stored_docs(root)
    assert sorted(d["name"] for d in docs) == ["hop enumeration", "last_step", "slow_step"]
    assert len({(d["uuid"], d["index"]) for d in docs}) == len(docs) == 3
    last = next(d for d in docs if d["name"] == "last_step")
    assert last["output"] == {"n": 2, "species": "Cu"}  # through the killed job, rerun


@job
def crashing_neb() -> dict:
    raise RuntimeError("CUDA error: an illegal memory access was encountered")


def make_fizzle_flow():
    from jobflow import Flow, OnMissing
    from pymatgen.core import Lattice, Structure

    from ionflow.flows.screen import collect_hop_screen
    from ionflow.jobs import HopEnumerationMaker
    from ionflow.jobs.base import route

    cu = Structure.from_spacegroup("Fm-3m", Lattice.cubic(3.61), ["Cu"], [[0, 0, 0]])
    enum = HopEnumerationMaker(species="Cu", supercell_min_length=7.0).make(cu)
    crashed = crashing_neb()
    collect = collect_hop_screen(enum.output, [crashed.output], model="test")
    collect.config.on_missing_references = OnMissing.NONE
    route(collect, "cpu", _allow_fizzled_parents=True)
    return Flow([enum, crashed, collect], output=collect.output, name="fizzle test")


SUBMIT_FIZZLE = """
import json, sys
from ionflow.fireworks import load_launchpad, submit
from test_fireworks_lostruns import make_fizzle_flow
print(json.dumps({"submitted": submit(make_fizzle_flow(), load_launchpad(sys.argv[1])).submitted}))
"""


def test_a_crashed_hop_fizzles_alone_and_the_collector_reports_it(tmp_path):
    root = tmp_path
    env = write_cluster(root)
    reset_launchpad(root, env)
    run([sys.executable, "-c", SUBMIT_FIZZLE, str(root / "my_launchpad.yaml")], env, root)
    rlaunch(root, env, "cpu", "fizzle")
    state = fireworks_state(root)
    assert state["crashing_neb"][0] == "FIZZLED"
    assert state["collect_hop_screen"][0] == "COMPLETED"
    summary = next(d for d in stored_docs(root) if d["name"] == "collect_hop_screen")["output"]
    assert summary["n_failed"] == 1
    assert summary["hops"][0]["failure_reason"] == "job produced no output"
