"""``ionflow submit screen|conductivity`` (ionflow.cli.submit) on an in-memory LaunchPad."""

from __future__ import annotations

import argparse
import io
import json

import pytest

import ionflow.fireworks
from ionflow.cli import submit as submit_cli
from ionflow.errors import IonflowInputError
from test_fireworks import FakeLaunchPad

EMT = '{"@module": "ase.calculators.emt", "@callable": "EMT"}'


def submit(*argv: str) -> dict:
    parser = argparse.ArgumentParser()
    submit_cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["submit", *argv])
    args.stdout = io.StringIO()
    assert args.run(args) == 0
    text = args.stdout.getvalue()
    return json.loads(text) if "--json" in argv else {"text": text}


@pytest.fixture
def launchpad(monkeypatch, store_dir):
    lp = FakeLaunchPad()
    monkeypatch.setattr(ionflow.fireworks, "load_launchpad", lambda path=None: lp)
    return lp


def test_submit_screen_once_then_force(launchpad, cu_fcc, tmp_path):
    cif = tmp_path / "Cu.cif"
    cu_fcc.to(filename=str(cif))
    argv = ["screen", str(cif), "--species", "Cu", "--supercell-min", "7", "--model", EMT]
    first = submit(*argv, "--json")
    assert first["submitted"]
    assert first["fw_ids"] == [1, 2]
    assert first["name"] == "hop screen"
    again = submit(*argv)
    assert "not submitted, already there" in again["text"]
    assert "--force" in again["text"]
    assert len(launchpad.added) == 1
    assert submit(*argv, "--force", "--json")["submitted"]
    assert submit(*argv, "--fmax", "0.03", "--fworker", "clusterA", "--json")["submitted"]
    specs = [fw["spec"] for fw in launchpad.added[-1].to_dict()["fws"]]
    assert {s["_fworker"] for s in specs} == {"clusterA"}


def test_submit_conductivity_routes_md_to_gpu(launchpad, li2o_primitive, tmp_path):
    cif = tmp_path / "Li2O.cif"
    li2o_primitive.to(filename=str(cif))
    out = submit("conductivity", str(cif), "--temperatures", "600", "800", "--runs", "2",
                 "--time-ps", "0.1", "--supercell-min", "0", "--model", EMT, "--json")  # fmt: skip
    assert out["submitted"]
    fws = launchpad.added[0].to_dict()["fws"]
    cats = {fw["name"]: fw["spec"]["_category"] for fw in fws}
    assert len(fws) == 4 + 2 + 1
    assert {c for n, c in cats.items() if n.startswith("mlip md")} == {"gpu"}
    assert {c for n, c in cats.items() if not n.startswith("mlip md")} == {"cpu"}


def test_bad_structure_is_an_input_error(launchpad, tmp_path):
    with pytest.raises((IonflowInputError, FileNotFoundError)):
        submit("screen", str(tmp_path / "missing.cif"))
    assert launchpad.added == []


def _dataset(path, cu_fcc, n=4, shift=0.0):
    from ase.calculators.emt import EMT
    from ase.calculators.singlepoint import SinglePointCalculator
    from pymatgen.io.ase import AseAtomsAdaptor

    from ionflow.core.training.extxyz import write_extxyz

    configs = []
    for i in range(n):
        atoms = AseAtomsAdaptor.get_atoms(cu_fcc)
        atoms.rattle(0.02, seed=i)
        atoms.positions[0, 0] += shift
        atoms.calc = EMT()
        e, f, s = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
        atoms.calc = SinglePointCalculator(atoms, energy=e, forces=f, stress=s)
        configs.append(atoms)
    write_extxyz(configs, path)
    return path


def test_submit_finetune_is_a_gpu_job_deduplicated_on_the_file_content(launchpad, cu_fcc, tmp_path):
    data = _dataset(tmp_path / "labels.extxyz", cu_fcc)
    first = submit("finetune", str(data), "--epochs", "3", "--json")
    assert first["submitted"]
    (fw,) = launchpad.added[0].to_dict()["fws"]
    assert fw["spec"]["_category"] == "gpu"
    assert not submit("finetune", str(data), "--epochs", "3", "--json")["submitted"]
    _dataset(data, cu_fcc, shift=0.05)  # same path, other labels: another computation
    assert submit("finetune", str(data), "--epochs", "3", "--json")["submitted"]
    with pytest.raises(FileNotFoundError):
        submit("finetune", str(tmp_path / "missing.extxyz"))
