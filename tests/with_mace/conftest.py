"""Tiny MACE models built here from scratch in seconds (run in .venv-mace: scripts/test_mace.sh).

The foundation is trained on EMT-labelled Cu/Al/Ni cells; its training file is the replay set
of the multi-head fine-tune. Every MACE run happens in a subprocess (the backend's own), so the
test process never imports mace by accident.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mace_helpers import HAS_MACE, NO_MACE, TINY, emt_configs, run_cli, split


@pytest.fixture(scope="session")
def mace_work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mace")


@pytest.fixture(scope="session")
def foundation(mace_work):
    """A tiny Cu/Al/Ni MACE foundation trained from scratch, and its training file."""
    if not HAS_MACE:
        pytest.skip(NO_MACE)
    from ionflow.core.training import MACEFineTuneSettings, get_backend, write_extxyz

    configs = emt_configs(30, ["Cu", "Al", "Ni"], seed=1) + emt_configs(
        6, ["Cu"], seed=2, vacancy=True
    )
    train, val, test = split(configs)
    replay = mace_work / "foundation_train.extxyz"
    write_extxyz(train, replay)
    settings = MACEFineTuneSettings(epochs=8, seed=1, **TINY)
    result = get_backend("mace").train(train, val, test, settings, mace_work / "foundation")
    return {"result": result, "model": result.checkpoint, "replay": replay}


@pytest.fixture(scope="session")
def multihead(foundation, mace_work):
    """``ionflow finetune --backend mace`` multi-head fine-tune of the foundation (CLI, JSON)."""
    from ionflow.core.training import write_extxyz

    data = mace_work / "cu_ni.extxyz"
    write_extxyz(emt_configs(20, ["Cu", "Ni"], seed=3, vacancy=True), data)
    proc = run_cli(
        "finetune", str(data), "--backend", "mace", "--foundation", str(foundation["model"]),
        "--replay", str(foundation["replay"]), "--epochs", "4", "--batch-size", "5",
        "--model-dir", str(mace_work / "models"), "--json", cwd=mace_work,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)
