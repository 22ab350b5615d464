"""``ionflow discover``: the loop from the command line; its model drives a new process."""

from __future__ import annotations

import importlib.machinery
import json
import os
import subprocess
import sys
import types

import pytest
from ase.calculators.calculator import Calculator

from ionflow.cli.main import main

EMT = '{"@module": "ase.calculators.emt", "@callable": "EMT"}'
#: A 3-atom band with few steps: the test checks the wiring, not the barrier.
CHEAP = ["--species", "Cu", "--supercell-min", "3", "--n-images", "5", "--max-steps", "15",
         "--fmax", "0.1", "--threads", "1"]  # fmt: skip

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture
def cu_cif(cu_fcc, tmp_path):
    path = tmp_path / "cu.cif"
    cu_fcc.to(filename=str(path))
    return path


def _store_count(store_dir) -> int:
    from ionflow.store import get_store

    store = get_store()
    store.connect()
    return store.count()


@pytest.mark.slow
def test_discover_then_the_model_drives_screen_in_a_new_process(
    cu_cif, store_dir, tmp_path, capsys
):
    models = tmp_path / "models"
    args = ["discover", str(cu_cif), *CHEAP, "--labeller", EMT, "--epochs", "1",
            "--train-batch-size", "4", "--model-dir", str(models), "--json"]  # fmt: skip
    code = main(args)
    doc = json.loads(capsys.readouterr().out)
    (row,) = doc["hops"]
    converged = row["pretrained_converged"] and row["finetuned_converged"]
    assert code == (0 if converged else 1)
    spec = doc["finetuned_model"]
    assert spec.startswith(f"chgnet:{models}")
    assert doc["pretrained_model"] == "chgnet"
    assert doc["n_labels"] >= 5

    # the model is listed with its metrics and provenance
    assert main(["results", "models", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["results"]
    assert [m["uuid"] for m in listed] == [doc["model_uuid"]]
    assert listed[0]["labellers"] == [doc["labeller"]]
    assert listed[0]["test_forces_eV_A"] == pytest.approx(doc["metrics"]["test"]["forces_eV_A"])

    # a new process loads the checkpoint from its spec and repeats the fine-tuned screen
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "ionflow.cli.main", "screen", str(cu_cif), *CHEAP,
               "--model", spec, "--json"]  # fmt: skip
    proc = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    screen = json.loads(proc.stdout)
    assert screen["model"] == spec
    (hop,) = screen["hops"]
    assert hop["barrier_forward_eV"] is not None  # the checkpoint loaded and ran
    assert "checkpoint" not in (hop["failure_reason"] or "")


def test_bad_input_exits_2_before_any_model(cu_cif, store_dir, tmp_path, capsys):
    base = ["discover", str(cu_cif), "--species", "Cu", "--supercell-min", "3"]
    cases = {
        "missing structure": (
            ["discover", str(tmp_path / "nope.cif"), "--labeller", EMT],
            "nope.cif",
        ),
        "missing teacher checkpoint": (
            [*base, "--labeller", f"chgnet:{tmp_path / 'teacher.pth.tar'}"],
            "teacher.pth.tar",
        ),
        "missing student checkpoint": (
            [*base, "--labeller", EMT, "--model", f"chgnet:{tmp_path / 's.pth.tar'}"],
            "s.pth.tar",
        ),
        "no mobile ion": ([*base[:2], "--labeller", EMT], "Li"),
        "zero epochs": ([*base, "--labeller", EMT, "--epochs", "0"], "epochs"),
        "strain not a fraction": ([*base, "--labeller", EMT, "--strains", "3"], "strains"),
        "bad functional": ([*base, "--labeller", "vasp:hse"], "functional"),
    }
    for name, (args, needle) in cases.items():
        assert main(args) == 2, name
        err = capsys.readouterr().err
        assert "error" in err, name
        assert needle in err, name
    assert _store_count(store_dir) == 0  # nothing ran


class _BrokenTeacher(Calculator):
    """An ASE calculator whose every call fails (a labeller error)."""

    implemented_properties = ("energy", "forces", "stress")

    def calculate(self, atoms=None, properties=None, system_changes=None):
        raise RuntimeError("teacher exploded")


@pytest.mark.slow
def test_a_labeller_error_stops_the_loop_and_keeps_the_screen(
    cu_cif, store_dir, tmp_path, capsys, monkeypatch
):
    name = "ionflow_test_broken_teacher"
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.BrokenTeacher = _BrokenTeacher
    monkeypatch.setitem(sys.modules, name, module)
    teacher = json.dumps({"@module": name, "@callable": "BrokenTeacher"})
    code = main(["discover", str(cu_cif), *CHEAP, "--labeller", teacher, "--epochs", "1",
                 "--model-dir", str(tmp_path / "models")])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1
    assert "stopped before its summary" in captured.err
    assert "training dataset" in captured.err  # the step that stopped, and why
    assert not (tmp_path / "models").exists()  # no model was trained

    # the pretrained screen and the label report stay in the store
    assert main(["results", "screens", "--json"]) == 0
    screens = json.loads(capsys.readouterr().out)["results"]
    assert {s["model"] for s in screens} == {"chgnet"}
    assert main(["results", "models", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_results"] == 0
    from ionflow.store import get_store

    store = get_store()
    store.connect()
    (labels,) = store.query({"name": {"$regex": "^teacher label"}}, load=True)
    assert labels["output"]["n_ok"] == 0
    assert "teacher exploded" in labels["output"]["failed"][0]["failure_reason"]
