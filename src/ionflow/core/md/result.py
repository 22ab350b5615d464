"""The outcome of one MD run (:class:`MDResult`): compact production arrays and scalars."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["MDResult", "hill_formula"]


@dataclass
class MDResult:
    """Outcome of one MD run: compact production arrays plus a few scalars.

    Attributes
    ----------
    temperature_target
        Target temperature (K).
    times_ps
        Time of each production frame from the start of production (ps), shape (n_frames,).
    positions_mobile
        Unwrapped Cartesian positions of the mobile ions (Å), float32 (n_frames, n_mobile, 3).
    mobile_indices
        Indices of the mobile ions in the structure.
    cell
        Cell of the NVT phases (3, 3) (Å): the input cell, or the NpT mean cell.
    temperatures_K, potential_energies_eV
        Instantaneous temperature and potential energy of each production frame.
    completed
        Whether every step ran.
    failure_reason
        One line naming why the run stopped early (``None`` when it did not).
    failure_step
        Step at which it stopped (``None`` when completed).
    n_steps_done, n_steps_total
        Steps done (all phases) and planned.
    wall_time_s
        Wall time of the MD loop over all (resumed) calls (s).
    steps_per_s
        Steps per second of the last call's MD loop.
    seed
        Seed of the run.
    full_frames, full_frame_times_ps
        Unwrapped positions of all atoms, float32 (n_full, n_atoms, 3), and their production
        times; ``None`` unless asked for.
    npt_mean_cell
        Mean NpT cell (``None`` without NpT or when the run stopped before its end).
    n_atoms, species
        Number of atoms and their element symbols.
    volume_A3
        Volume of ``cell`` (Å^3).
    timestep_fs, sample_interval_fs, thermostat
        As in the settings.
    thermo_times_ps, thermo_temperatures_K, thermo_potential_energies_eV,
    thermo_conserved_energies_eV, thermo_volumes_A3
        Coarse log over all phases (time from the start of the run; conserved quantity NaN
        where the integrator has none).
    settings
        The settings as a dict.
    """

    temperature_target: float
    times_ps: np.ndarray
    positions_mobile: np.ndarray
    mobile_indices: np.ndarray
    cell: np.ndarray
    temperatures_K: np.ndarray
    potential_energies_eV: np.ndarray
    completed: bool
    failure_reason: str | None
    n_steps_done: int
    wall_time_s: float
    steps_per_s: float
    seed: int
    n_atoms: int
    species: list[str]
    volume_A3: float
    failure_step: int | None = None
    n_steps_total: int = 0
    timestep_fs: float = 1.0
    sample_interval_fs: float = 10.0
    thermostat: str = "nose-hoover-chain"
    full_frames: np.ndarray | None = None
    full_frame_times_ps: np.ndarray | None = None
    npt_mean_cell: np.ndarray | None = None
    thermo_times_ps: np.ndarray = field(default_factory=lambda: np.zeros(0))
    thermo_temperatures_K: np.ndarray = field(default_factory=lambda: np.zeros(0))
    thermo_potential_energies_eV: np.ndarray = field(default_factory=lambda: np.zeros(0))
    thermo_conserved_energies_eV: np.ndarray = field(default_factory=lambda: np.zeros(0))
    thermo_volumes_A3: np.ndarray = field(default_factory=lambda: np.zeros(0))
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        """Number of production frames stored."""
        return len(self.times_ps)

    @property
    def mobile_species(self) -> str | None:
        """Element of the mobile ions."""
        return self.species[int(self.mobile_indices[0])] if len(self.mobile_indices) else None

    def as_arrays(self) -> dict[str, np.ndarray]:
        """The arrays (for the ``data`` store); optional ones only when present."""
        out = {
            "times_ps": np.asarray(self.times_ps),
            "positions_mobile": np.asarray(self.positions_mobile, dtype=np.float32),
            "mobile_indices": np.asarray(self.mobile_indices),
            "cell": np.asarray(self.cell),
            "temperatures_K": np.asarray(self.temperatures_K),
            "potential_energies_eV": np.asarray(self.potential_energies_eV),
            "thermo_times_ps": np.asarray(self.thermo_times_ps),
            "thermo_temperatures_K": np.asarray(self.thermo_temperatures_K),
            "thermo_potential_energies_eV": np.asarray(self.thermo_potential_energies_eV),
            "thermo_conserved_energies_eV": np.asarray(self.thermo_conserved_energies_eV),
            "thermo_volumes_A3": np.asarray(self.thermo_volumes_A3),
        }
        if self.full_frames is not None:
            out["full_frames"] = np.asarray(self.full_frames, dtype=np.float32)
            out["full_frame_times_ps"] = np.asarray(self.full_frame_times_ps)
        if self.npt_mean_cell is not None:
            out["npt_mean_cell"] = np.asarray(self.npt_mean_cell)
        return out

    def summary(self) -> dict[str, Any]:
        """Scalars only (numbers, strings, booleans, ``None``) for the task document."""
        temps = np.asarray(self.temperatures_K, dtype=float)
        energies = np.asarray(self.potential_energies_eV, dtype=float)
        prod_ps = float(self.times_ps[-1]) if len(self.times_ps) else 0.0
        npt_volume = (
            None if self.npt_mean_cell is None else float(abs(np.linalg.det(self.npt_mean_cell)))
        )
        return {
            "temperature_target": float(self.temperature_target),
            "completed": bool(self.completed),
            "failure_reason": self.failure_reason,
            "failure_step": self.failure_step,
            "n_steps_done": int(self.n_steps_done),
            "n_steps_total": int(self.n_steps_total),
            "n_frames": int(self.n_frames),
            "production_ps_sampled": prod_ps,
            "n_atoms": int(self.n_atoms),
            "n_mobile": len(self.mobile_indices),
            "mobile_species": self.mobile_species,
            "formula": hill_formula(self.species),
            "volume_A3": float(self.volume_A3),
            "npt_volume_A3": npt_volume,
            "seed": int(self.seed),
            "thermostat": self.thermostat,
            "timestep_fs": float(self.timestep_fs),
            "sample_interval_fs": float(self.sample_interval_fs),
            "mean_temperature_K": float(np.mean(temps)) if len(temps) else None,
            "std_temperature_K": float(np.std(temps)) if len(temps) else None,
            "mean_potential_energy_eV": float(np.mean(energies)) if len(energies) else None,
            "wall_time_s": float(self.wall_time_s),
            "steps_per_s": float(self.steps_per_s),
            "has_full_frames": self.full_frames is not None,
        }


def hill_formula(species: list[str]) -> str:
    """Return the Hill formula of a list of element symbols (``""`` for none)."""
    from ase.formula import Formula

    return Formula("".join(species)).format("hill") if species else ""
