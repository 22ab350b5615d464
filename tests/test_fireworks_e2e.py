"""FireWorks end to end: ``ionflow submit``, CPU and GPU workers in turn, ``ionflow results``.

The screen shares work (the default): the CPU fan-out creates the vacancy relaxation (GPU) and
the band fan-out (CPU), which creates the NEB (GPU) and the collector (CPU) once the relaxation
is done, so the workers alternate CPU, GPU, CPU, GPU, CPU.

Real ``rlaunch ... rapidfire`` subprocesses on FireWorks' mongomock LaunchPad
(``MONGOMOCK_SERVERSTORE_FILE``, a JSON file that starts as ``{}``). That LaunchPad lives in the
memory of one process and is written back at exit, so the workers run one after the other,
never at once. Every worker writes to its own jobflow store (an embedded MontyStore here, named
in its ``JOBFLOW_CONFIG_FILE``); the submitting process has a credentialed MongoDB store and a
password-protected LaunchPad configured, neither of which may reach a Firework spec, an
``FW.json`` or a log line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("fireworks")
pytest.importorskip("mongomock_persistence")

BIN = Path(sys.executable).parent
EMT = '{"@module": "ase.calculators.emt", "@callable": "EMT"}'
LP_PASSWORD = "lp-S3cret-7f3a"  # the LaunchPad's, in the environment of every process
STORE_PASSWORD = "store-S3cret-91c2"  # the submitter's jobflow MongoStore's


def write_cluster(root: Path) -> dict[str, str]:
    """LaunchPad, two workers, a worker store and a submitter store; returns the environment."""
    (root / "server.json").write_text("{}")
    # a credentialed LaunchPad: user and password from the environment (mongomock ignores them)
    (root / "my_launchpad.yaml").write_text(
        "host: localhost\nport: 27017\nname: ionflow_fw\n"
        "username: ionflow\npassword: ${IONFLOW_LP_PASSWORD}\n"
    )
    # what `envsubst` makes of it on a worker node (rlaunch reads plain YAML)
    (root / "my_launchpad_rendered.yaml").write_text(
        (root / "my_launchpad.yaml").read_text().replace("${IONFLOW_LP_PASSWORD}", LP_PASSWORD)
    )
    for kind in ("cpu", "gpu"):
        (root / f"my_fworker_{kind}.yaml").write_text(
            f"name: test_cluster\ncategory: {kind}\nquery: '{{}}'\n"
            "env:\n  CUDA_VISIBLE_DEVICES: '0'\n"
        )
    store = root / "store"
    (root / "jobflow_worker.yaml").write_text(
        textwrap.dedent(f"""\
        JOB_STORE:
          docs_store: {{type: MontyStore, collection_name: outputs, database_path: {store},
                        database_name: ionflow, key: uuid}}
          additional_stores:
            data: {{type: MontyStore, collection_name: outputs_blobs, database_path: {store},
                    database_name: ionflow, key: blob_uuid}}
        """)
    )
    (root / "jobflow_submitter.yaml").write_text(
        textwrap.dedent(f"""\
        JOB_STORE:
          docs_store: {{type: MongoStore, database: ionflow, collection_name: outputs,
                        host: db.example.org, username: ionflow, password: {STORE_PASSWORD}}}
        """)
    )
    env = dict(os.environ)
    env.update(
        MONGOMOCK_SERVERSTORE_FILE=str(root / "server.json"),
        JOBFLOW_CONFIG_FILE=str(root / "jobflow_worker.yaml"),
        IONFLOW_LP_PASSWORD=LP_PASSWORD,
        IONFLOW_USE_JOBFLOW_STORE="always",
        IONFLOW_CONFIG_FILE=str(root / "no-ionflow.yaml"),
        OMP_NUM_THREADS="1",
        PYTHONPATH=str(Path(__file__).parent),
    )
    return env


def run(cmd: list[str], env: dict, cwd: Path, log: Path | None = None, timeout: float = 240):
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if log is not None:
        log.write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def reset_launchpad(root: Path, env: dict) -> None:
    """``lpad reset``, answered as a user would: with the database name."""
    lpad = [str(BIN / "lpad"), "-l", str(root / "my_launchpad_rendered.yaml"), "reset"]
    proc = subprocess.run(
        lpad, env=env, cwd=root, input="ionflow_fw\n", capture_output=True, text=True, timeout=120
    )
    (root / "lpad_reset.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stderr[-2000:]


def rlaunch(root: Path, env: dict, kind: str, tag: str) -> None:
    """One real ``rlaunch rapidfire`` worker of ``kind``, in its own launch directory."""
    workdir = root / f"launches_{tag}"
    workdir.mkdir()
    cmd = [str(BIN / "rlaunch"), "-l", str(root / "my_launchpad_rendered.yaml"),
           "-w", str(root / f"my_fworker_{kind}.yaml"), "rapidfire"]  # fmt: skip
    run(cmd, env, workdir, log=root / f"rlaunch_{tag}.log")


def fireworks_state(root: Path) -> dict[str, tuple[str, str | None]]:
    """``{name: (state, _category)}`` read from the mongomock LaunchPad file."""
    from bson import json_util

    db = json_util.loads((root / "server.json").read_text())["ionflow_fw"]
    docs = [d for _, d in db["fireworks"]["documents"]]
    return {d["name"]: (d["state"], d["spec"].get("_category")) for d in docs}


def submit_cli(root: Path, env: dict, *args: str) -> dict:
    """``ionflow submit screen`` (the real command) of the Cu structure, as the user runs it."""
    cif = root / "Cu.cif"
    if not cif.exists():
        from pymatgen.core import Lattice, Structure

        cu = Structure.from_spacegroup("Fm-3m", Lattice.cubic(3.61), ["Cu"], [[0, 0, 0]])
        cu.to(filename=str(cif))
    sub_env = {**env, "JOBFLOW_CONFIG_FILE": str(root / "jobflow_submitter.yaml")}
    cmd = [str(BIN / "ionflow"), "submit", "screen", str(cif), "--species", "Cu",
           "--supercell-min", "7", "--model", EMT, "--launchpad", str(root / "my_launchpad.yaml"),
           "--no-store-check", "--json", *args]  # fmt: skip
    proc = run(cmd, sub_env, root, log=root / f"submit{len(list(root.glob('submit*')))}.log")
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The whole run, once: submit, CPU/GPU workers in turn, resubmit, results."""
    root = tmp_path_factory.mktemp("cluster")
    env = write_cluster(root)
    reset_launchpad(root, env)
    states = {"submit": submit_cli(root, env)}
    for kind, tag in (
        ("cpu", "cpu1"),
        ("gpu", "gpu"),
        ("cpu", "cpu2"),
        ("gpu", "gpu2"),
        ("cpu", "cpu3"),
    ):
        rlaunch(root, env, kind, tag)
        states[tag] = fireworks_state(root)
    states["resubmit"] = submit_cli(root, env)
    cmd = [str(BIN / "ionflow"), "results", "--json"]
    states["results"] = json.loads(run(cmd, env, root, log=root / "results.log").stdout)
    return root, states


