"""Load each model once per process and evaluate many structures with it.

An :class:`Evaluator` owns one loaded model and computes energies and forces (stress only when
asked) for a list of ASE ``Atoms``. CHGNet evaluates the whole list as one batched graph call
with only the energy and force heads (its ASE calculator always computes stress and magnetic
moments too, which roughly doubles the cost). Other models are evaluated through their ASE
calculator, shared by every image and job of the process (never deep-copied per image).
"""

from __future__ import annotations

import importlib
import logging
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

from ionflow.core.errors import IonflowError, IonflowInputError
from ionflow.mlip.spec import ModelSpec, parse_model_spec

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ase import Atoms

logger = logging.getLogger(__name__)

#: eV/Å^3 per GPa
_GPA = 1.0 / 160.21766208


class ModelLoadError(IonflowError):
    """A model could not be loaded (missing package, missing file, bad checkpoint)."""


def resolve_device(device: str = "auto") -> str:
    """``"auto"`` -> ``"cuda"`` when a CUDA device is visible, else ``"cpu"``."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class Prediction:
    """Energy (eV), forces (eV/Å, shape (n, 3)) and optionally stress (eV/Å^3, Voigt 6)."""

    energy: float
    forces: np.ndarray
    stress: np.ndarray | None = None


class Evaluator(ABC):
    """One loaded model; evaluates lists of structures.

    Attributes
    ----------
    spec
        The model spec it was loaded from.
    device
        The resolved torch device.
    n_evaluations
        Number of single-structure evaluations done so far (a "force call" each).
    """

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.device = resolve_device(spec.device)
        self.n_evaluations = 0
        self._lock = threading.Lock()

    @abstractmethod
    def _evaluate(self, atoms_list: Sequence[Atoms], stress: bool, fast: bool) -> list[Prediction]:
        """Backend-specific evaluation."""

    def evaluate(
        self, atoms_list: Sequence[Atoms], *, stress: bool = False, fast: bool = True
    ) -> list[Prediction]:
        """Energies and forces (and stress when asked) of every structure in ``atoms_list``.

        ``fast=False`` makes a backend with a fast path (CHGNet) use its reference path.
        """
        if not atoms_list:
            return []
        with self._lock:
            out = self._evaluate(list(atoms_list), stress, fast)
            self.n_evaluations += len(atoms_list)
        for atoms, pred in zip(atoms_list, out):
            if not np.isfinite(pred.energy) or not np.all(np.isfinite(pred.forces)):
                logger.warning("Non-finite energy or forces for %s", atoms.get_chemical_formula())
        return out

    def calculator(self) -> IonflowCalculator:
        """An ASE calculator backed by this (shared) evaluator."""
        return IonflowCalculator(self)


class CHGNetEvaluator(Evaluator):
    """Batched CHGNet: graphs of all structures in one ``predict_graph`` call.

    ``batch_size`` None means 16 structures per batch on a GPU and 1 on a CPU: on CPU a batch of
    five 95-atom images measured 2-4x slower than five single calls (2 cores, torch 2.13).
    """

    def __init__(self, spec: ModelSpec, batch_size: int | None = None) -> None:
        super().__init__(spec)
        try:
            from chgnet.model import CHGNet
        except ImportError as exc:  # pragma: no cover - chgnet is a core dependency
            raise ModelLoadError("CHGNet is not installed: pip install chgnet") from exc
        if spec.checkpoint:
            try:
                model = CHGNet.from_file(spec.checkpoint)
            except FileNotFoundError as exc:
                raise ModelLoadError(f"CHGNet checkpoint not found: {spec.checkpoint}") from exc
            except Exception as exc:
                raise ModelLoadError(
                    f"Cannot load CHGNet checkpoint {spec.checkpoint}: {exc}"
                ) from exc
        else:
            model = CHGNet.load(verbose=False, use_device="cpu", **spec.kwargs)
        self.model = model.to(self.device)
        self.model.eval()
        if batch_size is None:
            batch_size = 16 if self.device.startswith("cuda") else 1
        self.batch_size = batch_size
        from pymatgen.io.ase import AseAtomsAdaptor

        self._adaptor = AseAtomsAdaptor()
        from ionflow.mlip.chgnet_fast import CHGNetEnergyForces

        self._fast = CHGNetEnergyForces.for_evaluator(self)

    def _evaluate(self, atoms_list: Sequence[Atoms], stress: bool, fast: bool) -> list[Prediction]:
        if not fast or stress or self._fast is None:
            return self._reference(atoms_list, stress)
        out = []
        for atoms in atoms_list:
            if self._fast is None:  # disabled by a failed check below
                out.extend(self._reference([atoms], stress=False))
                continue
            energy, forces = self._fast(atoms)
            if not self._fast.verified:  # first call: compare once with predict_graph
                ref = self._reference([atoms], stress=False)[0]
                if not self._fast.check(energy, forces, ref):
                    self._fast = None
                    out.append(ref)
                    continue
            out.append(Prediction(energy=energy, forces=forces))
        return out

    def _reference(self, atoms_list: Sequence[Atoms], stress: bool) -> list[Prediction]:
        graphs = []
        for atoms in atoms_list:
            structure = self._adaptor.get_structure(atoms)
            graphs.append(self.model.graph_converter(structure).to(self.device))
        task = "efs" if stress else "ef"
        preds = self.model.predict_graph(graphs, task=task, batch_size=self.batch_size)
        if isinstance(preds, dict):
            preds = [preds]
        out = []
        for atoms, pred in zip(atoms_list, preds):
            factor = len(atoms) if self.model.is_intensive else 1
            out.append(
                Prediction(
                    energy=float(pred["e"]) * factor,
                    forces=np.asarray(pred["f"], dtype=float),
                    stress=_voigt(pred["s"]) * _GPA if stress else None,
                )
            )
        return out


def _voigt(stress: Any) -> np.ndarray:
    """Voigt-6 (xx, yy, zz, yz, xz, xy) from a 3x3 or Voigt stress."""
    from ase.stress import full_3x3_to_voigt_6_stress

    arr = np.asarray(stress, dtype=float)
    return full_3x3_to_voigt_6_stress(arr) if arr.shape == (3, 3) else arr.reshape(6)


class CalculatorEvaluator(Evaluator):
    """Any ASE calculator, one instance shared by every structure of the process."""

    def __init__(self, spec: ModelSpec, calc: Calculator) -> None:
        super().__init__(spec)
        self.calc = calc

    def _evaluate(self, atoms_list: Sequence[Atoms], stress: bool, fast: bool) -> list[Prediction]:
        out = []
        props = ["energy", "forces", "stress"] if stress else ["energy", "forces"]
        for atoms in atoms_list:
            work = atoms.copy()
            work.calc = None
            self.calc.reset()
            self.calc.calculate(work, properties=props, system_changes=all_changes)
            res = self.calc.results
            out.append(
                Prediction(
                    energy=float(res["energy"]),
                    forces=np.array(res["forces"], dtype=float),
                    stress=np.array(res["stress"], dtype=float) if stress else None,
                )
            )
        return out


class IonflowCalculator(Calculator):
    """ASE calculator over a shared :class:`Evaluator` (energy and forces; stress on request)."""

    implemented_properties = ("energy", "free_energy", "forces", "stress")

    def __init__(self, evaluator: Evaluator, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.evaluator = evaluator

    def calculate(self, atoms=None, properties=("energy", "forces"), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        pred = self.evaluator.evaluate([self.atoms], stress="stress" in properties)[0]
        self.results = {"energy": pred.energy, "free_energy": pred.energy, "forces": pred.forces}
        if pred.stress is not None:
            self.results["stress"] = pred.stress


def _load_sevennet(spec: ModelSpec) -> Evaluator:
    try:
        from sevenn.calculator import SevenNetCalculator
    except ImportError as exc:
        raise ModelLoadError(
            "SevenNet is not installed: pip install 'ionflow[sevennet]' (it needs e3nn>=0.5, "
            "which conflicts with mace-torch; use separate environments)"
        ) from exc
    kwargs = spec.kwargs
    if spec.checkpoint:
        model = spec.checkpoint
    else:
        model = {"sevennet": "7net-0"}.get(spec.name, spec.name.replace("sevennet", "7net"))
        if model == "7net-mf-0":
            kwargs.setdefault("modal", "PBE")
    try:
        calc = SevenNetCalculator(model=model, device=resolve_device(spec.device), **kwargs)
    except Exception as exc:
        raise ModelLoadError(f"Cannot load SevenNet model {model!r}: {exc}") from exc
    return CalculatorEvaluator(spec, calc)


def _load_mace(spec: ModelSpec) -> Evaluator:
    try:
        from mace.calculators import MACECalculator
    except ImportError as exc:
        raise ModelLoadError(
            "MACE is not installed: pip install 'ionflow[mace]' (it pins e3nn==0.4.4, which "
            "conflicts with sevenn; use separate environments)"
        ) from exc
    kwargs = {"default_dtype": "float64", **spec.kwargs}
    try:
        calc = MACECalculator(
            model_paths=spec.checkpoint, device=resolve_device(spec.device), **kwargs
        )
    except Exception as exc:
        raise ModelLoadError(f"Cannot load MACE model {spec.checkpoint}: {exc}") from exc
    return CalculatorEvaluator(spec, calc)


def _load_calculator(spec: ModelSpec) -> Evaluator:
    try:
        module = importlib.import_module(spec.module)
    except ImportError as exc:
        raise ModelLoadError(f"Cannot import {spec.module!r} for the model spec: {exc}") from exc
    try:
        factory = getattr(module, spec.callable)
    except AttributeError as exc:
        raise ModelLoadError(f"{spec.module!r} has no attribute {spec.callable!r}") from exc
    calc = factory(**spec.kwargs)
    if not isinstance(calc, Calculator) and not hasattr(calc, "get_potential_energy"):
        raise ModelLoadError(
            f"{spec.module}.{spec.callable} returned {type(calc).__name__}, not an ASE calculator"
        )
    return CalculatorEvaluator(spec, calc)


_LOADERS = {
    "chgnet": CHGNetEvaluator,
    "sevennet": _load_sevennet,
    "mace": _load_mace,
    "calculator": _load_calculator,
}
_CACHE: dict[ModelSpec, Evaluator] = {}
_CACHE_LOCK = threading.Lock()


def get_evaluator(spec: str | dict | ModelSpec | None = None) -> Evaluator:
    """The process-wide evaluator for ``spec``, loading the model on first use only."""
    parsed = parse_model_spec(spec)
    with _CACHE_LOCK:
        if parsed not in _CACHE:
            logger.info("Loading model %s on %s", parsed.label, resolve_device(parsed.device))
            if parsed.checkpoint and parsed.backend != "calculator":
                from pathlib import Path

                if not Path(parsed.checkpoint).exists():
                    raise IonflowInputError(f"Model file not found: {parsed.checkpoint}")
            _CACHE[parsed] = _LOADERS[parsed.backend](parsed)
        return _CACHE[parsed]


def get_calculator(spec: str | dict | ModelSpec | None = None) -> IonflowCalculator:
    """An ASE calculator over the shared evaluator of ``spec`` (energy + forces by default)."""
    return get_evaluator(spec).calculator()


def clear_model_cache() -> None:
    """Forget every loaded model (tests, or to free GPU memory)."""
    with _CACHE_LOCK:
        _CACHE.clear()
