"""``ionflow results models``: fine-tuned models with metrics and provenance; bad input keeps them.

The stored model is a FineTuneDoc written by a plain job (no training): these tests are about
the listing and about what bad commands leave in the store.
"""

from __future__ import annotations

import csv
import io
import json

import ase.io
import pytest
from ase.build import bulk
from jobflow import job, run_locally

from ionflow.cli.main import main
from ionflow.schemas.training import FineTuneDoc

EMT = '{"@module": "ase.calculators.emt", "@callable": "EMT"}'


@job(output_schema=FineTuneDoc)
def _stored_model(checkpoint: str) -> FineTuneDoc:
    return FineTuneDoc(
        backend="chgnet",
        model_spec=f"chgnet:{checkpoint}",
        checkpoint=checkpoint,
        base_model="chgnet",
        metrics={
            split: {"energy_eV_atom": e, "forces_eV_A": 0.05, "stress_GPa": 0.2}
            for split, e in (("train", 0.004), ("val", 0.006), ("test", 0.007))
        },
        best_epoch=3,
        epochs_run=5,
        stopped_early=False,
        curve_png="/runs/curve.png",
        n_configs={"train": 40, "val": 5, "test": 5},
        dataset_version="abcdef0123456789",
        provenance={
            "labellers": ["sevennet-0"],
            "jobs": ["neb-uuid-1", "neb-uuid-2"],
            "split_indices": {"train": [0], "val": [1], "test": [2]},
        },
    )


@pytest.fixture
def stored(store_dir, tmp_path):
    """The default store with one fine-tuned model; returns its uuid and checkpoint."""
    from ionflow.store import get_store

    checkpoint = str(tmp_path / "ft.pth.tar")
    model_job = _stored_model(checkpoint)
    run_locally(model_job, store=get_store(), log=False, ensure_success=True)
    return model_job.uuid, checkpoint


def _count() -> int:
    from ionflow.store import get_store

    store = get_store()
    store.connect()
    return store.count()


def test_models_are_listed_with_metrics_and_provenance(stored, capsys):
    uuid, checkpoint = stored
    assert main(["results", "models", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_results"] == 1
    (row,) = out["results"]
    assert row["uuid"] == uuid
    assert row["model_spec"] == f"chgnet:{checkpoint}"
    assert row["test_energy_eV_atom"] == 0.007
    assert row["val_forces_eV_A"] == 0.05
    assert (row["n_train"], row["n_val"], row["n_test"]) == (40, 5, 5)
    assert row["labellers"] == ["sevennet-0"]
    assert row["source_jobs"] == ["neb-uuid-1", "neb-uuid-2"]
    assert row["dataset_version"] == "abcdef0123456789"
    assert row["curve_png"] == "/runs/curve.png"

    assert main(["results", "models", "--csv"]) == 0
    (csv_row,) = csv.DictReader(io.StringIO(capsys.readouterr().out))
    assert csv_row["test_stress_GPa"] == "0.2"
    assert csv_row["labellers"] == "['sevennet-0']"

    assert main(["results", "models"]) == 0
    table = capsys.readouterr().out
    assert f"chgnet:{checkpoint}" in table
    header = table.splitlines()[0].split()
    assert {"test_energy_eV_atom", "n_train", "labellers"} <= set(header)  # metrics on screen
    assert "1 models" in table

    assert main(["results", "models", "--model", "sevennet", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_results"] == 0


def test_bad_input_gives_a_clear_error_and_keeps_the_store(stored, tmp_path, capsys):
    uuid, _ = stored
    before = _count()
    empty = tmp_path / "empty.extxyz"
    empty.write_text("")
    unlabelled = tmp_path / "bare.extxyz"
    ase.io.write(unlabelled, [bulk("Cu", "fcc", a=3.61, cubic=True)] * 3, format="extxyz")
    corrupt = tmp_path / "corrupt.pth.tar"
    corrupt.write_bytes(b"\x00 not a torch checkpoint")
    missing = tmp_path / "missing.pth.tar"
    cif = tmp_path / "cu.cif"
    from pymatgen.core import Lattice, Structure

    Structure.from_spacegroup("Fm-3m", Lattice.cubic(3.61), ["Cu"], [[0, 0, 0]]).to(
        filename=str(cif)
    )
    screen = ["screen", str(cif), "--species", "Cu", "--supercell-min", "3"]
    discover = ["discover", str(cif), "--species", "Cu", "--supercell-min", "3"]
    cases = {
        "empty dataset": (["finetune", str(empty)], "empty"),
        "unlabelled dataset": (["finetune", str(unlabelled)], "no energy"),
        "missing checkpoint (screen)": ([*screen, "--model", f"chgnet:{missing}"], missing.name),
        "corrupt checkpoint (screen)": ([*screen, "--model", f"chgnet:{corrupt}"], corrupt.name),
        "missing checkpoint (teacher)": (
            ["label", str(cif), "--labeller", f"chgnet:{missing}"],
            missing.name,
        ),
        "corrupt checkpoint (teacher)": (
            ["label", str(cif), "--labeller", f"chgnet:{corrupt}"],
            corrupt.name,
        ),
        "corrupt checkpoint (student)": (
            [*discover, "--labeller", EMT, "--model", f"chgnet:{corrupt}"],
            corrupt.name,
        ),
    }
    for name, (args, needle) in cases.items():
        assert main(args) == 2, name
        err = capsys.readouterr().err
        assert "error" in err, name
        assert needle in err, name
    # nothing was added, nothing was lost: the model is still listed
    assert _count() == before
    assert main(["results", "models", "--json"]) == 0
    assert [r["uuid"] for r in json.loads(capsys.readouterr().out)["results"]] == [uuid]
