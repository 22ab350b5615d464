"""The model registry: each model spec loaded once per process and shared.

:func:`get_evaluator` maps a model spec (:mod:`ionflow.mlip.spec`) to the backend that loads
it (:mod:`ionflow.mlip.chgnet`, :mod:`ionflow.mlip.calculator`) and caches the loaded
:class:`~ionflow.mlip.base.Evaluator`, so every NEB image, MD step and job of a process shares
one model (never a deep copy per image). :func:`check_model_spec` does the checks that need no
model load, for failing early (e.g. when a Maker or the CLI reads a spec).

The classes of :mod:`ionflow.mlip.base` and of the backends are re-exported here.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ionflow.errors import IonflowInputError
from ionflow.mlip.base import (
    Evaluator,
    IonflowCalculator,
    ModelLoadError,
    Prediction,
    resolve_device,
)
from ionflow.mlip.calculator import (
    MACE_MISSING,
    SEVENNET_MISSING,
    CalculatorEvaluator,
    load_calculator,
    load_mace,
    load_sevennet,
)
from ionflow.mlip.chgnet import CHGNET_MISSING, CHGNetEvaluator
from ionflow.mlip.spec import ModelSpec, parse_model_spec

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "CHGNetEvaluator",
    "CalculatorEvaluator",
    "Evaluator",
    "IonflowCalculator",
    "ModelLoadError",
    "Prediction",
    "check_model_spec",
    "clear_model_cache",
    "get_calculator",
    "get_evaluator",
    "resolve_device",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Backend:
    """How a backend loads a spec, and which package it needs (``None``: the spec's module)."""

    load: Callable[[ModelSpec], Evaluator]
    package: str | None = None
    missing: str = ""


_BACKENDS = {
    "chgnet": _Backend(CHGNetEvaluator, "chgnet", CHGNET_MISSING),
    "sevennet": _Backend(load_sevennet, "sevenn", SEVENNET_MISSING),
    "mace": _Backend(load_mace, "mace", MACE_MISSING),
    "calculator": _Backend(load_calculator),
}
_CACHE: dict[ModelSpec, Evaluator] = {}
_CACHE_LOCK = threading.Lock()


def check_model_spec(spec: str | dict | ModelSpec | None) -> ModelSpec:
    """Check what can be checked about ``spec`` without loading the model.

    The spec parses; its checkpoint / model file (if any) exists and is a file; the backend's
    package (for an ASE calculator factory: the top-level package of its module) is
    importable. Nothing is imported or loaded.

    Parameters
    ----------
    spec
        Any model spec :func:`~ionflow.mlip.spec.parse_model_spec` accepts (``None``: the
        ``DEFAULT_MODEL`` setting).

    Returns
    -------
    ModelSpec
        The parsed spec.

    Raises
    ------
    ModelLoadError
        Naming every problem found (an :class:`~ionflow.errors.IonflowInputError`).

    Examples
    --------
    >>> check_model_spec("chgnet").backend
    'chgnet'
    >>> check_model_spec("chgnet:/nope.pth.tar")
    Traceback (most recent call last):
    ...
    ionflow.mlip.base.ModelLoadError: model checkpoint /nope.pth.tar does not exist
    """
    try:
        parsed = parse_model_spec(spec)
    except IonflowInputError as exc:
        raise ModelLoadError(str(exc)) from exc
    problems = [p for p in (_checkpoint_problem(parsed), _package_problem(parsed)) if p]
    if problems:
        raise ModelLoadError("; ".join(problems))
    return parsed


def _checkpoint_problem(spec: ModelSpec) -> str | None:
    if not spec.checkpoint or spec.backend == "calculator":
        return None
    path = Path(spec.checkpoint)
    if not path.exists():
        return f"model checkpoint {spec.checkpoint} does not exist"
    if not path.is_file():
        return f"model checkpoint {spec.checkpoint} is not a file"
    if spec.backend == "chgnet":
        # read it now (weights_only, no model built) so that a corrupt or truncated file is
        # bad input named before any work, not a failure inside every job that loads it
        from ionflow.mlip.checkpoint import read_checkpoint

        try:
            read_checkpoint(path)
        except ModelLoadError as exc:
            return str(exc)
    return None


def _package_problem(spec: ModelSpec) -> str | None:
    backend = _BACKENDS[spec.backend]
    if backend.package is not None:
        return None if _importable(backend.package) else backend.missing
    top = str(spec.module).split(".")[0]
    if _importable(top):
        return None
    return f"Cannot import {spec.module!r} for the model spec: no module named {top!r}"


def _importable(package: str) -> bool:
    """Whether the top-level ``package`` can be found (without importing it)."""
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def get_evaluator(spec: str | dict | ModelSpec | None = None) -> Evaluator:
    """The process-wide evaluator for ``spec``, loading the model on first use only.

    Parameters
    ----------
    spec
        Any model spec (``None``: the ``DEFAULT_MODEL`` setting). A spec without a device
        is loaded on the ``DEVICE`` setting; specs that differ only in how they name the
        same device share one model.

    Returns
    -------
    Evaluator
        The shared evaluator.

    Raises
    ------
    ModelLoadError
        The model cannot be loaded; the message names the cause.
    """
    parsed = parse_model_spec(spec)
    key = replace(parsed, device=resolve_device(parsed.device))
    with _CACHE_LOCK:
        if key not in _CACHE:
            check_model_spec(key)
            logger.info("Loading model %s on %s", key.label, key.device)
            _CACHE[key] = _BACKENDS[key.backend].load(key)
        return _CACHE[key]


def get_calculator(spec: str | dict | ModelSpec | None = None) -> IonflowCalculator:
    """An ASE calculator over the shared evaluator of ``spec`` (energy + forces by default)."""
    return get_evaluator(spec).calculator()


def clear_model_cache() -> None:
    """Forget every loaded model (tests, or to free GPU memory)."""
    with _CACHE_LOCK:
        _CACHE.clear()
