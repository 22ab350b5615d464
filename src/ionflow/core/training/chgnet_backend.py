"""CHGNet fine-tuning through ``chgnet.trainer.Trainer`` (lian2025's settings).

The epoch loop is ionflow's (CHGNet's ``Trainer.train`` has no early stopping and prints):
each epoch runs the trainer's own ``_train`` and ``_validate`` steps, the model with the lowest
validation loss is kept, and training stops after ``patience`` epochs without improvement.
The checkpoint holds only tensors and plain values (``{"model": {"state_dict",
"model_args"}, ...}``), so it loads with ``torch.load(..., weights_only=True)``
(:func:`ionflow.mlip.checkpoint.load_chgnet_checkpoint`, which ``chgnet:/path`` model specs
use too) and with ``CHGNet.from_file``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ionflow.core.errors import IonflowInputError
from ionflow.core.training.backend import (
    FineTuneBackend,
    FineTuneResult,
    FineTuneSettings,
    register_backend,
)
from ionflow.core.training.dataset import MIN_CONFIGS, check_labelled
from ionflow.core.training.plots import plot_training_curve
from ionflow.mlip.checkpoint import load_chgnet_checkpoint

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ase import Atoms

__all__ = ["CHECKPOINT_NAME", "CHGNetBackend", "fit_energy_reference", "load_chgnet_checkpoint"]

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = "chgnet_finetuned.pth.tar"
_EV_A3_TO_GPA = 160.21766208
_KEYS = {"e": "energy_eV_atom", "f": "forces_eV_A", "s": "stress_GPa"}


def _base_model(spec: str) -> Any:
    """The model to start from: pretrained (``"chgnet"``) or a checkpoint spec/path."""
    from chgnet.model import CHGNet

    from ionflow.mlip import parse_model_spec

    parsed = parse_model_spec(spec)
    if parsed.backend != "chgnet":
        raise IonflowInputError(f"the CHGNet backend fine-tunes CHGNet models, not {spec!r}")
    if parsed.checkpoint:
        return load_chgnet_checkpoint(parsed.checkpoint)
    return CHGNet.load(verbose=False, use_device="cpu", **parsed.kwargs)


def _structure_data(configs: Sequence[Atoms], with_stress: bool) -> Any:
    """CHGNet's ``StructureData`` (energies per atom; stresses in its VASP-kBar convention)."""
    from chgnet.data.dataset import StructureData
    from pymatgen.io.ase import AseAtomsAdaptor

    labels = check_labelled(configs, require_stress=with_stress)
    structures = [AseAtomsAdaptor.get_structure(atoms) for atoms in configs]
    stresses = None
    if with_stress:
        # StructureData multiplies stresses by -0.1 (VASP kBar -> CHGNet GPa); CHGNet's GPa
        # have ASE's sign, so pass -10 * (ASE stress in GPa).
        from ase.stress import voigt_6_to_full_3x3_stress

        stresses = [
            (-10.0 * _EV_A3_TO_GPA * voigt_6_to_full_3x3_stress(lab.stress)).tolist()
            for lab in labels
        ]
    with contextlib.redirect_stdout(io.StringIO()):
        return StructureData(
            structures,
            energies=[lab.energy / len(atoms) for lab, atoms in zip(labels, configs)],
            forces=[lab.forces.tolist() for lab in labels],
            stresses=stresses,
            shuffle=False,
        )


def _loader(data: Any, batch_size: int, shuffle: bool, seed: int) -> Any:
    import torch
    from chgnet.data.dataset import collate_graphs
    from torch.utils.data import DataLoader

    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        data,
        batch_size=batch_size,
        shuffle=shuffle,
        collate_fn=collate_graphs,
        generator=generator,
    )


def _freeze(model: Any, names: Sequence[str]) -> None:
    for name in names:
        part = getattr(model, name, None)
        params = list(part.parameters()) if hasattr(part, "parameters") else None
        if not params:
            raise IonflowInputError(f"CHGNet has no trainable part named {name!r} to freeze")
        for param in params:
            param.requires_grad = False


