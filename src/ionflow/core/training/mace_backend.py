"""MACE training through MACE's own entry point (``python -m mace.cli.run_train``).

Three modes (:class:`MACEFineTuneSettings`):

- ``"scratch"``: a new model (deng2025's comparison architecture by default);
- ``"naive"``: every weight of a local foundation model file trained on the new data only;
- ``"multihead"`` (deng2025): a new head on a local foundation file, trained together with
  the foundation's own head on replay data from a *local* file (``--pt_train_file``).

MACE itself runs in a subprocess, so ``import mace`` (which sets
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` for the whole process) never touches the caller; the
interpreter is :attr:`MACEFineTuneSettings.python`, so a process without mace-torch can train
with another environment's (``.venv-mace``). Traps handled here (measured on mace-torch
0.3.16): with a foundation file and no ``--pt_train_file`` MACE silently falls back to naive
fine-tuning (refused here: multihead needs a replay file, naive must be asked for); multihead
forces lr 1e-4 and EMA unless ``--force_mh_ft_lr=True`` (always passed, with ``--ema``
only when asked); named foundations and replay sets (``small``, ``medium``, ``mp``, ...)
download (refused: local files only); the foundation must cover every element of the data.

Metrics come from MACE's own files: the per-epoch validation metrics from
``results/*_train.txt`` (JSON lines, one per head) and the final per-split MAEs from
``mace.cli.eval_configs`` predictions on the train/validation/test configurations.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ionflow.core.errors import IonflowError, IonflowInputError
from ionflow.core.training.backend import (
    FineTuneBackend,
    FineTuneResult,
    FineTuneSettings,
    register_backend,
)
from ionflow.core.training.dataset import MIN_CONFIGS
from ionflow.core.training.mace_files import (
    check_mace_python,
    history_from_results,
    inspect_mace_model,
    mace_python,
    plot_mace_curve,
    prediction_mae,
    read_replay,
    read_results,
    write_mace_xyz,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ase import Atoms

__all__ = [
    "MACE_MODES",
    "MACEBackend",
    "MACEFineTuneSettings",
    "check_mace_python",
    "inspect_mace_model",
    "mace_python",
    "read_replay",
]

logger = logging.getLogger(__name__)

MACE_MODES = ("auto", "scratch", "naive", "multihead")
#: Foundation / replay names MACE resolves by downloading (never used by ionflow).
_DOWNLOADED = (
    "small", "medium", "large", "mp", "matpes_pbe", "matpes_r2scan", "small_off",
    "medium_off", "large_off", "mace_omol", "medium-mpa-0", "medium-omat-0", "mh-0", "mh-1",
    "small-0b", "medium-0b", "small-0b2", "medium-0b2", "large-0b2", "medium-0b3",
)  # fmt: skip
_OPTIMIZERS = {"Adam": "adam", "AdamW": "adamw"}
_MODEL_NAME = "mace_finetuned"
_KEYS = ("--energy_key=REF_energy", "--forces_key=REF_forces", "--stress_key=REF_stress")


@dataclass
class MACEFineTuneSettings(FineTuneSettings):
    """Knobs of one MACE training run (defaults: deng2025's multi-head fine-tuning).

    The fields of :class:`~ionflow.core.training.FineTuneSettings` keep their meaning, with
    MACE's defaults where deng2025 is silent: Adam, lr 0.01, early stop after 20 epochs
    without a better validation loss, at most 500 epochs; loss weights energy 1, forces 100,
    stress 1 (MACE's, on its per-atom energy and force MSE); ``fit_energy_reference`` picks
    MACE's ``E0s``: ``"estimated"`` (fitted to the labels minus the foundation's
    predictions) when fine-tuning, ``"average"`` (least squares on the training set) from
    scratch; False keeps the foundation's (``"foundation"``). ``freeze`` and
    ``train_composition_model`` are not supported (empty / False).

    Parameters
    ----------
    mode
        ``"scratch"``, ``"naive"``, ``"multihead"``, or ``"auto"``: scratch without a
        foundation, multihead with one (which then needs ``replay``).
    foundation
        Local MACE model file to fine-tune (``"mace:/path"`` is accepted; so is a
        ``"mace:/path"`` ``base_model``). Names MACE would download are refused.
    replay
        Local extxyz of the foundation's training data (energies and forces, ASE's or MACE's
        ``REF_`` keys) replayed on the foundation's head during multihead fine-tuning.
    num_samples_pt
        Most replay configurations MACE samples (``--num_samples_pt``; fewer when the file
        has fewer: MACE would otherwise pad the replay set with random duplicates).
    weight_pt_head
        Loss weight of the replay head.
    ema
        Exponential moving average of the weights (MACE forces it on in multihead mode
        unless told otherwise; off here unless asked).
    num_channels, max_L, r_max, num_interactions, correlation
        Architecture of a model trained from scratch (deng2025: 128 channels, 2 interactions,
        correlation 3, 5.0 Å); a fine-tune keeps its foundation's.
    default_dtype
        ``"float64"`` or ``"float32"``.
    python
        Interpreter with mace-torch (``None``: ``IONFLOW_MACE_PYTHON`` or this one).
    extra_args
        More ``--key=value`` arguments passed to ``mace.cli.run_train`` as they are.
    """

    base_model: str = ""
    optimizer: str = "Adam"
    learning_rate: float = 0.01
    scheduler: str = "ReduceLROnPlateau"
    epochs: int = 500
    patience: int = 20
    batch_size: int = 8
    energy_weight: float = 1.0
    force_weight: float = 100.0
    stress_weight: float = 1.0
    mode: str = "auto"
    foundation: str | None = None
    replay: str | None = None
    num_samples_pt: int = 10000
    weight_pt_head: float = 1.0
    ema: bool = False
    num_channels: int = 128
    max_L: int = 1
    r_max: float = 5.0
    num_interactions: int = 2
    correlation: int = 3
    default_dtype: str = "float64"
    python: str | None = None
    extra_args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        self.extra_args = tuple(self.extra_args)
        if not self.foundation and self.base_model.startswith("mace:"):
            self.foundation = self.base_model
        if self.foundation and self.foundation.startswith("mace:"):
            self.foundation = self.foundation.split(":", 1)[1]
        problems = self._problems()
        if problems:
            raise IonflowInputError("; ".join(problems))
        if self.mode == "auto":
            self.mode = "multihead" if self.foundation else "scratch"
        if self.mode == "multihead" and not self.replay:
            raise IonflowInputError(
                "multi-head fine-tuning needs the foundation's training data as a local replay "
                "file (replay=...); without one MACE silently falls back to naive fine-tuning, "
                "which ionflow does not let happen: give a replay file, or ask for "
                "mode='naive' explicitly"
            )
        self.base_model = f"mace:{self.foundation}" if self.foundation else "mace-scratch"

    def _problems(self) -> list[str]:
        problems = []
        if self.mode not in MACE_MODES:
            problems.append(f"mode must be one of {MACE_MODES}, got {self.mode!r}")
        if self.mode in ("naive", "multihead") and not self.foundation:
            problems.append(f"mode {self.mode!r} needs a foundation model file")
        if self.mode == "scratch" and self.foundation:
            problems.append("mode 'scratch' takes no foundation model")
        for what, value in (("foundation", self.foundation), ("replay", self.replay)):
            if value and value.strip().lower() in _DOWNLOADED:
                problems.append(
                    f"{what} {value!r} is a name MACE resolves by downloading; ionflow only "
                    "uses local files: give a path"
                )
        if self.replay and self.mode in ("scratch", "naive"):
            problems.append(f"a replay file is only used by multihead fine-tuning, not {self.mode}")
        if self.optimizer not in _OPTIMIZERS:
            problems.append(f"MACE optimizers: {sorted(_OPTIMIZERS)}, got {self.optimizer!r}")
        if self.criterion == "MAE":
            problems.append("MACE has no MAE loss: criterion 'MSE' or 'Huber'")
        if self.freeze or self.train_composition_model:
            problems.append("freeze and train_composition_model are CHGNet options, not MACE's")
        if self.default_dtype not in ("float64", "float32"):
            problems.append(f"default_dtype 'float64' or 'float32', got {self.default_dtype!r}")
        if self.num_samples_pt < 1:
            problems.append("num_samples_pt must be >= 1")
        return problems

    def check_files(self) -> None:
        """Check that the foundation and replay files exist (cheap; before any training).

        Raises
        ------
        IonflowInputError
            For a missing file.
        """
        for what, value in (("foundation model", self.foundation), ("replay", self.replay)):
            if value and not Path(value).expanduser().is_file():
                raise IonflowInputError(f"MACE {what} file not found: {value}")

    def as_plain_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (for documents and provenance)."""
        out = super().as_plain_dict()
        out["extra_args"] = list(self.extra_args)
        return out


