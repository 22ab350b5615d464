"""MD engine on the shared model layer: heating, optional NpT, NVT, guards, checkpoints."""

from __future__ import annotations

from ionflow.core.md.engine import (
    PHASES,
    MDResult,
    MDSettings,
    replica_settings,
    run_md,
)
from ionflow.core.md.forces import ForceEvaluationError, MDCalculator
from ionflow.core.md.integrators import BAROSTATS, THERMOSTATS

__all__ = [
    "BAROSTATS",
    "PHASES",
    "THERMOSTATS",
    "ForceEvaluationError",
    "MDCalculator",
    "MDResult",
    "MDSettings",
    "replica_settings",
    "run_md",
]
