"""The force provider of :func:`ionflow.core.md.run_md`: energy and forces, one call per step.

:class:`MDCalculator` is an ASE calculator over the shared :class:`~ionflow.mlip.Evaluator`.
In NVT it asks for energy and forces only; during NpT it asks for stress in the same call (ASE's
MTK integrator asks for forces and stress separately, which would otherwise cost two model
calls per step).

CHGNet's fast energy+force path (:mod:`ionflow.mlip.chgnet_fast`) lives in the model layer,
so NEB and MD share it; ``fast_chgnet=False`` asks the evaluator for its reference path.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ase.calculators.calculator import Calculator, all_changes

from ionflow.core.errors import IonflowError

if TYPE_CHECKING:
    from ionflow.mlip.models import Evaluator

logger = logging.getLogger(__name__)


class ForceEvaluationError(IonflowError):
    """The model raised while computing energy/forces (the message names the original error)."""


class MDCalculator(Calculator):
    """ASE calculator used by the MD engine: one evaluator call per new geometry.

    Parameters
    ----------
    evaluator
        The shared model evaluator.
    with_stress
        Compute stress together with energy and forces (NpT); otherwise only when ASE asks.
    fast_chgnet
        Let a CHGNet evaluator use its fast energy+force path (same numbers).

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
        self.fast = fast_chgnet

    def calculate(self, atoms=None, properties=("energy", "forces"), system_changes=all_changes):
        """Evaluate the model on ``atoms``; any error becomes :class:`ForceEvaluationError`."""
        super().calculate(atoms, properties, system_changes)
        try:
            self._calculate(properties)
        except Exception as exc:
            raise ForceEvaluationError(f"{type(exc).__name__}: {exc}") from exc

    def _calculate(self, properties) -> None:
        stress = self.with_stress or "stress" in properties
        self.n_calls += 1
        pred = self.evaluator.evaluate([self.atoms], stress=stress, fast=self.fast)[0]
        self.results = {"energy": pred.energy, "free_energy": pred.energy, "forces": pred.forces}
        if pred.stress is not None:
            self.results["stress"] = pred.stress