def _run(cmd: list[str], log: Path, what: str, progress: Path | None = None) -> None:
    """Run ``cmd`` with output in ``log``; log progress from ``progress`` (a results dir)."""
    logger.debug("%s: %s", what, " ".join(cmd))
    with log.open("a") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)
        shown = -1
        while True:
            try:
                proc.wait(timeout=10)
                break
            except subprocess.TimeoutExpired:
                rows = read_results(progress) if progress else []
                epochs = [r["epoch"] for r in rows if r.get("epoch") is not None]
                if epochs and max(epochs) > shown:
                    shown = max(epochs)
                    logger.info("%s: epoch %d done", what, shown + 1)
    if proc.returncode:
        tail = "\n".join(log.read_text().splitlines()[-15:])
        raise IonflowError(f"{what} failed (exit {proc.returncode}); end of {log}:\n{tail}")


def _train_args(
    s: MACEFineTuneSettings, work: Path, files: dict[str, Path], device: str, n_replay: int = 0
) -> list:
    """``mace.cli.run_train`` arguments; MACE's forced multihead defaults overridden.

    MACE pads a replay set smaller than ``--num_samples_pt`` with random duplicates: the
    number passed is at most ``n_replay``, the replay file's size.
    """
    stress = "s" in s.targets
    if s.criterion == "Huber":
        loss = "huber"
    else:
        loss = "stress" if stress else "weighted"
    args = [
        f"--name={_MODEL_NAME}",
        f"--train_file={files['train']}",
        f"--valid_file={files['val']}",
        *_KEYS,
        f"--compute_stress={stress}",
        f"--loss={loss}",
        f"--energy_weight={s.energy_weight}",
        f"--forces_weight={s.force_weight}",
        f"--stress_weight={s.stress_weight}",
        f"--optimizer={_OPTIMIZERS[s.optimizer]}",
        f"--lr={s.learning_rate}",
        f"--scheduler={s.scheduler}",
        f"--max_num_epochs={s.epochs}",
        f"--patience={s.patience or s.epochs + 1}",
        f"--batch_size={s.batch_size}",
        f"--valid_batch_size={s.batch_size}",
        f"--seed={s.seed}",
        f"--device={device}",
        f"--default_dtype={s.default_dtype}",
        f"--work_dir={work}",
        "--save_cpu",
    ]
    if s.ema:
        args.append("--ema")
    if s.mode == "scratch":
        args += [
            "--model=MACE",
            "--E0s=average",
            f"--num_channels={s.num_channels}",
            f"--max_L={s.max_L}",
            f"--r_max={s.r_max}",
            f"--num_interactions={s.num_interactions}",
            f"--correlation={s.correlation}",
        ]
    else:
        args += [
            f"--foundation_model={Path(s.foundation).expanduser().resolve()}",
            f"--E0s={'estimated' if s.fit_energy_reference else 'foundation'}",
            f"--multiheads_finetuning={s.mode == 'multihead'}",
        ]
    if s.mode == "multihead":
        args += [
            f"--pt_train_file={files['replay']}",
            f"--num_samples_pt={min(s.num_samples_pt, n_replay or s.num_samples_pt)}",
            f"--weight_pt_head={s.weight_pt_head}",
            "--force_mh_ft_lr=True",  # else MACE forces lr 1e-4 and EMA 0.99999
        ]
    return [*args, *s.extra_args]


