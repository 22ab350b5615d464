"""Model layer: model specs, models loaded once per process, batched evaluation.

Modules, each importing only those listed before it (and :mod:`ionflow.errors`,
:mod:`ionflow.settings`):

- :mod:`~ionflow.mlip.spec`: model specs (:func:`parse_model_spec`, :class:`ModelSpec`);
- :mod:`~ionflow.mlip.base`: the :class:`Evaluator` interface, :class:`Prediction`, the ASE
  :class:`IonflowCalculator`, :func:`resolve_device`, :class:`ModelLoadError`;
- :mod:`~ionflow.mlip.chgnet_graph`, :mod:`~ionflow.mlip.chgnet_fast`,
  :mod:`~ionflow.mlip.chgnet`: the CHGNet backend and its fast energy+force path;
- :mod:`~ionflow.mlip.calculator`: any ASE calculator (SevenNet, MACE, a factory);
- :mod:`~ionflow.mlip.models`: the registry (:func:`get_evaluator`, :func:`get_calculator`,
  :func:`check_model_spec`, :func:`clear_model_cache`).
"""

from __future__ import annotations

from ionflow.mlip.models import (
    CalculatorEvaluator,
    CHGNetEvaluator,
    Evaluator,
    IonflowCalculator,
    ModelLoadError,
    Prediction,
    check_model_spec,
    clear_model_cache,
    get_calculator,
    get_evaluator,
    resolve_device,
)
from ionflow.mlip.spec import ModelSpec, parse_model_spec

__all__ = [
    "CHGNetEvaluator",
    "CalculatorEvaluator",
    "Evaluator",
    "IonflowCalculator",
    "ModelLoadError",
    "ModelSpec",
    "Prediction",
    "check_model_spec",
    "clear_model_cache",
    "get_calculator",
    "get_evaluator",
    "parse_model_spec",
    "resolve_device",
]
