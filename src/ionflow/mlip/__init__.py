"""Model layer: model specs, models loaded once per process, batched evaluation."""

from __future__ import annotations

from ionflow.mlip.models import (
    Evaluator,
    IonflowCalculator,
    ModelLoadError,
    Prediction,
    clear_model_cache,
    get_calculator,
    get_evaluator,
    resolve_device,
)
from ionflow.mlip.spec import ModelSpec, parse_model_spec

__all__ = [
    "Evaluator",
    "IonflowCalculator",
    "ModelLoadError",
    "ModelSpec",
    "Prediction",
    "clear_model_cache",
    "get_calculator",
    "get_evaluator",
    "parse_model_spec",
    "resolve_device",
]
