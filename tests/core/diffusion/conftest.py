"""Fixtures of the diffusion tests: the shared reference data written by others."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[3]
LGPS_NAME = "benchmarks/pmg_diffusion_lgps_600K.json"


def shared_dir() -> Path:
    """``$IONFLOW_SHARED_DIR`` or ``<repo>/../shared``."""
    return Path(os.environ.get("IONFLOW_SHARED_DIR", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def lgps() -> dict:
    """pymatgen-analysis-diffusion's LGPS 600 K test set, split into what ionflow needs."""
    path = shared_dir() / LGPS_NAME
    if not path.is_file():
        pytest.skip(
            f"shared reference data not found at {path} (set IONFLOW_SHARED_DIR to the folder "
            "holding benchmarks/pmg_diffusion_lgps_600K.json)"
        )
    from pymatgen.core import Structure

    raw = json.loads(path.read_text())
    structure = Structure.from_dict(raw["structure"])
    disp = np.asarray(raw["displacements"], dtype=np.float64)  # (n_sites, n_frames, 3)
    positions = (structure.cart_coords[:, None, :] + disp).transpose(1, 0, 2)
    is_mobile = np.array([site.specie.symbol == raw["specie"] for site in structure])
    return {
        "raw": raw,
        "structure": structure,
        "mobile": positions[:, is_mobile],
        "framework": positions[:, ~is_mobile],
        "timestep_fs": float(raw["time_step"] * raw["step_skip"]),
        "temperature": float(raw["temperature"]),
        "n_mobile": int(is_mobile.sum()),
        "volume": float(structure.volume),
    }
