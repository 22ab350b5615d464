"""Helpers of the MACE tests: EMT-labelled data, the tiny architecture, the CLI in a subprocess."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path


def _installed(dist: str) -> bool:
    """Whether ``dist`` is installed, without importing it (``import mace`` changes torch)."""
    try:
        importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


HAS_MACE = _installed("mace-torch")
NO_MACE = "mace-torch is not installed here (it runs in .venv-mace: bash scripts/test_mace.sh)"

#: The tiny architecture: 8 channels, max_L 0 (DESIGN.md: ~30 s to train here).
TINY = {"num_channels": 8, "max_L": 0, "r_max": 4.0, "correlation": 2, "batch_size": 5}


def emt_configs(n: int, elements: list[str], seed: int, vacancy: bool = False) -> list:
    """``n`` rattled, strained 8-atom fcc cells of random ``elements``, labelled by EMT."""
    from ionflow.core.training.synthetic import emt_alloy_configs

    return emt_alloy_configs(n, elements, seed, vacancy=vacancy)


def split(configs: list) -> tuple[list, list, list]:
    """80/10/10 (at least one validation and one test configuration)."""
    n_val = max(1, len(configs) // 10)
    return configs[: -2 * n_val], configs[-2 * n_val : -n_val], configs[-n_val:]


def run_cli(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """``ionflow ARGS`` in a subprocess of this interpreter, with its own store."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "IONFLOW_STORE_DIR": str(cwd / "store"),
        "IONFLOW_USE_JOBFLOW_STORE": "never",
        "IONFLOW_CONFIG_FILE": str(cwd / "no-ionflow.yaml"),
        "IONFLOW_CHECKPOINT_DIR": str(cwd / "checkpoints"),
    }
    cmd = [sys.executable, "-m", "ionflow.cli.main", *args]
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
