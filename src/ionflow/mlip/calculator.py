"""Models evaluated through an ASE calculator: SevenNet, MACE and any calculator factory.

One calculator instance is shared by every image and job of the process (never deep-copied
per image); :class:`CalculatorEvaluator` resets it before each structure.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

from ionflow.mlip.base import Evaluator, ModelLoadError, Prediction, resolve_device

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ase import Atoms

    from ionflow.mlip.spec import ModelSpec

#: What to do when the ``sevenn`` package is missing.
SEVENNET_MISSING = (
    "SevenNet is not installed: pip install 'ionflow[sevennet]' (it needs e3nn>=0.5, "
    "which conflicts with mace-torch; use separate environments)"
)
#: What to do when the ``mace`` package (mace-torch) is missing.
MACE_MISSING = (
    "MACE is not installed: pip install 'ionflow[mace]' (it pins e3nn==0.4.4, which "
    "conflicts with sevenn; use separate environments)"
)


class CalculatorEvaluator(Evaluator):
    """Any ASE calculator, one instance shared by every structure of the process.

    Parameters
    ----------
    spec
        The model spec the calculator was made from.
    calc
        The ASE calculator.
    """

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


def load_sevennet(spec: ModelSpec) -> CalculatorEvaluator:
    """SevenNet (pretrained name or checkpoint) through ``sevenn``'s ASE calculator."""
    try:
        from sevenn.calculator import SevenNetCalculator
    except ImportError as exc:
        raise ModelLoadError(SEVENNET_MISSING) from exc
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


def load_mace(spec: ModelSpec) -> CalculatorEvaluator:
    """A local MACE model file through ``mace``'s ASE calculator (float64 unless asked).

    Never downloads (a spec without a file is refused when parsed). ``import mace`` and the
    model load run inside :func:`ionflow.mlip.mace.mace_unpickling`, so torch's
    ``weights_only`` default is the same before and after for the rest of the process.
    """
    from ionflow.mlip.mace import import_mace_calculator, mace_unpickling

    try:
        calculator = import_mace_calculator()
    except ImportError as exc:
        raise ModelLoadError(MACE_MISSING) from exc
    kwargs = {"default_dtype": "float64", **spec.kwargs}
    try:
        with mace_unpickling():  # a .model file is a whole pickled module
            calc = calculator(
                model_paths=spec.checkpoint, device=resolve_device(spec.device), **kwargs
            )
    except Exception as exc:
        raise ModelLoadError(f"Cannot load MACE model {spec.checkpoint}: {exc}") from exc
    return CalculatorEvaluator(spec, calc)


def load_calculator(spec: ModelSpec) -> CalculatorEvaluator:
    """``spec.module.spec.callable(**spec.kwargs)``, which must return an ASE calculator."""
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
