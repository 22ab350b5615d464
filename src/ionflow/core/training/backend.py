"""The fine-tuning backend interface: settings, result, and the registry of backends.

A backend (``"chgnet"``, ``"mace"``) turns train/validation/test configurations into
a checkpoint file and a model spec that :func:`ionflow.mlip.get_evaluator` loads::

    backend = get_backend("chgnet")
    result = backend.train(split.train, split.val, split.test, FineTuneSettings(), out_dir)
    evaluator = get_evaluator(result.model_spec)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from monty.json import MSONable

from ionflow.core.errors import IonflowInputError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from ase import Atoms

__all__ = [
    "FineTuneBackend",
    "FineTuneResult",
    "FineTuneSettings",
    "available_backends",
    "get_backend",
    "register_backend",
]

TARGETS = ("ef", "efs")
OPTIMIZERS = ("RAdam", "Adam", "AdamW", "SGD")
CRITERIA = ("MSE", "MAE", "Huber")


@dataclass
class FineTuneSettings(MSONable):
    """Knobs of one fine-tuning run (defaults: lian2025 for CHGNet).

    Parameters
    ----------
    base_model
        Model spec to start from (``"chgnet"``: the pretrained weights in the wheel; a
        ``"chgnet:/path"`` checkpoint continues an earlier fine-tune).
    targets
        ``"efs"`` (energy, forces, stress) or ``"ef"``.
    energy_weight, force_weight, stress_weight
        Loss weights (lian2025: 1, 1, 0.1).
    optimizer, criterion, learning_rate, scheduler
        lian2025: RAdam, MSE, 1e-3; the scheduler is the backend's (CHGNet: ``"CosLR"``).
    epochs
        Most epochs.
    patience
        Early stopping: stop after this many epochs without a better validation loss
        (deng2025: 20); 0 turns early stopping off.
    batch_size
        Configurations per batch.
    seed
        Torch and data-order seed.
    freeze
        Names of model parts kept fixed (CHGNet: ``"atom_embedding"``, ``"bond_embedding"``,
        ``"angle_embedding"``, ``"bond_basis_expansion"``, ``"angle_basis_expansion"``,
        ``"atom_conv_layers"``, ``"bond_conv_layers"``, ``"angle_layers"``, ``"mlp"``, ...).
    fit_energy_reference
        Before training, shift the model's per-element reference energies by a least-squares
        fit of the label-minus-model energy residuals on the training set's compositions, so
        that the loss learns the energy landscape rather than a constant offset between the
        labeller and the model (SevenNet-0 vs CHGNet: ~0.2 eV/atom on Li oxides).
    train_composition_model
        Also train the per-element reference energies by gradient descent.
    device
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    progress
        Epoch progress bar on a terminal (log lines otherwise, always).
    """

    base_model: str = "chgnet"
    targets: str = "efs"
    energy_weight: float = 1.0
    force_weight: float = 1.0
    stress_weight: float = 0.1
    optimizer: str = "RAdam"
    criterion: str = "MSE"
    learning_rate: float = 1e-3
    scheduler: str = "CosLR"
    epochs: int = 50
    patience: int = 20
    batch_size: int = 8
    seed: int = 0
    freeze: tuple[str, ...] = ()
    fit_energy_reference: bool = True
    train_composition_model: bool = False
    device: str = "auto"
    progress: bool = True

    def __post_init__(self) -> None:
        self.freeze = tuple(self.freeze)
        problems = []
        if self.targets not in TARGETS:
            problems.append(f"targets must be one of {TARGETS}, got {self.targets!r}")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.criterion not in CRITERIA:
            problems.append(f"criterion must be one of {CRITERIA}, got {self.criterion!r}")
        if not self.learning_rate > 0:
            problems.append(f"learning_rate must be > 0, got {self.learning_rate}")
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 0:
            problems.append("epochs and batch_size must be >= 1 and patience >= 0")
        if min(self.energy_weight, self.force_weight, self.stress_weight) < 0:
            problems.append("loss weights must be >= 0")
        if self.device not in ("auto", "cpu", "cuda"):
            problems.append(f"device must be 'auto', 'cpu' or 'cuda', got {self.device!r}")
        if problems:
            raise IonflowInputError("; ".join(problems))

    def as_plain_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (for documents and provenance)."""
        out = asdict(self)
        out["freeze"] = list(self.freeze)
        return out


@dataclass
class FineTuneResult:
    """What a fine-tuning run produced.

    Parameters
    ----------
    backend
        Backend name (``"chgnet"``).
    checkpoint
        Absolute path of the fine-tuned checkpoint file.
    model_spec
        Spec that loads it everywhere (``"chgnet:/abs/path"``).
    metrics
        MAE per split: ``{"train": {"energy_eV_atom", "forces_eV_A", "stress_GPa"}, ...}``
        of the best (lowest validation loss) model.
    history
        Per-epoch curves: ``{"train_loss": [...], "val_loss": [...], "train_energy_eV_atom":
        [...], ...}``.
    best_epoch, epochs_run
        Epoch (0-based) of the kept model; epochs run before stopping.
    stopped_early
        Early stopping ended the run before ``epochs``.
    curve_png
        The training curve plot, or None.
    wall_time_s
        Training time.
    n_configs
        Configurations per split.
    reference_shift
        What :attr:`FineTuneSettings.fit_energy_reference` changed (per-element shifts and
        the energy MAE before and after), or None.
    """

    backend: str
    checkpoint: Path
    model_spec: str
    metrics: dict[str, dict[str, float]]
    history: dict[str, list[float]]
    best_epoch: int
    epochs_run: int
    stopped_early: bool
    curve_png: Path | None = None
    wall_time_s: float = 0.0
    n_configs: dict[str, int] = field(default_factory=dict)
    reference_shift: dict[str, Any] | None = None


class FineTuneBackend(ABC):
    """A way to fine-tune one family of models."""

    #: Registry name (``get_backend(name)``).
    name: str = ""
    #: The settings class :meth:`train` takes (a subclass for backend-specific knobs).
    settings_class: type[FineTuneSettings] = FineTuneSettings

    @abstractmethod
    def train(
        self,
        train: Sequence[Atoms],
        val: Sequence[Atoms],
        test: Sequence[Atoms],
        settings: FineTuneSettings,
        out_dir: str | Path,
    ) -> FineTuneResult:
        """Fine-tune on ``train``, select on ``val``, report on ``test``; write to ``out_dir``."""


_BACKENDS: dict[str, type[FineTuneBackend]] = {}


def register_backend(cls: type[FineTuneBackend]) -> type[FineTuneBackend]:
    """Class decorator: make ``cls`` available as ``get_backend(cls.name)``."""
    _BACKENDS[cls.name] = cls
    return cls


def available_backends() -> list[str]:
    """Names of the registered backends."""
    return sorted(_BACKENDS)


def get_backend(name: str) -> FineTuneBackend:
    """A fresh backend by name.

    Raises
    ------
    IonflowInputError
        For an unknown backend.
    """
    if name not in _BACKENDS:
        raise IonflowInputError(
            f"unknown fine-tuning backend {name!r}; available: {', '.join(available_backends())}"
        )
    return _BACKENDS[name]()
