"""Model specs: one way to name an MLIP everywhere in ionflow.

A model spec is one of

- a name: ``"chgnet"`` (pretrained CHGNet, weights ship in the chgnet wheel),
  ``"sevennet"`` / ``"sevennet-0"`` / ``"sevennet-l3i5"`` / ``"sevennet-mf-0"`` (weights ship in
  the sevenn wheel), ``"mace"`` (needs a model file: ``"mace:/path/to/model"``);
- ``"NAME:CHECKPOINT"``, e.g. ``"chgnet:/scratch/finetuned.pth.tar"`` for a fine-tuned model;
- a path to a checkpoint file (``*.pth.tar`` is read as CHGNet, ``*.model`` as MACE,
  ``*.pth`` as SevenNet);
- a dict ``{"@module": "pkg.mod", "@callable": "MyCalculator", "kwargs": {...}}`` naming any
  ASE calculator factory;
- a dict ``{"name": "chgnet", "checkpoint": "/path", "device": "cuda"}``;
- either dict written as a JSON string (handy on the command line);
- a :class:`ModelSpec`;
- ``None``: the ``DEFAULT_MODEL`` setting (``IONFLOW_DEFAULT_MODEL``; ``"chgnet"`` unless
  configured), itself any of the string forms above.

A spec without a device is loaded on the ``DEVICE`` setting (``IONFLOW_DEVICE``, ``"auto"``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ionflow.errors import IonflowInputError
from ionflow.settings import get_settings

#: Names understood without a checkpoint, mapped to the backend that loads them.
KNOWN_MODELS = {
    "chgnet": "chgnet",
    "sevennet": "sevennet",
    "sevennet-0": "sevennet",
    "7net-0": "sevennet",
    "sevennet-l3i5": "sevennet",
    "7net-l3i5": "sevennet",
    "sevennet-mf-0": "sevennet",
    "7net-mf-0": "sevennet",
    "mace": "mace",
}

_CHECKPOINT_SUFFIXES = {".tar": "chgnet", ".model": "mace", ".pth": "sevennet"}


@dataclass(frozen=True)
class ModelSpec:
    """A normalised model specification.

    Parameters
    ----------
    name
        Model family or pretrained model name (``"chgnet"``, ``"sevennet-0"``, ``"mace"``), or
        ``"calculator"`` for an arbitrary ASE calculator factory.
    checkpoint
        Path of a model file (fine-tuned CHGNet checkpoint, MACE model, SevenNet checkpoint).
    module, callable
        Import path of an ASE calculator factory when ``name == "calculator"``.
    kwargs
        Keyword arguments of the factory / backend, stored as a sorted JSON string so the
        spec is hashable and can key the per-process model cache.
    device
        ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``;
        ``None``: the ``DEVICE`` setting (``IONFLOW_DEVICE``), read when the model is loaded.
    """

    name: str
    checkpoint: str | None = None
    module: str | None = None
    callable: str | None = None
    kwargs_json: str = "{}"
    device: str | None = None

    @property
    def backend(self) -> str:
        """The loader family: ``chgnet``, ``sevennet``, ``mace`` or ``calculator``."""
        if self.name == "calculator":
            return "calculator"
        return KNOWN_MODELS[self.name]

    @property
    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the factory / backend (a fresh dict on every access)."""
        return json.loads(self.kwargs_json)

    @property
    def label(self) -> str:
        """A short human-readable name, e.g. ``chgnet`` or ``chgnet:finetuned.pth.tar``."""
        if self.name == "calculator":
            return f"{self.module}.{self.callable}"
        if self.checkpoint:
            return f"{self.name}:{Path(self.checkpoint).name}"
        return self.name

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form, accepted back by :func:`parse_model_spec`."""
        if self.name == "calculator":
            # not "@module"/"@callable": monty would decode that into the bare callable
            out: dict[str, Any] = {
                "name": "calculator",
                "module": self.module,
                "callable": self.callable,
                "kwargs": self.kwargs,
            }
        else:
            out = {"name": self.name}
            if self.checkpoint:
                out["checkpoint"] = self.checkpoint
            if self.kwargs:
                out["kwargs"] = self.kwargs
        if self.device is not None:
            out["device"] = self.device
        return out


def _normalise_name(name: str) -> str:
    key = name.strip().lower().replace("_", "-")
    if key not in KNOWN_MODELS:
        raise IonflowInputError(
            f"Unknown model {name!r}. Known names: {sorted(set(KNOWN_MODELS))}; or give a "
            "checkpoint path, 'NAME:PATH', or {'@module': ..., '@callable': ...} for any ASE "
            "calculator."
        )
    return key


def _checkpoint_backend(path: str) -> str:
    for suffix, backend in _CHECKPOINT_SUFFIXES.items():
        if path.endswith(suffix):
            return backend
    raise IonflowInputError(
        f"Cannot tell which model family the checkpoint {path!r} belongs to; "
        "write it as 'chgnet:PATH', 'mace:PATH' or 'sevennet:PATH'."
    )


def parse_model_spec(spec: str | dict | ModelSpec | None, device: str | None = None) -> ModelSpec:
    """Turn any accepted model description into a :class:`ModelSpec`.

    Parameters
    ----------
    spec
        See the module docstring. ``None`` means the ``DEFAULT_MODEL`` setting
        (``IONFLOW_DEFAULT_MODEL``, pretrained CHGNet unless configured otherwise).
    device
        Overrides the device of the spec when given.

    Returns
    -------
    ModelSpec
        The normalised spec (hashable: it keys the per-process model cache).
    """
    if spec is None:
        return _default_model_spec(device)
    spec = _coerce(spec)
    if isinstance(spec, ModelSpec):
        out = spec
    elif isinstance(spec, str):
        out = _from_string(spec)
    elif isinstance(spec, dict):
        out = _from_dict(spec)
    else:
        raise IonflowInputError(f"Cannot read a model spec from {type(spec).__name__}: {spec!r}")
    _validate(out)
    if device is not None:
        out = replace(out, device=device)
    return out


def is_valid_device(device: object) -> bool:
    """Whether ``device`` is ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``."""
    return isinstance(device, str) and (
        device in ("auto", "cpu", "cuda") or device.startswith("cuda:")
    )


def _default_model_spec(device: str | None) -> ModelSpec:
    """The spec of the ``DEFAULT_MODEL`` setting; an error names the setting."""
    text = get_settings().DEFAULT_MODEL
    try:
        return parse_model_spec(text, device)
    except IonflowInputError as exc:
        raise IonflowInputError(
            f"The DEFAULT_MODEL setting (IONFLOW_DEFAULT_MODEL={text!r}) is not a usable model "
            f"spec: {exc}"
        ) from exc


def _coerce(spec: Any) -> Any:
    """JSON strings, calculator callables and ``name: calculator`` dicts as plain forms."""
    if isinstance(spec, str) and spec.strip().startswith("{"):
        try:
            spec = json.loads(spec)
        except json.JSONDecodeError as exc:
            raise IonflowInputError(f"Model spec looks like JSON but is not: {exc}") from exc
    if callable(spec) and not isinstance(spec, ModelSpec):
        # a calculator class or factory (what monty makes of an {"@module", "@callable"} dict)
        spec = {"@module": spec.__module__, "@callable": spec.__qualname__}
    if isinstance(spec, dict) and spec.get("name") == "calculator":
        spec = {
            "@module": spec.get("module"),
            "@callable": spec.get("callable"),
            "kwargs": spec.get("kwargs", {}),
            "device": spec.get("device"),
        }
    return spec


def _from_string(spec: str) -> ModelSpec:
    """``NAME``, ``NAME:CHECKPOINT`` or a checkpoint path."""
    text = spec.strip()
    name, sep, ckpt = text.partition(":")
    if sep and name.lower().replace("_", "-") in KNOWN_MODELS:
        return ModelSpec(name=_normalise_name(name), checkpoint=str(Path(ckpt).expanduser()))
    if Path(text).suffix and ("/" in text or Path(text).exists()):
        return ModelSpec(name=_checkpoint_backend(text), checkpoint=str(Path(text).expanduser()))
    return ModelSpec(name=_normalise_name(text))


def _from_dict(spec: dict[str, Any]) -> ModelSpec:
    """``{"@module", "@callable", "kwargs", "device"}`` or ``{"name", "checkpoint", ...}``."""
    kwargs = spec.get("kwargs", {}) or {}
    if not isinstance(kwargs, dict):
        raise IonflowInputError(f"Model spec 'kwargs' must be a dict, got {kwargs!r}")
    kwargs_json = json.dumps(kwargs, sort_keys=True, default=str)
    dev = spec.get("device")
    if "@module" in spec or "@callable" in spec:
        if not spec.get("@module") or not spec.get("@callable"):
            raise IonflowInputError(
                f"A calculator model spec needs both '@module' and '@callable', got {spec!r}"
            )
        return ModelSpec(
            name="calculator",
            module=spec["@module"],
            callable=spec["@callable"],
            kwargs_json=kwargs_json,
            device=dev,
        )
    if "name" in spec:
        return ModelSpec(
            name=_normalise_name(spec["name"]),
            checkpoint=spec.get("checkpoint"),
            kwargs_json=kwargs_json,
            device=dev,
        )
    raise IonflowInputError(
        f"A model spec dict needs 'name' or '@module'/'@callable', got keys {sorted(spec)}"
    )


def _validate(spec: ModelSpec) -> None:
    """Checks every parsed spec passes: MACE names a file, the device is known."""
    if spec.name == "mace" and not spec.checkpoint:
        raise IonflowInputError(
            "MACE needs a model file: 'mace:/path/to/model' (mace_mp() downloads its weights, "
            "which ionflow never does at run time)."
        )
    if spec.device is not None and not is_valid_device(spec.device):
        raise IonflowInputError(f"device must be 'auto', 'cpu' or 'cuda', got {spec.device!r}")
