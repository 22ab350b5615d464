"""Checkpoints of an MD run: save its full state, check and restore it in a new process.

With ``checkpoint_path`` :func:`~ionflow.core.md.run_md` writes a compact ``.npz`` checkpoint
every ``checkpoint_interval_fs`` (and every ``checkpoint_wall_s``) and when it ends; calling it
again with the same path resumes from it (or returns the finished result) and gives the same
trajectory as an uninterrupted run: positions, momenta, cell, thermostat/barostat chain
variables, the Langevin random-generator state and all sampled arrays are restored exactly.

A checkpoint only resumes the run it was written for: the same settings (up to
:data:`RESUME_FREE_FIELDS`), structure and model; anything else is an
:class:`~ionflow.core.errors.IonflowInputError`. The file itself is written atomically by
:mod:`ionflow.core.npz`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ionflow.core.errors import IonflowInputError
from ionflow.core.md.guards import TemperatureWindow
from ionflow.core.md.integrators import get_state, set_state
from ionflow.core.npz import read_npz, write_npz

if TYPE_CHECKING:
    from pathlib import Path

    from ase import Atoms
    from ase.md.md import MolecularDynamics

    from ionflow.core.md.schedule import Schedule
    from ionflow.core.md.settings import MDSettings
    from ionflow.core.md.trajectory import SampleBuffer, Unwrapper

__all__ = [
    "CHECKPOINT_VERSION",
    "RESUME_FREE_FIELDS",
    "RunState",
    "read_checkpoint",
    "restore_checkpoint",
    "save_checkpoint",
    "settings_fingerprint",
    "write_checkpoint",
]

logger = logging.getLogger(__name__)

#: checkpoint format version (bump when the layout changes)
CHECKPOINT_VERSION = 1

#: settings that may differ between a checkpoint and the run resuming it
RESUME_FREE_FIELDS = ("checkpoint_interval_fs", "checkpoint_wall_s", "chgnet_fast_path")


class RunState(Protocol):
    """What a checkpoint holds of a run: the attributes of the MD runner it reads and sets."""

    settings: MDSettings
    evaluator: Any
    atoms: Atoms
    rng: np.random.Generator
    unwrapper: Unwrapper
    frames: SampleBuffer
    thermo: SampleBuffer
    full: SampleBuffer
    window: TemperatureWindow
    step: int
    plan: Schedule
    dyn: MolecularDynamics | None
    dyn_kind: str | None
    drift_ref: float | None
    nvt_cell: np.ndarray
    npt_cell_sum: np.ndarray
    npt_count: int
    npt_v0: float | None
    npt_mean_cell: np.ndarray | None
    failure: str | None
    failure_step: int | None
    finished: bool
    started: bool
    wall_before: float
    loop_time: float
    steps_this_call: int
    saved_steps_per_s: float

    def build_dyn(self, kind: str) -> None:
        """Build the integrator of ``kind`` (``"nvt"`` or ``"npt"``) on the working atoms."""


def write_checkpoint(path: str | Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write an MD checkpoint atomically (see :func:`ionflow.core.npz.write_npz`)."""
    write_npz(path, arrays, {"version": CHECKPOINT_VERSION, **meta})