def fit_energy_reference(model: Any, configs: Sequence[Atoms], batch_size: int = 8) -> dict:
    """Shift CHGNet's per-element reference energies (``AtomRef``) to the labels' reference.

    Least squares of the per-atom residuals ``(E_label - E_model) / n`` on the element
    fractions; the shifts are added to the composition model's weights (CHGNet's energies are
    per atom: ``E/n = sum_Z x_Z w_Z + ...``).

    Parameters
    ----------
    model
        A CHGNet (changed in place).
    configs
        Labelled configurations (the training split).
    batch_size
        Structures per prediction batch.

    Returns
    -------
    dict
        ``{"shift_eV_atom": {element: shift}, "residual_mae_before", "residual_mae_after"}``
        (eV/atom).
    """
    import torch
    from ase.data import chemical_symbols
    from pymatgen.io.ase import AseAtomsAdaptor

    labels = check_labelled(configs)
    graphs = [model.graph_converter(AseAtomsAdaptor.get_structure(a)) for a in configs]
    with _Quiet():
        preds = model.predict_graph(graphs, task="e", batch_size=batch_size)
    preds = preds if isinstance(preds, list) else [preds]
    n = np.array([len(a) for a in configs], dtype=float)
    residual = np.array([lab.energy for lab in labels]) / n - np.array(
        [float(p["e"]) for p in preds]
    )
    elements = sorted({int(z) for a in configs for z in a.numbers})
    fractions = np.array([[np.sum(a.numbers == z) / len(a) for z in elements] for a in configs])
    shift, *_ = np.linalg.lstsq(fractions, residual, rcond=None)
    weight = model.composition_model.fc.weight
    with torch.no_grad():
        for z, delta in zip(elements, shift):
            weight[0, z - 1] += float(delta)
    after = residual - fractions @ shift
    info = {
        "shift_eV_atom": {chemical_symbols[z]: float(d) for z, d in zip(elements, shift)},
        "residual_mae_before": float(np.mean(np.abs(residual))),
        "residual_mae_after": float(np.mean(np.abs(after))),
    }
    logger.info(
        "energy reference shifted by %s eV/atom: energy MAE %.4f -> %.4f eV/atom",
        {k: round(v, 4) for k, v in info["shift_eV_atom"].items()},
        info["residual_mae_before"],
        info["residual_mae_after"],
    )
    return info


def _loss(mae: dict[str, float], settings: FineTuneSettings) -> float:
    """Weighted validation loss on MAEs (the early-stopping criterion)."""
    weights = {"e": settings.energy_weight, "f": settings.force_weight, "s": settings.stress_weight}
    return float(sum(weights[k] * v for k, v in mae.items() if k in weights))


