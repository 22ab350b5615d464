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
- a :class:`ModelSpec`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ionflow.core.errors import IonflowInputError

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
        ``"auto"`` (CUDA if available, else CPU), ``"cpu"`` or ``"cuda"``.
    """

    name: str = "chgnet"
    checkpoint: str | None = None
    module: str | None = None
    callable: str | None = None
    kwargs_json: str = "{}"
    device: str = "auto"

    @property
    def backend(self) -> str:
        """The loader family: ``chgnet``, ``sevennet``, ``mace`` or ``calculator``."""
        if self.name == "calculator":
            return "calculator"
        return KNOWN_MODELS[self.name]

    @property
    def kwargs(self) -> dict[str, Any]:
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
            return {
                "name": "calculator",
                "module": self.module,
                "callable": self.callable,
                "kwargs": self.kwargs,
                "device": self.device,
            }
        out: dict[str, Any] = {"name": self.name, "device": self.device}
        if self.checkpoint:
            out["checkpoint"] = self.checkpoint
        if self.kwargs:
            out["kwargs"] = self.kwargs
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
        See the module docstring. ``None`` means the default (pretrained CHGNet).
    device
        Overrides the device of the spec when given.
    """
    if spec is None:
        spec = "chgnet"
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
            "device": spec.get("device", "auto"),
        }
    if isinstance(spec, ModelSpec):
        out = spec
    elif isinstance(spec, str):
        text = spec.strip()
        name, sep, ckpt = text.partition(":")
        if sep and name.lower().replace("_", "-") in KNOWN_MODELS:
            out = ModelSpec(name=_normalise_name(name), checkpoint=str(Path(ckpt).expanduser()))
        elif Path(text).suffix and ("/" in text or Path(text).exists()):
            out = ModelSpec(name=_checkpoint_backend(text), checkpoint=str(Path(text).expanduser()))
        else:
            out = ModelSpec(name=_normalise_name(text))
    elif isinstance(spec, dict):
        kwargs = spec.get("kwargs", {}) or {}
        if not isinstance(kwargs, dict):
            raise IonflowInputError(f"Model spec 'kwargs' must be a dict, got {kwargs!r}")
        dev = spec.get("device", "auto")
        if "@module" in spec or "@callable" in spec:
            if not spec.get("@module") or not spec.get("@callable"):
                raise IonflowInputError(
                    f"A calculator model spec needs both '@module' and '@callable', got {spec!r}"
                )
            out = ModelSpec(
                name="calculator",
                module=spec["@module"],
                callable=spec["@callable"],
                kwargs_json=json.dumps(kwargs, sort_keys=True, default=str),
                device=dev,
            )
        elif "name" in spec:
            out = ModelSpec(
                name=_normalise_name(spec["name"]),
                checkpoint=spec.get("checkpoint"),
                kwargs_json=json.dumps(kwargs, sort_keys=True, default=str),
                device=dev,
            )
        else:
            raise IonflowInputError(
                f"A model spec dict needs 'name' or '@module'/'@callable', got keys {sorted(spec)}"
            )
    else:
        raise IonflowInputError(f"Cannot read a model spec from {type(spec).__name__}: {spec!r}")

    if out.name == "mace" and not out.checkpoint:
        raise IonflowInputError(
            "MACE needs a model file: 'mace:/path/to/model' (mace_mp() downloads its weights, "
            "which ionflow never does at run time)."
        )
    if out.device not in ("auto", "cpu", "cuda") and not out.device.startswith("cuda:"):
        raise IonflowInputError(f"device must be 'auto', 'cpu' or 'cuda', got {out.device!r}")
    if device is not None:
        out = ModelSpec(
            name=out.name,
            checkpoint=out.checkpoint,
            module=out.module,
            callable=out.callable,
            kwargs_json=out.kwargs_json,
            device=device,
        )
    return out
