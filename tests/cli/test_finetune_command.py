"""``ionflow finetune``: an extxyz dataset to a checkpoint every --model accepts; bad input."""

from __future__ import annotations

import json

import ase.io
import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator

from ionflow.cli.main import main

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture
def dataset(tmp_path):
    """Four rattled 4-atom Cu cells labelled by EMT, as extxyz."""
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(4):
        atoms = bulk("Cu", "fcc", a=3.61, cubic=True)
        atoms.positions += rng.normal(0, 0.05, atoms.positions.shape)
        atoms.calc = EMT()
        energy, forces, stress = (
            atoms.get_potential_energy(),
            atoms.get_forces(),
            atoms.get_stress(),
        )
        atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces, stress=stress)
        frames.append(atoms)
    path = tmp_path / "set.extxyz"
    ase.io.write(path, frames, format="extxyz")
    return path


@pytest.mark.slow
def test_finetune_prints_the_model_spec(dataset, store_dir, tmp_path, capsys):
    models = tmp_path / "models"
    args = ["--epochs", "1", "--batch-size", "2", "--model-dir", str(models), "--threads", "1"]
    code = main(["finetune", str(dataset), *args, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["model_spec"] == f"chgnet:{out['checkpoint']}"
    assert out["checkpoint"].startswith(str(models))
    assert out["epochs_run"] == 1
    assert out["n_configs"] == {"train": 2, "val": 1, "test": 1}
    assert set(out["metrics"]["test"]) == {"energy_eV_atom", "forces_eV_A", "stress_GPa"}


def test_bad_datasets_exit_2(tmp_path, store_dir, capsys):
    assert main(["finetune", str(tmp_path / "missing.extxyz")]) == 2
    assert "neither an extxyz file nor a stored uuid" in capsys.readouterr().err
    unlabelled = tmp_path / "bare.extxyz"
    ase.io.write(unlabelled, [bulk("Cu", "fcc", a=3.61)] * 3, format="extxyz")
    assert main(["finetune", str(unlabelled)]) == 2
    assert "no energy" in capsys.readouterr().err
    assert main(["finetune", "0e0e0e0e-0000-0000-0000-000000000000"]) == 2
    assert "no stored dataset" in capsys.readouterr().err
    assert main(["finetune", str(unlabelled), "--epochs", "0"]) == 2


def test_mace_refusals_exit_2_before_training(dataset, tmp_path, store_dir, capsys):
    """MACE input problems are caught before anything trains (no mace-torch needed)."""
    foundation = tmp_path / "found.model"
    foundation.write_bytes(b"not read: the refusals come first")
    base = ["finetune", str(dataset), "--backend", "mace"]
    assert main([*base, "--foundation", str(foundation), "--mode", "multihead"]) == 2
    assert "silently falls back to naive" in capsys.readouterr().err
    assert main([*base, "--foundation", str(foundation)]) == 2  # auto -> multihead
    assert "replay" in capsys.readouterr().err
    assert main([*base, "--foundation", "medium", "--replay", str(dataset)]) == 2
    assert "downloading" in capsys.readouterr().err
    assert main([*base, "--foundation", str(foundation), "--replay", "mp"]) == 2
    assert "downloading" in capsys.readouterr().err
    missing = tmp_path / "missing.model"
    assert main([*base, "--foundation", str(missing), "--replay", str(dataset)]) == 2
    assert "not found" in capsys.readouterr().err
    assert main([*base, "--mode", "naive"]) == 2
    assert "needs a foundation" in capsys.readouterr().err
    assert main(["finetune", str(dataset), "--replay", str(dataset)]) == 2
    assert "MACE options" in capsys.readouterr().err


def test_mace_without_mace_torch_exits_2(dataset, tmp_path, store_dir, capsys, monkeypatch):
    """In an environment without mace-torch, the MACE backend says where MACE runs."""
    import importlib.metadata

    try:
        importlib.metadata.distribution("mace-torch")
        pytest.skip("mace-torch is installed here")
    except importlib.metadata.PackageNotFoundError:
        pass
    monkeypatch.delenv("IONFLOW_MACE_PYTHON", raising=False)
    assert main(["finetune", str(dataset), "--backend", "mace", "--epochs", "1"]) == 2
    assert "has no mace-torch" in capsys.readouterr().err
