"""MLIP molecular dynamics job."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from jobflow import Maker, job
from pymatgen.io.ase import AseAtomsAdaptor

from ionflow.core.md import MDSettings, run_md
from ionflow.jobs.base import route
from ionflow.mlip import get_evaluator, parse_model_spec
from ionflow.schemas.arrays import PackedArray
from ionflow.schemas.md import MDDoc, MDTrajectory

if TYPE_CHECKING:
    from jobflow import Job
    from pymatgen.core import Structure

logger = logging.getLogger(__name__)


def checkpoint_file(
    directory: str | Path,
    structure: Structure,
    temperature: float,
    seed: int,
    settings: dict[str, Any] | None = None,
    model: str = "",
) -> Path:
    """Deterministic checkpoint name: a rerun of the same job (same structure, temperature,
    seed, settings and model) finds and resumes it; a changed job starts afresh."""
    import json

    blob = "|".join(
        [
            structure.to_json(),
            f"{temperature}",
            f"{seed}",
            json.dumps(settings or {}, sort_keys=True, default=str),
            model,
        ]
    )
    key = hashlib.sha1(blob.encode(), usedforsecurity=False).hexdigest()[:12]
    formula = structure.composition.reduced_formula
    return Path(directory).expanduser() / f"md_{formula}_{temperature:.0f}K_seed{seed}_{key}.npz"


def _trajectory(result: Any) -> MDTrajectory:
    arrays = result.as_arrays()
    thermo = {
        k: PackedArray.pack(v, "float32")
        for k, v in arrays.items()
        if k.startswith("thermo_") and len(v)
    }
    full = arrays.get("full_frames")
    return MDTrajectory(
        positions_mobile=PackedArray.pack(arrays["positions_mobile"], "float32", quantum=1e-4),
        times_ps=PackedArray.pack(arrays["times_ps"], "float64"),
        temperatures_K=PackedArray.pack(arrays["temperatures_K"], "float32"),
        potential_energies_eV=PackedArray.pack(arrays["potential_energies_eV"], "float64"),
        mobile_indices=[int(i) for i in arrays["mobile_indices"]],
        cell=np.asarray(arrays["cell"], dtype=float).tolist(),
        thermo=thermo,
        full_frames=PackedArray.pack(full, "float32", quantum=1e-4) if full is not None else None,
        full_frame_times_ps=(
            PackedArray.pack(arrays["full_frame_times_ps"], "float64") if full is not None else None
        ),
    )


@job(output_schema=MDDoc, data=["trajectory"])
def run_mlip_md(
    structure: Structure,
    temperature: float,
    model: str | dict = "chgnet",
    md_settings: dict[str, Any] | None = None,
    seed: int = 0,
    checkpoint_dir: str | None = None,
) -> MDDoc:
    """One NVT run (heating, equilibration, production; optional NpT first) with an MLIP."""
    spec = parse_model_spec(model)
    settings = MDSettings(temperature=temperature, seed=seed, **(md_settings or {}))
    atoms = AseAtomsAdaptor.get_atoms(structure)
    from ionflow.settings import get_settings

    ckpt = checkpoint_file(
        checkpoint_dir or get_settings().CHECKPOINT_DIR,
        structure,
        temperature,
        seed,
        settings=md_settings,
        model=spec.label,
    )
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    result = run_md(atoms, get_evaluator(spec), settings, checkpoint_path=ckpt)
    summary = result.summary()
    if result.completed:
        ckpt.unlink(missing_ok=True)  # the result goes to the store; a rerun starts afresh
    logger.info(
        "MD %s at %.0f K seed %d: %s, %d frames, %.2f steps/s",
        summary["formula"],
        temperature,
        seed,
        "completed" if result.completed else f"stopped: {result.failure_reason}",
        result.n_frames,
        result.steps_per_s,
    )
    return MDDoc(
        formula=summary["formula"],
        model=spec.label,
        temperature_K=float(temperature),
        seed=int(seed),
        completed=result.completed,
        failure_reason=result.failure_reason,
        n_atoms=summary["n_atoms"],
        n_mobile=summary["n_mobile"],
        mobile_species=summary["mobile_species"],
        volume_A3=summary["volume_A3"],
        n_frames=result.n_frames,
        frame_interval_fs=float(settings.sample_interval_fs),
        production_ps_sampled=summary["production_ps_sampled"],
        mean_temperature_K=summary["mean_temperature_K"],
        steps_per_s=summary["steps_per_s"],
        wall_time_s=summary["wall_time_s"],
        summary=summary,
        settings=result.settings,
        trajectory=_trajectory(result),
    )


@dataclass
class MLIPMDMaker(Maker):
    """MLIP molecular dynamics at one temperature (bohm-champagne / lian2025 protocol).

    Parameters
    ----------
    name
        Job name.
    model
        Model spec (see :mod:`ionflow.mlip.spec`).
    md_settings
        Fields of :class:`ionflow.core.md.MDSettings` other than ``temperature`` and
        ``seed`` (``timestep_fs``, ``thermostat``, ``heating_ps``, ``equilibration_ps``,
        ``production_ps``, ``sample_interval_fs``, ``npt_equilibration_ps``, guards, ...).
    checkpoint_dir
        Where runs checkpoint (default: ``IONFLOW_CHECKPOINT_DIR``, ``~/.ionflow/checkpoints``).
        Point it at a shared scratch directory so a rerun of a killed job resumes.
    worker
        Kind of worker the job needs (``"gpu"``).
    """

    name: str = "mlip md"
    model: str | dict = "chgnet"
    md_settings: dict[str, Any] = field(default_factory=dict)
    checkpoint_dir: str | None = None
    worker: str = "gpu"

    def __post_init__(self) -> None:
        MDSettings(temperature=300.0, **self.md_settings)  # fail early on a bad knob
        spec = parse_model_spec(self.model)
        if not isinstance(self.model, str):
            self.model = spec.as_dict()

    def make(self, structure: Structure, temperature: float, seed: int = 0) -> Job:
        """Job running MD of ``structure`` at ``temperature`` (K) with ``seed``."""
        j = run_mlip_md(
            structure,
            temperature,
            model=self.model,
            md_settings=self.md_settings,
            seed=seed,
            checkpoint_dir=self.checkpoint_dir,
        )
        j.name = f"{self.name} {temperature:.0f}K seed{seed}"
        return route(j, self.worker)
