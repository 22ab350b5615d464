"""What every model backend shares: the :class:`Evaluator` interface and its ASE calculator.

An :class:`Evaluator` owns one loaded model and computes energies and forces (stress only when
asked) for a list of ASE ``Atoms``. Backends (:mod:`ionflow.mlip.chgnet`,
:mod:`ionflow.mlip.calculator`) subclass it; this module imports none of them.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

from ionflow.errors import IonflowInputError
from ionflow.mlip.spec import is_valid_device
from ionflow.settings import get_settings

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ase import Atoms

    from ionflow.mlip.spec import ModelSpec

logger = logging.getLogger(__name__)


class ModelLoadError(IonflowInputError):
    """A model could not be loaded (missing package, missing file, bad checkpoint).

    A subclass of :class:`~ionflow.errors.IonflowInputError`: the model spec is bad input
    (the CLI exits with status 2); the message names the cause.
    """


def resolve_device(device: str | None = None) -> str:
    """The torch device to load a model on.

    Parameters
    ----------
    device
        ``None``: the ``DEVICE`` setting (``IONFLOW_DEVICE``, default ``"auto"``);
        ``"auto"``: ``"cuda"`` when a CUDA device is visible, else ``"cpu"``; anything else is
        returned as it is.

    Returns
    -------
    str
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    """
    if device is None:
        device = get_settings().DEVICE
        if not is_valid_device(device):
            raise IonflowInputError(
                f"The DEVICE setting (IONFLOW_DEVICE) must be 'auto', 'cpu' or 'cuda', "
                f"got {device!r}"
            )
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


class IonflowCalculator(Calculator):
    """ASE calculator over a shared :class:`Evaluator` (energy and forces; stress on request)."""

    implemented_properties = ("energy", "free_energy", "forces", "stress")

    def __init__(self, evaluator: Evaluator, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.evaluator = evaluator

    def calculate(self, atoms=None, properties=("energy", "forces"), system_changes=all_changes):
        """Energy and forces of ``atoms`` (stress too when ``properties`` asks for it)."""
        super().calculate(atoms, properties, system_changes)
        pred = self.evaluator.evaluate([self.atoms], stress="stress" in properties)[0]
        self.results = {"energy": pred.energy, "free_energy": pred.energy, "forces": pred.forces}
        if pred.stress is not None:
            self.results["stress"] = pred.stress