class _Quiet(contextlib.redirect_stdout):
    """CHGNet's trainer prints; send it to the log at debug level instead."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        super().__init__(self.buffer)

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        for line in self.buffer.getvalue().splitlines():
            logger.debug("chgnet: %s", line)


@register_backend
class CHGNetBackend(FineTuneBackend):
    """Fine-tune CHGNet with ``chgnet.trainer.Trainer``."""

    name = "chgnet"

    def train(
        self,
        train: Sequence[Atoms],
        val: Sequence[Atoms],
        test: Sequence[Atoms],
        settings: FineTuneSettings,
        out_dir: str | Path,
    ) -> FineTuneResult:
        """Fine-tune on ``train``, keep the best model on ``val``, report MAEs on all three.

        Parameters
        ----------
        train, val, test
            Labelled configurations (:func:`ionflow.core.training.split_dataset`); ``val``
            must not be empty, ``test`` may be.
        settings
            :class:`FineTuneSettings`.
        out_dir
            Directory for the checkpoint and the training curve.

        Returns
        -------
        FineTuneResult
            Checkpoint, model spec, metrics, curves.

        Raises
        ------
        IonflowInputError
            For empty train/validation sets, missing labels, an unknown frozen part, a base
            model that is not CHGNet, or a loss that becomes NaN in the first epoch.
        """
        if len(train) + len(val) + len(test) == 0:
            raise IonflowInputError("the dataset is empty: no labelled configurations")
        if not train or not val:
            raise IonflowInputError(
                f"fine-tuning needs non-empty train and validation sets (got {len(train)} and "
                f"{len(val)}; split at least {MIN_CONFIGS} configurations)"
            )
        out = Path(out_dir).resolve()
        out.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        run = _Run(settings, train, val, test)
        run.fit()
        checkpoint = run.save(out / CHECKPOINT_NAME)
        curve = plot_training_curve(run.history, out / "training_curve.png")
        result = FineTuneResult(
            backend=self.name,
            checkpoint=checkpoint,
            model_spec=f"chgnet:{checkpoint}",
            metrics=run.metrics(),
            history=run.history,
            best_epoch=run.best_epoch,
            epochs_run=run.epochs_run,
            stopped_early=run.epochs_run < settings.epochs,
            curve_png=curve,
            wall_time_s=round(time.perf_counter() - t0, 1),
            n_configs={"train": len(train), "val": len(val), "test": len(test)},
            reference_shift=run.reference_shift,
        )
        logger.info(
            "CHGNet fine-tune: %d epoch(s), best %d, test MAE %s, %.0f s -> %s",
            result.epochs_run,
            result.best_epoch,
            result.metrics.get("test"),
            result.wall_time_s,
            checkpoint,
        )
        return result


class _Run:
    """One training run: data, trainer, epoch loop, best state."""

    def __init__(
        self,
        settings: FineTuneSettings,
        train: Sequence[Atoms],
        val: Sequence[Atoms],
        test: Sequence[Atoms],
    ) -> None:
        import torch
        from chgnet.trainer import Trainer

        from ionflow.mlip import resolve_device

        self.settings = settings
        with_stress = "s" in settings.targets
        self.data = {
            name: _structure_data(configs, with_stress)
            for name, configs in (("train", train), ("val", val), ("test", test))
            if len(configs)
        }
        torch.manual_seed(settings.seed)
        self.model = _base_model(settings.base_model)
        _freeze(self.model, settings.freeze)
        with _Quiet():
            self.trainer = Trainer(
                model=self.model,
                targets=settings.targets,
                energy_loss_ratio=settings.energy_weight,
                force_loss_ratio=settings.force_weight,
                stress_loss_ratio=settings.stress_weight,
                optimizer=settings.optimizer,
                scheduler=settings.scheduler,
                criterion=settings.criterion,
                epochs=settings.epochs,
                learning_rate=settings.learning_rate,
                print_freq=10**9,
                torch_seed=settings.seed,
                use_device=resolve_device(settings.device),
            )
        self.model.to(self.trainer.device)
        for param in self.model.composition_model.parameters():
            param.requires_grad = settings.train_composition_model
        self.reference_shift = (
            fit_energy_reference(self.model, train, settings.batch_size)
            if settings.fit_energy_reference
            else None
        )
        self.history: dict[str, list[float]] = {}
        self.best_epoch = -1
        self.best_loss = math.inf
        self.best_state: dict | None = None
        self.epochs_run = 0

    def _record(self, split: str, mae: dict[str, float]) -> None:
        self.history.setdefault(f"{split}_loss", []).append(_loss(mae, self.settings))
        for key, value in mae.items():
            self.history.setdefault(f"{split}_{_KEYS[key]}", []).append(float(value))

    def fit(self) -> None:
        """The epoch loop with early stopping."""
        from tqdm.auto import tqdm

        s = self.settings
        train_loader = _loader(self.data["train"], s.batch_size, True, s.seed)
        val_loader = _loader(self.data["val"], s.batch_size, False, s.seed)
        bar = tqdm(
            range(s.epochs),
            desc="fine-tune",
            unit="epoch",
            disable=not (s.progress and sys.stderr.isatty()),
        )
        for epoch in bar:
            t0 = time.perf_counter()
            with _Quiet():
                train_mae = self.trainer._train(train_loader, epoch)
                val_mae = self.trainer._validate(val_loader)
            self.epochs_run = epoch + 1
            if not all(np.isfinite(v) for v in (*train_mae.values(), *val_mae.values())):
                if self.best_state is None:
                    raise IonflowInputError(
                        "fine-tuning diverged (NaN loss) in the first epoch; lower the "
                        "learning rate or check the labels"
                    )
                logger.warning(
                    "NaN loss at epoch %d: stopping, keeping epoch %d", epoch, self.best_epoch
                )
                break
            self._record("train", train_mae)
            self._record("val", val_mae)
            loss = self.history["val_loss"][-1]
            if loss < self.best_loss:
                self.best_loss, self.best_epoch = loss, epoch
                self.best_state = copy.deepcopy(self.model.state_dict())
            bar.set_postfix(val_loss=f"{loss:.4f}", best=self.best_epoch)
            logger.info(
                "epoch %d/%d: train loss %.4f, val loss %.4f (MAE e %.4f eV/atom, f %.4f eV/Å)"
                "%s, %.1f s",
                epoch + 1,
                s.epochs,
                self.history["train_loss"][-1],
                loss,
                val_mae.get("e", float("nan")),
                val_mae.get("f", float("nan")),
                " *" if self.best_epoch == epoch else "",
                time.perf_counter() - t0,
            )
            if s.patience and epoch - self.best_epoch >= s.patience:
                logger.info("early stop: %d epochs without a better validation loss", s.patience)
                break
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)

    def metrics(self) -> dict[str, dict[str, float]]:
        """MAEs of the kept model on every split."""
        out = {}
        for split, data in self.data.items():
            with _Quiet():
                mae = self.trainer._validate(_loader(data, self.settings.batch_size, False, 0))
            out[split] = {_KEYS[k]: float(v) for k, v in mae.items()}
        return out

    def save(self, path: Path) -> Path:
        """Write the kept model (tensors and plain values only)."""
        import torch

        state = {
            "model": self.model.as_dict(),
            "training_history": {k: list(v) for k, v in self.history.items()},
            "ionflow": {
                "settings": self.settings.as_plain_dict(),
                "best_epoch": self.best_epoch,
                "epochs_run": self.epochs_run,
                "reference_shift": self.reference_shift,
            },
        }
        torch.save(state, path)
        return path
