"""MACE's files as ionflow reads and writes them: data, model descriptions, results.

- extxyz with MACE's key names (``REF_energy``, ``REF_forces``, ``REF_stress``) and replay
  files with either ASE's labels or those keys;
- a model file's atomic numbers and heads, read by the MACE interpreter in a subprocess;
- the per-epoch metrics of ``results/*_train.txt`` (JSON lines, one per head and epoch) and
  MAEs of ``mace.cli.eval_configs`` predictions (``MACE_energy``, ``MACE_forces``, ...);
- the training curve.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ionflow.core.errors import IonflowInputError
from ionflow.core.training.dataset import check_labelled

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ase import Atoms

__all__ = [
    "check_mace_python",
    "history_from_results",
    "inspect_mace_model",
    "mace_python",
    "plot_mace_curve",
    "prediction_mae",
    "read_replay",
    "read_results",
    "write_mace_xyz",
]

_EV_A3_TO_GPA = 160.21766208
#: ionflow's metric names -> MACE's results-file keys (validation MAEs; stress in eV/Å³).
_METRICS = {
    "loss": "loss",
    "energy_eV_atom": "mae_e_per_atom",
    "forces_eV_A": "mae_f",
    "stress_GPa": "mae_stress",
}


def mace_python(python: str | None = None) -> str:
    """The interpreter that runs MACE: ``python``, ``IONFLOW_MACE_PYTHON``, or this one."""
    return python or os.environ.get("IONFLOW_MACE_PYTHON") or sys.executable


def check_mace_python(python: str | None = None) -> str:
    """The MACE interpreter (:func:`mace_python`), checked to have mace-torch (not imported).

    Raises
    ------
    IonflowInputError
        When it cannot run or has no mace-torch.
    """
    exe = mace_python(python)
    code = "import importlib.metadata as m; m.distribution('mace-torch')"
    try:
        proc = subprocess.run([exe, "-c", code], capture_output=True, check=False)
    except OSError as exc:
        raise IonflowInputError(f"cannot run the MACE interpreter {exe}: {exc}") from exc
    if proc.returncode:
        raise IonflowInputError(
            f"{exe} has no mace-torch: train MACE in its own environment (bash "
            "scripts/setup_mace.sh; .venv-mace/bin/ionflow ...), or point "
            "IONFLOW_MACE_PYTHON at .venv-mace/bin/python"
        )
    return exe


def inspect_mace_model(path: str | Path, python: str | None = None) -> dict[str, Any]:
    """Atomic numbers, heads and cutoff of a MACE model file (read in a subprocess).

    Raises
    ------
    IonflowInputError
        For a missing file, or one the MACE interpreter cannot load as a MACE model.
    """
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise IonflowInputError(f"MACE model file not found: {path}")
    code = (
        "import json, sys, mace, torch\n"
        "m = torch.load(sys.argv[1], map_location='cpu', weights_only=False)\n"
        "print(json.dumps({'atomic_numbers': [int(z) for z in m.atomic_numbers],"
        " 'heads': list(getattr(m, 'heads', ['Default'])), 'r_max': float(m.r_max)}))\n"
    )
    proc = subprocess.run(
        [mace_python(python), "-c", code, str(path)], capture_output=True, text=True, check=False
    )
    if proc.returncode:
        raise IonflowInputError(
            f"cannot read {path} as a MACE model with {mace_python(python)}: "
            f"{proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}"
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def read_replay(path: str | Path) -> list[Atoms]:
    """Labelled configurations of a replay file (ASE's labels or MACE's ``REF_`` keys).

    Raises
    ------
    IonflowInputError
        For a missing or unreadable file, or a configuration without energy and forces.
    """
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.io import read

    path = Path(path).expanduser()
    if not path.is_file():
        raise IonflowInputError(f"replay file not found: {path}")
    try:
        configs = read(path, index=":", format="extxyz")
    except Exception as exc:
        raise IonflowInputError(f"cannot read replay file {path} as extxyz: {exc}") from exc
    for atoms in configs:
        if atoms.calc is None and "REF_energy" in atoms.info and "REF_forces" in atoms.arrays:
            res = {"energy": atoms.info["REF_energy"], "forces": atoms.arrays["REF_forces"]}
            if "REF_stress" in atoms.info:
                res["stress"] = atoms.info["REF_stress"]
            atoms.calc = SinglePointCalculator(atoms, **res)
    try:
        check_labelled(configs)
    except IonflowInputError as exc:
        raise IonflowInputError(f"replay file {path}: {exc}") from exc
    return configs


def write_mace_xyz(configs: Sequence[Atoms], path: Path, with_stress: bool) -> Path:
    """Labelled configurations as extxyz with MACE's key names (``REF_energy``, ...)."""
    from ase.io import write
    from ase.stress import full_3x3_to_voigt_6_stress

    labels = check_labelled(configs, require_stress=with_stress)
    frames = []
    for atoms, lab in zip(configs, labels):
        frame = atoms.copy()
        frame.calc = None
        frame.info = {"REF_energy": float(lab.energy)}
        frame.arrays = {k: v for k, v in frame.arrays.items() if k in ("numbers", "positions")}
        frame.arrays["REF_forces"] = np.asarray(lab.forces, dtype=float)
        if with_stress and lab.stress is not None:
            stress = np.asarray(lab.stress, dtype=float)
            frame.info["REF_stress"] = (
                full_3x3_to_voigt_6_stress(stress) if stress.size == 9 else stress
            )
        frames.append(frame)
    write(path, frames, format="extxyz")
    return path


