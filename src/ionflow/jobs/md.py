"""MLIP molecular dynamics job."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from ase.data import atomic_numbers
from jobflow import Maker
from pymatgen.io.ase import AseAtomsAdaptor

from ionflow.core.md import MDSettings, run_md
from ionflow.core.npz import checkpoint_path
from ionflow.jobs.base import check_model_fields, ionflow_job
from ionflow.mlip import get_evaluator, parse_model_spec
from ionflow.schemas.arrays import PackedArray
from ionflow.schemas.md import MDDoc, MDTrajectory
from ionflow.settings import default_model, get_settings

if TYPE_CHECKING:
    from pymatgen.core import Structure

logger = logging.getLogger(__name__)


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
        numbers=[atomic_numbers[s] for s in result.species],
    )


def _run_suffix(arguments: dict[str, Any]) -> str:
    return f"{arguments['temperature']:.0f}K seed{arguments['seed']}"


@dataclass
class MLIPMDMaker(Maker):
    """MLIP molecular dynamics at one temperature (bohm-champagne / lian2025 protocol).

    Parameters
    ----------
    name
        Job name (each job appends its temperature and seed, e.g. ``"mlip md 800K seed1"``).
    model
        Model spec (see :mod:`ionflow.mlip.spec`); default ``IONFLOW_DEFAULT_MODEL``.
    md_settings
        :class:`ionflow.core.md.MDSettings`: time step, thermostat, heating, equilibration and
        production times, sampling, optional NpT, guards, ...; a dict of its fields is accepted.
        Its ``temperature`` and ``seed`` are replaced by each job's own.
    checkpoint_dir
        Where runs checkpoint (default: ``IONFLOW_CHECKPOINT_DIR``, ``~/.ionflow/checkpoints``).
        Point it at a shared scratch directory so a rerun of a killed job resumes.
    worker
        Kind of worker the job needs (``"gpu"``).
    """

    name: str = "mlip md"
    model: str | dict = field(default_factory=default_model)
    md_settings: MDSettings = field(default_factory=MDSettings)
    checkpoint_dir: str | None = None
    worker: str = "gpu"

    def __post_init__(self) -> None:
        if isinstance(self.md_settings, dict):
            self.md_settings = MDSettings(**self.md_settings)  # a bad knob fails here
        check_model_fields(self)

    @ionflow_job(output_schema=MDDoc, data=["trajectory"], name_suffix=_run_suffix)
    def make(self, structure: Structure, temperature: float, seed: int = 0) -> MDDoc:
        """One NVT run (heating, equilibration, production; optional NpT first) with an MLIP.

        Parameters
        ----------
        structure
            The MD cell (already the supercell).
        temperature
            Target temperature (K).
        seed
            Seed of the initial velocities and stochastic thermostats.

        Returns
        -------
        MDDoc
            Run summary; the compact trajectory goes to the data store.
        """
        spec = parse_model_spec(self.model)
        settings = replace(self.md_settings, temperature=float(temperature), seed=int(seed))
        ckpt = checkpoint_path(
            self.checkpoint_dir or get_settings().CHECKPOINT_DIR,
            "md",
            f"{structure.composition.reduced_formula}_{temperature:.0f}K_seed{seed}",
            {"structure": structure, "settings": settings, "model": spec.label},
        )
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        atoms = AseAtomsAdaptor.get_atoms(structure)
        result = run_md(atoms, get_evaluator(spec), settings, checkpoint_path=ckpt)
        if result.completed:
            ckpt.unlink(missing_ok=True)  # the result goes to the store; a rerun starts afresh
        summary = result.summary()
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
