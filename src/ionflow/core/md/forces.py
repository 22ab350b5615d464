"""The force provider of :func:`ionflow.core.md.run_md`: energy and forces, one call per step.

:class:`MDCalculator` is an ASE calculator over the shared :class:`~ionflow.mlip.Evaluator`.
In NVT it asks for energy and forces only; during NpT it asks for stress in the same call (ASE's
MTK integrator asks for forces and stress separately, which would otherwise cost two model
calls per step).

CHGNet fast path
----------------
Two levers on a CPU, both giving the same numbers as the evaluator:

- CHGNet's own force routine differentiates with ``create_graph=True`` (it keeps the graph for
  a training loss) even at inference. :class:`CHGNetEnergyForces` runs the same model
  (``CHGNet._compute`` with the force head off) and takes the position gradient itself with
  ``create_graph=False`` (~25 % less model time).
- The crystal graph is built with numpy (:mod:`ionflow.core.md.chgnet_graph`) instead of
  CHGNet's Python loops: identical tensors, ~20x faster (85 -> 4 ms for 96 atoms).

The first call of every run compares energy and forces with the evaluator and falls back to
the evaluator, with a warning, if they differ by more than 1e-3 eV (/Å).
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

from ionflow.core.errors import IonflowError
from ionflow.core.md.chgnet_graph import crystal_graph

if TYPE_CHECKING:
    from ase import Atoms

    from ionflow.mlip.models import Evaluator, Prediction

logger = logging.getLogger(__name__)


class ForceEvaluationError(IonflowError):
    """The model raised while computing energy/forces (the message names the original error)."""


class CHGNetEnergyForces:
    """Energy and forces of one structure from a loaded CHGNet, without double-backward graphs.

    Parameters
    ----------
    evaluator
        A CHGNet evaluator of :mod:`ionflow.mlip` (``evaluator.model`` is the ``CHGNet``).
    """

    def __init__(self, evaluator: Evaluator) -> None:
        from chgnet.model.model import BatchedGraph
        from pymatgen.io.ase import AseAtomsAdaptor

        self.evaluator = evaluator
        self.model = evaluator.model
        self._batched_graph = BatchedGraph
        self._adaptor = AseAtomsAdaptor()
        self._lock = getattr(evaluator, "_lock", None) or contextlib.nullcontext()
        self.verified = False
        self.numpy_graph = True

    @classmethod
    def for_evaluator(cls, evaluator: Evaluator) -> CHGNetEnergyForces | None:
        """The fast path for ``evaluator`` if it is a CHGNet one this code understands."""
        model = getattr(evaluator, "model", None)
        try:
            from chgnet.model.model import CHGNet
        except ImportError:  # pragma: no cover - chgnet is a core dependency
            return None
        if not isinstance(model, CHGNet) or not hasattr(model, "_compute"):
            return None
        try:
            return cls(evaluator)
        except (ImportError, AttributeError) as exc:  # pragma: no cover - chgnet API changed
            logger.info("CHGNet MD fast path unavailable (%s); using the evaluator", exc)
            return None

    def __call__(self, atoms: Atoms) -> tuple[float, np.ndarray]:
        """Total energy (eV) and forces (eV/Å, float64 (n, 3)) of ``atoms``."""
        import torch

        model = self.model
        structure = self._adaptor.get_structure(atoms)
        graph = self._graph(structure).to(self.evaluator.device)
        with self._lock:
            batched = self._batched_graph.from_graphs(
                [graph],
                bond_basis_expansion=model.bond_basis_expansion,
                angle_basis_expansion=model.angle_basis_expansion,
                compute_stress=False,
            )
            pred = model._compute(batched, compute_force=False)
            energy = pred["e"]  # per atom when the model is intensive (divided in place)
            (grad,) = torch.autograd.grad(energy.sum(), batched.atom_positions)
            if model.composition_model is not None:
                energy = energy + model.composition_model([graph])
            self.evaluator.n_evaluations += 1
        factor = len(atoms) if model.is_intensive else 1
        total = float(energy.detach().sum()) * factor
        forces = -grad.detach().cpu().numpy().astype(float) * factor
        return total, forces

    def _graph(self, structure):
        converter = self.model.graph_converter
        if self.numpy_graph:
            try:
                return crystal_graph(converter, structure)
            except Exception as exc:  # pragma: no cover - unexpected neighbour list
                logger.warning("numpy CHGNet graph failed (%s); using CHGNet's converter", exc)
                self.numpy_graph = False
        return converter(structure)

    def check(self, energy: float, forces: np.ndarray, ref: Prediction) -> bool:
        """Accept the fast path when it agrees with the evaluator's ``ref`` prediction."""
        de = abs(energy - ref.energy)
        df = float(np.max(np.abs(forces - ref.forces))) if len(forces) else 0.0
        self.verified = de <= 1e-3 + 1e-6 * abs(ref.energy) and df <= 1e-3
        if not self.verified:
            logger.warning(
                "CHGNet MD fast path disagrees with the evaluator (|dE| = %.2e eV, "
                "max |dF| = %.2e eV/Å); using the evaluator",
                de,
                df,
            )
        return self.verified


class MDCalculator(Calculator):
    """ASE calculator used by the MD engine: one evaluator call per new geometry.

    Parameters
    ----------
    evaluator
        The shared model evaluator.
    with_stress
        Compute stress together with energy and forces (NpT); otherwise only when ASE asks.
    fast_chgnet
        Use :class:`CHGNetEnergyForces` for energy+force calls of a CHGNet evaluator.

    Attributes
    ----------
    n_calls
        Model calls made through this calculator.
    """

    implemented_properties = ("energy", "free_energy", "forces", "stress")

    def __init__(
        self,
        evaluator: Evaluator,
        *,
        with_stress: bool = False,
        fast_chgnet: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.evaluator = evaluator
        self.with_stress = with_stress
        self.n_calls = 0
        self.fast = CHGNetEnergyForces.for_evaluator(evaluator) if fast_chgnet else None

    def calculate(self, atoms=None, properties=("energy", "forces"), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        try:
            self._calculate(properties)
        except Exception as exc:
            raise ForceEvaluationError(f"{type(exc).__name__}: {exc}") from exc

    def _calculate(self, properties) -> None:
        stress = self.with_stress or "stress" in properties
        self.n_calls += 1
        if self.fast is not None and not stress:
            energy, forces = self.fast(self.atoms)
            if not self.fast.verified:  # first call: compare once with the evaluator
                ref = self.evaluator.evaluate([self.atoms])[0]
                if not self.fast.check(energy, forces, ref):
                    self.fast = None
                    energy, forces = ref.energy, ref.forces
            self.results = {"energy": energy, "free_energy": energy, "forces": forces}
            return
        pred = self.evaluator.evaluate([self.atoms], stress=stress)[0]
        self.results = {"energy": pred.energy, "free_energy": pred.energy, "forces": pred.forces}
        if pred.stress is not None:
            self.results["stress"] = pred.stress