def read_results(results_dir: Path | None) -> list[dict[str, Any]]:
    """Rows of MACE's ``results/*_train.txt`` (JSON lines)."""
    if results_dir is None or not results_dir.is_dir():
        return []
    rows = []
    for file in sorted(results_dir.glob("*_train.txt")):
        for line in file.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line being written
    return rows


def history_from_results(
    rows: list[dict[str, Any]], head: str
) -> tuple[dict[str, list[float]], list[str]]:
    """Per-epoch curves from MACE's results rows: train loss, validation metrics per head."""
    history: dict[str, list[float]] = {}
    epochs = sorted({r["epoch"] for r in rows if r.get("epoch") is not None})
    heads = sorted({r["head"] for r in rows if r.get("mode") == "eval" and "head" in r})
    for epoch in epochs:
        losses = [r["loss"] for r in rows if r.get("mode") == "opt" and r.get("epoch") == epoch]
        history.setdefault("train_loss", []).append(float(np.mean(losses)) if losses else np.nan)
        for name in heads:
            row = next(
                (r for r in rows if r.get("mode") == "eval" and r.get("epoch") == epoch
                 and r.get("head") == name),
                {},
            )  # fmt: skip
            prefix = "val" if name == head else f"{name}_val"
            for key, mace_key in _METRICS.items():
                if mace_key in row:
                    scale = _EV_A3_TO_GPA if key == "stress_GPa" else 1.0
                    history.setdefault(f"{prefix}_{key}", []).append(scale * float(row[mace_key]))
    return history, heads


def prediction_mae(configs: Sequence[Atoms], predicted: Sequence[Atoms]) -> dict[str, float]:
    """Energy (eV/atom), force (eV/Å) and stress (GPa) MAEs of MACE predictions."""
    from ase.stress import full_3x3_to_voigt_6_stress

    labels = check_labelled(configs)
    n = np.array([len(a) for a in configs])
    e_ref = np.array([lab.energy for lab in labels])
    e_pred = np.array([p.info["MACE_energy"] for p in predicted])
    out = {
        "energy_eV_atom": float(np.mean(np.abs((e_pred - e_ref) / n))),
        "forces_eV_A": float(
            np.mean(np.concatenate([
                np.abs(p.arrays["MACE_forces"] - lab.forces).ravel()
                for p, lab in zip(predicted, labels)
            ]))
        ),
    }  # fmt: skip
    if all(lab.stress is not None for lab in labels) and all(
        "MACE_stress" in p.info for p in predicted
    ):
        diffs = []
        for p, lab in zip(predicted, labels):
            s = np.asarray(p.info["MACE_stress"], dtype=float)
            s = full_3x3_to_voigt_6_stress(s.reshape(3, 3)) if s.size == 9 else s
            diffs.append(np.abs(s - np.asarray(lab.stress)))
        out["stress_GPa"] = float(np.mean(diffs) * _EV_A3_TO_GPA)
    return out


def plot_mace_curve(history: dict[str, list[float]], path: Path) -> Path | None:
    """Training loss and per-head validation loss / force MAE per epoch as a PNG."""
    if not history.get("train_loss"):
        return None
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(7.4, 3.2))
    for key, values in history.items():
        if key.endswith("_loss"):
            axes[0].plot(range(1, len(values) + 1), values, "-o", ms=3, label=key[:-5])
        elif key.endswith("_forces_eV_A"):
            axes[1].plot(range(1, len(values) + 1), values, "-s", ms=3, label=key[:-12])
    for ax, label in zip(axes, ("MACE loss", "force MAE (eV/Å)")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_yscale("log")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