def _check_elements(s: MACEFineTuneSettings, configs: Sequence[Atoms]) -> dict[str, Any]:
    """The foundation's description; refuses data with elements the foundation lacks."""
    from ase.data import chemical_symbols

    info = inspect_mace_model(s.foundation, s.python)
    data = {int(z) for a in configs for z in a.numbers}
    missing = sorted(data - set(info["atomic_numbers"]))
    if missing:
        raise IonflowInputError(
            f"the foundation model {s.foundation} does not cover "
            f"{', '.join(chemical_symbols[z] for z in missing)} of the fine-tuning data (it "
            f"knows {', '.join(chemical_symbols[z] for z in info['atomic_numbers'])})"
        )
    return info


@register_backend
class MACEBackend(FineTuneBackend):
    """Train MACE from scratch, or fine-tune a local foundation file (naive / multi-head)."""

    name = "mace"
    settings_class = MACEFineTuneSettings

    def train(
        self,
        train: Sequence[Atoms],
        val: Sequence[Atoms],
        test: Sequence[Atoms],
        settings: FineTuneSettings,
        out_dir: str | Path,
    ) -> FineTuneResult:
        """Train with ``mace.cli.run_train``; evaluate with ``mace.cli.eval_configs``.

        Parameters
        ----------
        train, val, test
            Labelled configurations; ``val`` must not be empty, ``test`` may be.
        settings
            :class:`MACEFineTuneSettings`.
        out_dir
            Work directory: MACE's files (``mace_train.log``, ``results/``, ``checkpoints/``),
            the model file ``mace_finetuned.model`` and the training curve.

        Returns
        -------
        FineTuneResult
            The model file (every head MACE trained; the calculator uses the fine-tuned one,
            ``"Default"``), ``mace:PATH`` spec, metrics and curves; ``history`` holds the
            replay head's validation curves as ``pt_head_val_*`` in multihead mode.

        Raises
        ------
        IonflowInputError
            For settings that are not :class:`MACEFineTuneSettings`, empty train/validation
            sets, missing labels or files, or a foundation lacking an element of the data.
        IonflowError
            When MACE's training or evaluation fails (the end of its log is in the message).
        """
        s = self._checked(train, val, settings)
        from ionflow.mlip import resolve_device

        t0 = time.perf_counter()
        python = check_mace_python(s.python)
        foundation = _check_elements(s, [*train, *val, *test]) if s.foundation else None
        replay = read_replay(s.replay) if s.mode == "multihead" else []
        out = Path(out_dir).expanduser().resolve()
        out.mkdir(parents=True, exist_ok=True)
        stress = "s" in s.targets
        files = {
            "train": write_mace_xyz(train, out / "train.xyz", stress),
            "val": write_mace_xyz(val, out / "valid.xyz", stress),
        }
        if replay:
            files["replay"] = write_mace_xyz(replay, out / "replay.xyz", False)
        log = out / "mace_train.log"
        log.write_text("")
        logger.info("MACE %s training (%d train / %d val configurations) in %s", s.mode,
                    len(train), len(val), out)  # fmt: skip
        _run(
            [python, "-m", "mace.cli.run_train",
             *_train_args(s, out, files, resolve_device(s.device), len(replay))],
            log, f"MACE {s.mode} training", progress=out / "results",
        )  # fmt: skip
        model = out / f"{_MODEL_NAME}.model"
        if not model.is_file():
            raise IonflowError(f"MACE training wrote no model file {model}; see {log}")
        history, heads = history_from_results(read_results(out / "results"), "Default")
        if s.mode == "multihead" and "pt_head" not in heads:
            raise IonflowError(f"MACE trained heads {heads}, not the replay head 'pt_head'")
        splits = {"train": train, "val": val, "test": test}
        metrics = self._evaluate(python, model, splits, out, s)
        if "pt_head_val_loss" in history:
            best = int(np.argmin(history["val_loss"]))
            metrics["replay_val"] = {
                k: history[f"pt_head_val_{k}"][best]
                for k in ("energy_eV_atom", "forces_eV_A", "stress_GPa")
                if f"pt_head_val_{k}" in history
            }
        val_loss = history.get("val_loss", [])
        epochs_run = len(history.get("train_loss", []))
        result = FineTuneResult(
            backend=self.name,
            checkpoint=model,
            model_spec=f"mace:{model}",
            metrics=metrics,
            history=history,
            best_epoch=int(np.argmin(val_loss)) if val_loss else -1,
            epochs_run=epochs_run,
            stopped_early=epochs_run < s.epochs,
            curve_png=plot_mace_curve(history, out / "training_curve.png"),
            wall_time_s=round(time.perf_counter() - t0, 1),
            n_configs={"train": len(train), "val": len(val), "test": len(test)},
            reference_shift={"E0s": "estimated" if s.fit_energy_reference else "foundation",
                             "foundation": foundation} if foundation else None,
        )  # fmt: skip
        (out / "ionflow_mace.json").write_text(
            json.dumps({"mode": s.mode, "heads": heads, "settings": s.as_plain_dict(),
                        "metrics": metrics}, indent=1, default=str)
        )  # fmt: skip
        logger.info("MACE %s: %d epoch(s), heads %s, test MAE %s, %.0f s -> %s", s.mode,
                    epochs_run, heads, metrics.get("test"), result.wall_time_s, model)  # fmt: skip
        return result

    @staticmethod
    def _checked(
        train: Sequence[Atoms], val: Sequence[Atoms], settings: FineTuneSettings
    ) -> MACEFineTuneSettings:
        if not isinstance(settings, MACEFineTuneSettings):
            raise IonflowInputError(
                "the MACE backend takes MACEFineTuneSettings (mode, foundation, replay, ...), "
                f"not {type(settings).__name__}"
            )
        if not train or not val:
            raise IonflowInputError(
                f"MACE training needs non-empty train and validation sets (got {len(train)} "
                f"and {len(val)}; split at least {MIN_CONFIGS} configurations)"
            )
        settings.check_files()
        return settings

    @staticmethod
    def _evaluate(
        python: str,
        model: Path,
        splits: dict[str, Sequence[Atoms]],
        out: Path,
        s: MACEFineTuneSettings,
    ) -> dict[str, dict[str, float]]:
        """Per-split MAEs from ``mace.cli.eval_configs`` predictions (the fine-tuned head)."""
        from ase.io import read

        from ionflow.mlip import resolve_device

        configs = [a for split in splits.values() for a in split]
        stress = "s" in s.targets
        write_mace_xyz(configs, out / "eval_in.xyz", stress)
        cmd = [python, "-m", "mace.cli.eval_configs", f"--configs={out / 'eval_in.xyz'}",
               f"--model={model}", f"--output={out / 'eval_out.xyz'}",
               f"--device={resolve_device(s.device)}", f"--default_dtype={s.default_dtype}",
               "--head=Default"]  # fmt: skip
        _run([*cmd, "--compute_stress"] if stress else cmd, out / "mace_eval.log", "MACE eval")
        predicted = read(out / "eval_out.xyz", index=":", format="extxyz")
        metrics, start = {}, 0
        for name, split in splits.items():
            if len(split):
                metrics[name] = prediction_mae(split, predicted[start : start + len(split)])
            start += len(split)
        return metrics