def read_checkpoint(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """Return ``(arrays, meta)`` of a checkpoint written by :func:`write_checkpoint`."""
    return read_npz(path)


def settings_fingerprint(settings: MDSettings) -> dict[str, Any]:
    """Return the settings a resumed run must share with its checkpoint, as JSON types."""
    data = dataclasses.asdict(settings)
    for name in RESUME_FREE_FIELDS:
        data.pop(name, None)
    return json.loads(json.dumps(data))


def save_checkpoint(run: RunState, path: Path) -> None:
    """Write the state of ``run`` to ``path``.

    Parameters
    ----------
    run
        The run (the MD runner).
    path
        Checkpoint file (``.npz``); replaced atomically.
    """
    write_checkpoint(path, _state_arrays(run), _state_meta(run))
    logger.debug("MD checkpoint written at step %d: %s", run.step, path)


def restore_checkpoint(run: RunState, path: Path) -> None:
    """Load the checkpoint at ``path`` into ``run`` (which was built for the same run).

    Parameters
    ----------
    run
        A freshly built runner with the settings, structure and evaluator of the checkpoint.
    path
        Checkpoint file written by :func:`save_checkpoint`.

    Raises
    ------
    IonflowInputError
        The file is unreadable, of another format version, or was written for other settings,
        another structure or another model.
    """
    try:
        arrays, meta = read_checkpoint(path)
    except Exception as exc:
        raise IonflowInputError(f"cannot read MD checkpoint {path}: {exc}") from exc
    _check_same_run(run, path, arrays, meta)
    _load_state(run, arrays, meta)
    logger.info("Resuming MD from %s at step %d of %d", path, run.step, run.plan.n_total)


# ====================================================================== internals
def _model_label(evaluator: Any) -> str | None:
    return getattr(getattr(evaluator, "spec", None), "label", None)


def _state_arrays(run: RunState) -> dict[str, np.ndarray]:
    atoms = run.atoms
    arrays = {
        "numbers": atoms.numbers,
        "positions": atoms.get_positions(),
        "momenta": atoms.get_momenta(),
        "cell": atoms.cell.array,
        "unwrapped": run.unwrapper.unwrapped,
        "unwrap_previous": run.unwrapper.previous,
        "nvt_cell": run.nvt_cell,
        "npt_cell_sum": run.npt_cell_sum,
        **run.frames.arrays("frames."),
        **run.thermo.arrays("thermo."),
    }
    if run.settings.store_full_frames:
        arrays.update(run.full.arrays("full."))
    if run.npt_mean_cell is not None:
        arrays["npt_mean_cell"] = run.npt_mean_cell
    if run.dyn is not None:
        arrays.update({f"dyn.{k}": v for k, v in get_state(run.dyn).items()})
    return arrays


def _state_meta(run: RunState) -> dict[str, Any]:
    return {
        "step": run.step,
        "n_total": run.plan.n_total,
        "dyn_kind": run.dyn_kind,
        "settings": settings_fingerprint(run.settings),
        "model": _model_label(run.evaluator),
        "rng_state": run.rng.bit_generator.state,
        "drift_ref": run.drift_ref,
        "window": list(run.window.values),
        "npt_count": run.npt_count,
        "npt_v0": run.npt_v0,
        "failure": run.failure,
        "failure_step": run.failure_step,
        "finished": run.finished,
        "wall_time_s": run.wall_before + run.loop_time,
        "steps_per_s": run.steps_this_call / run.loop_time if run.loop_time else 0.0,
    }


def _check_same_run(run: RunState, path: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    if meta.get("version") != CHECKPOINT_VERSION:
        raise IonflowInputError(
            f"MD checkpoint {path} has format version {meta.get('version')}, "
            f"expected {CHECKPOINT_VERSION}; delete it to start again"
        )
    saved, current = meta["settings"], settings_fingerprint(run.settings)
    diff = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
    if diff:
        details = ", ".join(f"{k}: {saved.get(k)!r} -> {current.get(k)!r}" for k in diff)
        raise IonflowInputError(
            f"MD checkpoint {path} was written with other settings ({details}); "
            "use the same settings or delete the checkpoint"
        )
    if not np.array_equal(arrays["numbers"], run.atoms.numbers):
        raise IonflowInputError(f"MD checkpoint {path} belongs to another structure")
    label = _model_label(run.evaluator)
    if meta.get("model") != label:
        raise IonflowInputError(
            f"MD checkpoint {path} was written with model {meta.get('model')!r}, not {label!r}"
        )


def _load_state(run: RunState, arrays: dict[str, np.ndarray], meta: dict) -> None:
    atoms = run.atoms
    atoms.set_cell(arrays["cell"], scale_atoms=False)
    atoms.set_positions(arrays["positions"], apply_constraint=False)
    atoms.set_momenta(arrays["momenta"], apply_constraint=False)
    run.unwrapper.reset(arrays["unwrapped"], arrays["cell"])
    run.unwrapper.previous = np.array(arrays["unwrap_previous"], dtype=float)
    run.nvt_cell = np.array(arrays["nvt_cell"])
    run.npt_cell_sum = np.array(arrays["npt_cell_sum"])
    run.npt_mean_cell = arrays.get("npt_mean_cell")
    run.frames.load(arrays, "frames.")
    run.thermo.load(arrays, "thermo.")
    if run.settings.store_full_frames:
        run.full.load(arrays, "full.")
    run.rng.bit_generator.state = meta["rng_state"]
    run.step = int(meta["step"])
    run.drift_ref = meta["drift_ref"]
    run.window = TemperatureWindow(run.window.n, meta["window"])
    run.npt_count = int(meta["npt_count"])
    run.npt_v0 = meta["npt_v0"]
    run.failure = meta["failure"]
    run.failure_step = meta["failure_step"]
    run.finished = bool(meta["finished"])
    run.wall_before = float(meta["wall_time_s"])
    run.saved_steps_per_s = float(meta["steps_per_s"])
    run.started = True
    if not run.finished and meta["dyn_kind"] is not None:
        run.build_dyn(meta["dyn_kind"])  # resets drift_ref: set it again below
        set_state(run.dyn, {k[len("dyn.") :]: v for k, v in arrays.items() if k.startswith("dyn.")})
        run.drift_ref = meta["drift_ref"]
