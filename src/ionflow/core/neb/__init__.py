"""Climbing-image NEB on a shared MLIP evaluator (see :mod:`ionflow.core.neb.engine`)."""

from __future__ import annotations

from ionflow.core.neb.band import BatchedNEB, run_neb_band
from ionflow.core.neb.checkpoint import BandCheckpoint, CheckpointWriter
from ionflow.core.neb.endpoints import (
    EndpointMatch,
    check_endpoints,
    detect_moving_index,
    match_endpoints,
    unwrap_final,
)
from ionflow.core.neb.engine import run_neb
from ionflow.core.neb.progress import BandProgress
from ionflow.core.neb.relax import max_atomic_force, relax_fixed_cell
from ionflow.core.neb.result import NebResult, RelaxResult
from ionflow.core.neb.settings import OPTIMIZERS, NebSettings, make_optimizer

__all__ = [
    "OPTIMIZERS",
    "BandCheckpoint",
    "BandProgress",
    "BatchedNEB",
    "CheckpointWriter",
    "EndpointMatch",
    "NebResult",
    "NebSettings",
    "RelaxResult",
    "check_endpoints",
    "detect_moving_index",
    "make_optimizer",
    "match_endpoints",
    "max_atomic_force",
    "relax_fixed_cell",
    "run_neb",
    "run_neb_band",
    "unwrap_final",
]