NEB = "mlip neb Cu1(4a)->Cu1(4a)"
VACANCY = "vacancy relax V1 Cu1 (4a)"
BANDS = "fan out shared bands"


def test_cpu_worker_leaves_run_time_gpu_jobs_ready_for_gpu(cluster):
    _, states = cluster
    assert states["submit"]["submitted"]
    assert states["submit"]["fw_ids"] == [1, 2]
    after_cpu = states["cpu1"]
    assert after_cpu["hop enumeration"] == ("COMPLETED", "cpu")
    assert after_cpu["fan out shared hop work"] == ("COMPLETED", "cpu")
    assert after_cpu[VACANCY] == ("READY", "gpu")  # created at run time by the CPU fan-out
    assert after_cpu[BANDS] == ("WAITING", "cpu")
    assert after_cpu["store_inputs"] == ("WAITING", "cpu")  # jobflow's own helper job
    # the band fan-out, run by the next CPU worker, makes the NEB: again ready for a GPU worker
    after_cpu2 = states["cpu2"]
    assert after_cpu2[BANDS] == ("COMPLETED", "cpu")
    assert after_cpu2[NEB] == ("READY", "gpu")
    assert after_cpu2["collect hop screen"] == ("WAITING", "cpu")


def test_gpu_workers_run_only_the_gpu_jobs(cluster):
    _, states = cluster
    after_gpu = states["gpu"]
    assert after_gpu[VACANCY] == ("COMPLETED", "gpu")
    assert after_gpu[BANDS] == ("READY", "cpu")
    assert NEB not in after_gpu
    after_gpu2 = states["gpu2"]
    assert after_gpu2[NEB] == ("COMPLETED", "gpu")
    assert after_gpu2["collect hop screen"] == ("READY", "cpu")
    assert after_gpu2["store_inputs"] == ("WAITING", "cpu")


def test_last_cpu_worker_completes_and_results_are_readable(cluster):
    _, states = cluster
    assert {s for s, _ in states["cpu3"].values()} == {"COMPLETED"}
    results = states["results"]
    assert results["n_results"] == 1
    screen = results["results"][0]
    assert screen["reduced_formula"] == "Cu"
    assert screen["n_converged"] == 1
    assert 0.4 < screen["lowest_barrier_eV"] < 1.2


def test_resubmitting_the_same_screen_does_not_duplicate_it(cluster):
    root, states = cluster
    again = states["resubmit"]
    assert not again["submitted"]
    assert again["fingerprint"] == states["submit"]["fingerprint"]
    assert "COMPLETED" in again["reason"]
    assert len(fireworks_state(root)) == 7


def test_no_password_in_launchpad_fw_json_or_logs(cluster):
    root, _ = cluster
    checked = []
    for path in root.rglob("*"):
        if path.is_file() and not path.name.startswith(("jobflow_submitter", "my_launchpad")):
            text = path.read_text(errors="replace")
            checked.append(path.name)
            assert LP_PASSWORD not in text, path
            assert STORE_PASSWORD not in text, path
    # every Firework ran at least once, and each launch's FW.json was read
    assert checked.count("FW.json") >= len(fireworks_state(root)) == 7
    assert "server.json" in checked
    logs = {"rlaunch_cpu1.log", "rlaunch_gpu.log", "rlaunch_cpu2.log", "rlaunch_gpu2.log"}
    assert {*logs, "rlaunch_cpu3.log", "lpad_reset.log"} <= set(checked)
