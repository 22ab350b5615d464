"""MACE backend in .venv-mace: a tiny foundation from scratch, multi-head and naive fine-tunes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from mace_helpers import HAS_MACE, NO_MACE, TINY, emt_configs, split

from ionflow.core.errors import IonflowInputError
from ionflow.core.training import MACEFineTuneSettings, get_backend

pytestmark = [pytest.mark.mace, pytest.mark.skipif(not HAS_MACE, reason=NO_MACE)]


def test_foundation_from_scratch(foundation):
    result = foundation["result"]
    assert result.backend == "mace"
    assert result.model_spec == f"mace:{result.checkpoint}"
    assert result.checkpoint.is_file()
    assert result.checkpoint.is_absolute()
    assert result.epochs_run == 8 == len(result.history["train_loss"])
    assert 0 <= result.best_epoch < 8
    assert result.history["val_loss"][result.best_epoch] == min(result.history["val_loss"])
    assert set(result.metrics) == {"train", "val", "test"}
    for split_metrics in result.metrics.values():
        assert set(split_metrics) == {"energy_eV_atom", "forces_eV_A", "stress_GPa"}
        assert all(np.isfinite(v) and v >= 0 for v in split_metrics.values())
    assert not any(k.startswith("pt_head") for k in result.history)  # one head
    assert result.curve_png is not None
    assert result.curve_png.is_file()
    # training moved the loss (the results file's curve, not a copy of one number)
    assert min(result.history["val_loss"]) < result.history["val_loss"][0]


def test_multihead_finetune_trains_two_heads(multihead, foundation):
    """The replay head (pt_head) is trained next to the new one (two heads in MACE's files)."""
    assert multihead["backend"] == "mace"
    assert multihead["model_spec"] == f"mace:{multihead['checkpoint']}"
    assert multihead["epochs_run"] == 4
    assert "replay_val" in multihead["metrics"]  # the foundation head's validation MAEs
    assert multihead["metrics"]["replay_val"]["forces_eV_A"] > 0
    from pathlib import Path

    work = Path(multihead["checkpoint"]).parent
    info = json.loads((work / "ionflow_mace.json").read_text())
    assert info["mode"] == "multihead"
    assert info["heads"] == ["Default", "pt_head"]
    assert info["settings"]["learning_rate"] == 0.01  # deng2025, not MACE's forced 1e-4
    assert info["settings"]["patience"] == 20
    rows = [json.loads(line) for f in (work / "results").glob("*_train.txt") for line in
            f.read_text().splitlines()]  # fmt: skip
    assert {r["head"] for r in rows if r.get("mode") == "eval"} == {"Default", "pt_head"}
    log = (work / "mace_train.log").read_text()
    assert "Learning rate: 0.01" in log  # --force_mh_ft_lr=True took effect
    assert "UniversalLoss" in log or "Loss" in log


def test_naive_finetune_has_one_head(foundation, tmp_path):
    train, val, test = split(emt_configs(10, ["Cu", "Ni"], seed=4))
    settings = MACEFineTuneSettings(
        mode="naive", foundation=str(foundation["model"]), epochs=1, seed=0,
        batch_size=TINY["batch_size"], targets="ef",
    )  # fmt: skip
    result = get_backend("mace").train(train, val, test, settings, tmp_path)
    assert result.epochs_run == 1
    assert not any(k.startswith("pt_head") for k in result.history)
    assert "replay_val" not in result.metrics
    assert "stress_GPa" not in result.metrics["val"]  # targets "ef"
    info = json.loads((tmp_path / "ionflow_mace.json").read_text())
    assert info["heads"] == ["Default"]


def test_foundation_must_cover_every_element(foundation, tmp_path):
    train, val, test = split(emt_configs(10, ["Cu", "Au"], seed=5))
    settings = MACEFineTuneSettings(
        foundation=str(foundation["model"]), replay=str(foundation["replay"]), epochs=1
    )
    with pytest.raises(IonflowInputError, match="does not cover Au"):
        get_backend("mace").train(train, val, test, settings, tmp_path)
    assert not (tmp_path / "mace_train.log").exists()  # refused before training


def test_a_file_that_is_not_a_mace_model_is_refused(tmp_path, foundation):
    bad = tmp_path / "bad.model"
    bad.write_bytes(b"nonsense")
    train, val, test = split(emt_configs(10, ["Cu"], seed=6))
    settings = MACEFineTuneSettings(mode="naive", foundation=str(bad), epochs=1)
    with pytest.raises(IonflowInputError, match="cannot read"):
        get_backend("mace").train(train, val, test, settings, tmp_path / "out")
