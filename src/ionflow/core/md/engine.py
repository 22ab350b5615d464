"""Molecular dynamics for diffusion: heating, optional NpT, NVT equilibration and production.

One call of :func:`run_md` is one independent run at one temperature (lian2025,
bohm-champagne): velocities from a Maxwell–Boltzmann distribution at ``heating_start_K``
(seeded), a linear heating ramp to the target over ``heating_ps`` at fixed cell, an optional NpT
equilibration whose mean cell over its last part is then imposed (positions scaled), NVT
equilibration, and NVT production. Several independent runs per temperature differ only in
``seed`` (:func:`replica_settings`).

Per step the model is called once, for energy and forces only (stress only during NpT), through
the shared :class:`~ionflow.mlip.Evaluator`. The run keeps, at the sampling interval of the
production phase, unwrapped float32 positions of the mobile ions, the temperature and the
potential energy; a coarse thermodynamic log covers every phase. Full frames only when asked.

Guards stop a run with a one-line ``failure_reason`` (the trajectory so far is kept): non-finite
energy/forces/positions (every step), two atoms closer than ``min_distance_A``, the conserved
quantity drifting beyond ``max_energy_drift_eV_atom`` and, during NpT, the volume leaving
``±max_volume_change`` (every ``guard_interval_fs``), and temperature runaway (window mean above
``max_temperature_factor`` times the target, every step). A force evaluation that raises is a
failure too, not a crash.

With ``checkpoint_path`` the run writes a compact ``.npz`` checkpoint every
``checkpoint_interval_fs`` and when it ends; calling :func:`run_md` again with the same path
resumes from it (or returns the finished result) and gives the same trajectory as an
uninterrupted run: positions, momenta, cell, thermostat/barostat chain variables, the Langevin
random-generator state and all sampled arrays are restored exactly.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from ase.data import atomic_numbers
from tqdm.auto import tqdm

from ionflow.core.errors import IonflowInputError
from ionflow.core.md.forces import ForceEvaluationError, MDCalculator
from ionflow.core.md.guards import (
    TemperatureWindow,
    check_energy_drift,
    check_finite,
    check_min_distance,
    check_volume,
)
from ionflow.core.md.integrators import (
    BAROSTATS,
    THERMOSTATS,
    conserved_energy,
    get_state,
    make_npt,
    make_nvt,
    set_state,
    set_target_temperature,
)
from ionflow.core.md.trajectory import (
    CHECKPOINT_VERSION,
    SampleBuffer,
    Unwrapper,
    read_checkpoint,
    write_checkpoint,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from ase import Atoms
    from ase.md.md import MolecularDynamics

    from ionflow.mlip.models import Evaluator

logger = logging.getLogger(__name__)

PHASES = ("heating", "npt", "equilibration", "production")

#: settings that may differ between a checkpoint and the run resuming it
_RESUME_FREE_FIELDS = ("checkpoint_interval_fs", "checkpoint_wall_s", "chgnet_fast_path")


@dataclass
class MDSettings:
    """Knobs of one MD run (one temperature, one seed).

    Parameters
    ----------
    temperature
        Target temperature (K).
    timestep_fs
        Time step (fs); 1 fs as in lian2025 and bohm-champagne.
    thermostat
        ``"nose-hoover-chain"`` (default), ``"langevin"``, ``"berendsen"`` or ``"nve"`` (no
        thermostat; requires ``heating_ps=0``).
    tdamp_fs
        Nosé–Hoover chain / Berendsen relaxation time (fs); bohm-champagne use 0.1 ps.
    nhc_chain_length
        Number of thermostats in the Nosé–Hoover chain (and of the MTK barostat chain).
    friction_per_fs
        Langevin friction (1/fs).
    heating_ps
        Linear heating ramp from ``heating_start_K`` to ``temperature`` at fixed cell (ps);
        0 disables it (velocities then start at ``temperature``).
    heating_start_K
        Temperature of the initial velocities and of the start of the ramp (K).
    equilibration_ps
        NVT equilibration after heating (and after NpT, in the NpT-averaged cell) (ps);
        50 ps in bohm-champagne.
    production_ps
        NVT production (ps); lian2025 run 3 x 200 ps per temperature.
    sample_interval_fs
        Interval of the stored production frames (fs); a multiple of ``timestep_fs``.
    seed
        Seed of the initial velocities and of the Langevin noise.
    npt_equilibration_ps
        Optional NpT equilibration after heating (ps); 0 disables it. Its mean cell over the
        last ``npt_average_fraction`` is then used for NVT (positions scaled, momenta kept).
        Order: heating -> NpT -> NVT equilibration -> production. (bohm-champagne ran the NVT
        equilibration before NpT and started production right after the rescale; here the NVT
        equilibration follows the rescale, so production starts equilibrated in its cell.)
    pressure_GPa
        NpT pressure (GPa); 1 bar = 1e-4 GPa.
    barostat
        ``"mtk"`` (ASE ``MTKNPT``, full cell, Nosé–Hoover chains; default),
        ``"mtk-isotropic"`` (ASE ``IsotropicMTKNPT``) or ``"berendsen"`` (ASE
        ``NPTBerendsen``, isotropic, two model calls per step). The NpT integrator brings its
        own thermostat (MTK: Nosé–Hoover chain, Berendsen: Berendsen, both with
        ``tdamp_fs``), whatever ``thermostat`` is.
    pdamp_fs
        Barostat relaxation time (fs); bohm-champagne use 1 ps.
    compressibility_per_GPa
        Compressibility for the Berendsen barostat only (1/GPa).
    npt_average_fraction
        Fraction at the end of the NpT run whose mean cell is used (0.5: last half;
        bohm-champagne averaged the last 112 of 140 ps, i.e. 0.8).
    mobile_species
        Element whose unwrapped positions are stored (e.g. ``"Li"``).
    store_full_frames
        Also store unwrapped positions of all atoms at ``full_frame_interval_fs``.
    full_frame_interval_fs
        Interval of full frames (fs); default ``10 * sample_interval_fs``.
    thermo_interval_fs
        Interval of the thermodynamic log over all phases (time, T, E_pot, conserved
        quantity, volume) (fs).
    min_distance_A
        Fail when two atoms come closer than this (Å); 0 disables the check.
    max_temperature_factor
        Fail when the mean temperature over ``temperature_window_fs`` exceeds this factor times
        ``temperature`` (the final target, so a heating ramp never trips it).
    temperature_window_fs
        Averaging window of the runaway check (fs).
    max_energy_drift_eV_atom
        Fail when the integrator's conserved quantity drifts by more than this (eV/atom) from
        its value at the start of the current constant-target segment: Nosé–Hoover chain / MTK
        conserved energy, NVE total energy. Langevin and Berendsen have none: skipped. Not
        checked during the heating ramp (the chain's conserved quantity changes with the
        target). ``None`` disables it.
    max_volume_change
        Fail when the NpT volume leaves ``V0 * (1 ± max_volume_change)``.
    guard_interval_fs
        Interval of the distance, drift and volume checks (fs) (non-finite values and
        temperature are checked every step).
    checkpoint_interval_fs
        Interval of checkpoint writes when ``run_md`` is given a ``checkpoint_path`` (fs).
    checkpoint_wall_s
        Also write one when this much wall time (s) passed since the last one (slow CPU runs);
        ``None``: simulation-time interval only.
    chgnet_fast_path
        With a CHGNet evaluator, build the crystal graph with numpy and compute forces without
        CHGNet's training-only double-backward graph (see :mod:`ionflow.core.md.forces`): the
        same numbers, ~1.3x the steps/s of the evaluator path on a CPU.
    """

    temperature: float
    timestep_fs: float = 1.0
    thermostat: str = "nose-hoover-chain"
    tdamp_fs: float = 100.0
    nhc_chain_length: int = 3
    friction_per_fs: float = 0.01
    heating_ps: float = 2.0
    heating_start_K: float = 100.0
    equilibration_ps: float = 50.0
    production_ps: float = 200.0
    sample_interval_fs: float = 10.0
    seed: int = 0
    npt_equilibration_ps: float = 0.0
    pressure_GPa: float = 0.0
    barostat: str = "mtk"
    pdamp_fs: float = 1000.0
    compressibility_per_GPa: float = 0.01
    npt_average_fraction: float = 0.5
    mobile_species: str = "Li"
    store_full_frames: bool = False
    full_frame_interval_fs: float | None = None
    thermo_interval_fs: float = 100.0
    min_distance_A: float = 0.5
    max_temperature_factor: float = 3.0
    temperature_window_fs: float = 100.0
    max_energy_drift_eV_atom: float | None = 0.1
    max_volume_change: float = 0.5
    guard_interval_fs: float = 10.0
    checkpoint_interval_fs: float = 10_000.0
    checkpoint_wall_s: float | None = 900.0
    chgnet_fast_path: bool = True

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Raise :class:`IonflowInputError` naming the first unusable field."""

        def fail(name: str, what: str) -> None:
            raise IonflowInputError(
                f"MDSettings.{name} must be {what} (got {getattr(self, name)!r})"
            )

        def number(name: str) -> float:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(
                value, int | float | np.integer | np.floating
            ):
                fail(name, "a number")
            if not np.isfinite(value):
                fail(name, "finite")
            return float(value)

        for name in (
            "temperature",
            "timestep_fs",
            "tdamp_fs",
            "friction_per_fs",
            "heating_start_K",
            "sample_interval_fs",
            "pdamp_fs",
            "compressibility_per_GPa",
            "thermo_interval_fs",
            "temperature_window_fs",
            "guard_interval_fs",
            "checkpoint_interval_fs",
            "max_volume_change",
        ):
            if number(name) <= 0:
                fail(name, "> 0")
        for name in ("heating_ps", "equilibration_ps", "production_ps", "npt_equilibration_ps"):
            if number(name) < 0:
                fail(name, ">= 0")
        number("pressure_GPa")
        if number("min_distance_A") < 0:
            fail("min_distance_A", ">= 0 (0 disables the check)")
        if number("max_temperature_factor") <= 1:
            fail("max_temperature_factor", "> 1")
        if self.max_energy_drift_eV_atom is not None and number("max_energy_drift_eV_atom") <= 0:
            fail("max_energy_drift_eV_atom", "> 0 or None")
        if self.checkpoint_wall_s is not None and number("checkpoint_wall_s") <= 0:
            fail("checkpoint_wall_s", "> 0 or None")
        if self.timestep_fs > 10:
            fail("timestep_fs", "<= 10 fs")
        if self.thermostat not in THERMOSTATS:
            fail("thermostat", f"one of {THERMOSTATS}")
        if self.barostat not in BAROSTATS:
            fail("barostat", f"one of {BAROSTATS}")
        if self.thermostat == "nve" and self.heating_ps > 0:
            fail("heating_ps", "0 with thermostat='nve' (a ramp needs a thermostat)")
        if self.thermostat == "nve" and self.npt_equilibration_ps > 0:
            fail("npt_equilibration_ps", "0 with thermostat='nve'")
        if (
            isinstance(self.nhc_chain_length, bool)
            or not isinstance(self.nhc_chain_length, int)
            or self.nhc_chain_length < 1
        ):
            fail("nhc_chain_length", "an integer >= 1")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer):
            fail("seed", "an integer")
        if self.seed < 0:
            fail("seed", ">= 0")
        if not 0 < number("npt_average_fraction") <= 1:
            fail("npt_average_fraction", "in (0, 1]")
        if not isinstance(self.mobile_species, str) or self.mobile_species not in atomic_numbers:
            fail("mobile_species", "an element symbol such as 'Li'")
        if self.full_frame_interval_fs is not None and number("full_frame_interval_fs") <= 0:
            fail("full_frame_interval_fs", "> 0 or None")
        for name in ("sample_interval_fs", "full_frame_interval_fs", "thermo_interval_fs"):
            value = getattr(self, name)
            if value is not None and not _is_multiple(value, self.timestep_fs):
                fail(name, f"a multiple of timestep_fs = {self.timestep_fs:g} fs")
        if self.n_steps["total"] == 0:
            raise IonflowInputError(
                "MDSettings: heating, NpT, equilibration and production are all zero steps"
            )

    # ------------------------------------------------------------------ derived numbers
    def steps_of(self, time_fs: float) -> int:
        """Number of steps that cover ``time_fs`` (rounded)."""
        return round(time_fs / self.timestep_fs)

    @property
    def n_steps(self) -> dict[str, int]:
        """Steps of each phase (``heating``, ``npt``, ``equilibration``, ``production``) and
        ``total``."""
        out = {
            "heating": self.steps_of(1000 * self.heating_ps),
            "npt": self.steps_of(1000 * self.npt_equilibration_ps),
            "equilibration": self.steps_of(1000 * self.equilibration_ps),
            "production": self.steps_of(1000 * self.production_ps),
        }
        out["total"] = sum(out.values())
        return out

    @property
    def n_frames(self) -> int:
        """Number of production frames of a completed run (including time 0)."""
        return self.n_steps["production"] // self._every(self.sample_interval_fs) + 1

    def _every(self, interval_fs: float) -> int:
        return max(1, self.steps_of(interval_fs))

    @property
    def full_frame_interval(self) -> float:
        """Full-frame interval actually used (fs)."""
        if self.full_frame_interval_fs is None:
            return 10 * self.sample_interval_fs
        return self.full_frame_interval_fs

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields (JSON-friendly)."""
        return dataclasses.asdict(self)


def replica_settings(settings: MDSettings, n_runs: int) -> list[MDSettings]:
    """``n_runs`` copies of ``settings`` with distinct seeds (``seed``, ``seed + 1``, ...).

    Independent runs per temperature (lian2025: three per temperature) differ only in the
    initial velocities and, for Langevin, the noise.
    """
    if isinstance(n_runs, bool) or not isinstance(n_runs, int) or n_runs < 1:
        raise IonflowInputError(f"n_runs must be an integer >= 1 (got {n_runs!r})")
    return [dataclasses.replace(settings, seed=settings.seed + i) for i in range(n_runs)]


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
            "formula": _formula(self.species),
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


def run_md(
    atoms: Atoms,
    evaluator: Evaluator,
    settings: MDSettings,
    *,
    checkpoint_path: str | Path | None = None,
    progress: bool = True,
    step_callback: Callable[[int, Atoms], None] | None = None,
) -> MDResult:
    """Run heating, optional NpT, NVT equilibration and NVT production on ``atoms``.

    Parameters
    ----------
    atoms
        Periodic structure (not modified; its momenta are ignored: velocities come from
        ``settings.seed``).
    evaluator
        The shared model evaluator (``ionflow.mlip.get_evaluator``).
    settings
        Run settings.
    checkpoint_path
        Checkpoint file (``.npz``). If it exists the run resumes from it; a finished
        checkpoint returns its result without running anything.
    progress
        Show a tqdm progress bar (auto-disabled when not on a terminal).
    step_callback
        Called as ``step_callback(step, atoms)`` after every step with the working structure
        (monitoring, tests; an exception it raises propagates and stops the run).

    Returns
    -------
    MDResult
        Production arrays and scalars; ``completed=False`` and ``failure_reason`` when a guard
        stopped the run or a force evaluation failed.

    Raises
    ------
    IonflowInputError
        Unusable structure or settings, or a checkpoint written for another run.
    """
    if not isinstance(settings, MDSettings):
        raise IonflowInputError(f"settings must be MDSettings (got {type(settings).__name__})")
    settings.validate()
    runner = _Runner(atoms, evaluator, settings, progress=progress, callback=step_callback)
    path = Path(checkpoint_path) if checkpoint_path is not None else None
    if path is not None and path.exists():
        runner.restore(path)
        if runner.finished:
            logger.info("MD checkpoint %s is finished; returning its result", path)
            return runner.result()
    runner.run(path)
    return runner.result()


# ====================================================================== internals
def _is_multiple(value: float, step: float) -> bool:
    ratio = value / step
    return abs(ratio - round(ratio)) < 1e-6 and round(ratio) >= 1


def _formula(species: list[str]) -> str:
    from ase.formula import Formula

    return Formula("".join(species)).format("hill") if species else ""


class _Runner:
    """State of one run; :meth:`run` advances it, :meth:`restore` loads a checkpoint."""

    def __init__(
        self,
        atoms: Atoms,
        evaluator: Evaluator,
        settings: MDSettings,
        *,
        progress: bool,
        callback: Callable[[int, Atoms], None] | None,
    ) -> None:
        self.settings = s = settings
        self.evaluator = evaluator
        self.progress = progress
        self.callback = callback
        _validate_atoms(atoms, s)

        steps = s.n_steps
        self.n_heat = steps["heating"]
        self.npt_start = self.n_heat
        self.eq_start = self.npt_start + steps["npt"]
        self.prod_start = self.eq_start + steps["equilibration"]
        self.n_total = steps["total"]
        self.n_npt = steps["npt"]
        self.n_npt_avg = max(1, round(s.npt_average_fraction * self.n_npt)) if self.n_npt else 0
        self.sample_every = s._every(s.sample_interval_fs)
        self.full_every = s._every(s.full_frame_interval)
        self.thermo_every = s._every(s.thermo_interval_fs)
        self.guard_every = s._every(s.guard_interval_fs)
        self.ckpt_every = s._every(s.checkpoint_interval_fs)

        work = atoms.copy()
        work.calc = None
        work.set_constraint()
        self.calc = MDCalculator(evaluator, fast_chgnet=s.chgnet_fast_path)
        work.calc = self.calc
        self.atoms = work
        self.symbols = work.get_chemical_symbols()
        self.mobile = np.array(
            [i for i, sym in enumerate(self.symbols) if sym == s.mobile_species], dtype=int
        )
        n_mobile = len(self.mobile)

        self.rng = np.random.default_rng(s.seed)
        self.unwrapper = Unwrapper(work.get_positions(), work.cell.array)
        self.frames = SampleBuffer(
            {
                "time": ((), float),
                "positions": ((n_mobile, 3), np.float32),
                "temperature": ((), float),
                "energy": ((), float),
            }
        )
        self.full = SampleBuffer({"time": ((), float), "positions": ((len(work), 3), np.float32)})
        self.thermo = SampleBuffer(
            {
                "time": ((), float),
                "temperature": ((), float),
                "energy": ((), float),
                "conserved": ((), float),
                "volume": ((), float),
            }
        )
        self.window = TemperatureWindow(s.steps_of(s.temperature_window_fs))

        self.step = 0
        self.dyn: MolecularDynamics | None = None
        self.dyn_kind: str | None = None
        self.drift_ref: float | None = None
        self.nvt_cell = work.cell.array.copy()
        self.npt_cell_sum = np.zeros((3, 3))
        self.npt_count = 0
        self.npt_v0: float | None = None
        self.npt_mean_cell: np.ndarray | None = None
        self.failure: str | None = None
        self.failure_step: int | None = None
        self.finished = False
        self.started = False
        self.wall_before = 0.0
        self.loop_time = 0.0
        self.steps_this_call = 0
        self.saved_steps_per_s = 0.0

    # ------------------------------------------------------------------ schedule
    def phase(self, step: int) -> str:
        """Phase of the step that goes from state ``step`` to ``step + 1``."""
        if step < self.n_heat:
            return "heating"
        if step < self.eq_start:
            return "npt"
        if step < self.prod_start:
            return "equilibration"
        return "production"

    def target(self, step: int) -> float:
        """Thermostat target for the step leaving state ``step`` (K)."""
        s = self.settings
        if step < self.n_heat:
            frac = (step + 1) / self.n_heat
            return s.heating_start_K + (s.temperature - s.heating_start_K) * frac
        return s.temperature

    # ------------------------------------------------------------------ integrators
    def _build_dyn(self, kind: str) -> None:
        s = self.settings
        # Langevin runs with a FixCom constraint (ASE's replacement for fixcm=True); the MTK
        # barostats refuse constraints, and the others conserve momentum anyway
        if kind == "nvt" and s.thermostat == "langevin":
            from ase.constraints import FixCom

            self.atoms.set_constraint(FixCom())
        else:
            self.atoms.set_constraint()
        if kind == "npt":
            self.calc.with_stress = True
            self.dyn = make_npt(
                self.atoms,
                s.barostat,
                timestep_fs=s.timestep_fs,
                temperature_K=s.temperature,
                pressure_GPa=s.pressure_GPa,
                tdamp_fs=s.tdamp_fs,
                pdamp_fs=s.pdamp_fs,
                compressibility_per_GPa=s.compressibility_per_GPa,
                chain_length=s.nhc_chain_length,
            )
        else:
            self.calc.with_stress = False
            self.dyn = make_nvt(
                self.atoms,
                s.thermostat,
                timestep_fs=s.timestep_fs,
                temperature_K=self.target(self.step),
                tdamp_fs=s.tdamp_fs,
                friction_per_fs=s.friction_per_fs,
                chain_length=s.nhc_chain_length,
                rng=self.rng,
            )
        self.dyn_kind = kind
        self.drift_ref = None

    def _ensure_dyn(self) -> None:
        needed = "npt" if self.phase(self.step) == "npt" else "nvt"
        if self.dyn is not None and self.dyn_kind == needed:
            return
        if self.dyn_kind == "npt" and needed == "nvt":
            self._finish_npt()
        if needed == "npt" and self.npt_v0 is None:
            self.npt_v0 = float(self.atoms.get_volume())
            logger.info(
                "NpT equilibration: %d steps at %.4g GPa (%s barostat)",
                self.n_npt,
                self.settings.pressure_GPa,
                self.settings.barostat,
            )
        self._build_dyn(needed)

    def _finish_npt(self) -> None:
        mean = self.npt_cell_sum / max(self.npt_count, 1)
        self.atoms.set_cell(mean, scale_atoms=True)
        self.npt_mean_cell = mean.copy()
        self.nvt_cell = mean.copy()
        self.unwrapper.reset(self.atoms.get_positions(), mean)
        logger.info(
            "NpT mean cell over the last %d steps: volume %.2f Å^3 (start %.2f Å^3)",
            self.npt_count,
            abs(np.linalg.det(mean)),
            self.npt_v0 or float("nan"),
        )

    # ------------------------------------------------------------------ main loop
    def _initial_state(self) -> None:
        s = self.settings
        t_init = s.heating_start_K if self.n_heat > 0 else s.temperature
        initial_velocities(self.atoms, t_init, self.rng)
        self.started = True
        logger.info(
            "MD %s: %d atoms (%d %s), T = %g K, %s, %d steps of %g fs "
            "(heating %d, NpT %d, equilibration %d, production %d), seed %d",
            _formula(self.symbols),
            len(self.atoms),
            len(self.mobile),
            s.mobile_species,
            s.temperature,
            s.thermostat,
            self.n_total,
            s.timestep_fs,
            self.n_heat,
            self.n_npt,
            self.prod_start - self.eq_start,
            self.n_total - self.prod_start,
            s.seed,
        )
        self._ensure_dyn()
        try:
            energy = self.atoms.get_potential_energy()
            forces = self.atoms.get_forces()
        except ForceEvaluationError as exc:
            self._fail(f"force evaluation failed at step 0: {exc}", 0)
            return
        reason = check_finite(energy, forces, self.atoms.positions, 0) or check_min_distance(
            self.atoms, s.min_distance_A, 0
        )
        if reason:
            self._fail(reason, 0)
            return
        self._record(0, energy)

    def run(self, checkpoint: Path | None) -> None:
        s = self.settings
        start = last_save = time.perf_counter()
        bar = tqdm(
            total=self.n_total,
            initial=self.step,
            desc=f"MD {s.temperature:g} K",
            unit="step",
            disable=None if self.progress else True,
            leave=False,
        )
        try:
            if not self.started:
                self._initial_state()
            last_phase = None
            while self.failure is None and self.step < self.n_total:
                self._ensure_dyn()
                phase = self.phase(self.step)
                if phase != last_phase:
                    logger.info("MD %s from step %d", phase, self.step)
                    last_phase = phase
                if phase == "heating":
                    set_target_temperature(self.dyn, self.target(self.step))
                try:
                    self.dyn.step()
                except ForceEvaluationError as exc:
                    self._fail(
                        f"force evaluation failed at step {self.step + 1}: {exc}", self.step + 1
                    )
                    break
                except Exception as exc:  # the integrator itself (overflow, singular cell ...)
                    self._fail(
                        f"integrator failed at step {self.step + 1}: {type(exc).__name__}: {exc}",
                        self.step + 1,
                    )
                    break
                self.step += 1
                self.steps_this_call += 1
                if self.callback is not None:
                    self.callback(self.step, self.atoms)
                self._after_step(phase)
                bar.update(1)
                if self.step % self.thermo_every == 0:
                    bar.set_postfix(phase=phase, T=f"{self.window.mean:.0f} K", refresh=False)
                if checkpoint is not None and self.failure is None and self.step < self.n_total:
                    now = time.perf_counter()
                    wall_due = s.checkpoint_wall_s is not None and (
                        now - last_save >= s.checkpoint_wall_s
                    )
                    if self.step % self.ckpt_every == 0 or wall_due:
                        self.loop_time = now - start
                        self.save(checkpoint)
                        last_save = now
        finally:
            bar.close()
            self.loop_time = time.perf_counter() - start
        self.finished = True
        if self.failure is None:
            logger.info(
                "MD finished: %d steps in %.1f s (%.2f steps/s)",
                self.step,
                self.wall_before + self.loop_time,
                self.steps_this_call / self.loop_time if self.loop_time else 0.0,
            )
        if checkpoint is not None:
            self.save(checkpoint)

    def _after_step(self, phase: str) -> None:
        s, atoms, step = self.settings, self.atoms, self.step
        positions = atoms.get_positions()
        if self.dyn_kind == "npt":
            self.unwrapper.set_cell(atoms.cell.array)
        self.unwrapper.update(positions)
        energy = atoms.get_potential_energy()
        forces = atoms.get_forces()
        reason = check_finite(energy, forces, positions, step)
        if reason is None:
            self.window.push(atoms.get_temperature())
            reason = self.window.check(
                s.max_temperature_factor * s.temperature,
                s.max_temperature_factor,
                s.temperature,
                s.temperature_window_fs,
                step,
            )
        if reason is None and phase == "npt":  # a 3x3 determinant: every step
            reason = check_volume(atoms.get_volume(), self.npt_v0, s.max_volume_change, step)
        if reason is None and step % self.guard_every == 0:
            reason = check_min_distance(atoms, s.min_distance_A, step)
            if reason is None and phase == "heating":
                self.drift_ref = None  # the chain's conserved quantity moves with the target
            elif reason is None and s.max_energy_drift_eV_atom is not None:
                current = conserved_energy(self.dyn)
                if self.drift_ref is None:
                    self.drift_ref = current
                label = (
                    "total energy, nve"
                    if s.thermostat == "nve"
                    else f"conserved quantity of {s.barostat if phase == 'npt' else s.thermostat}"
                )
                reason = check_energy_drift(
                    current, self.drift_ref, len(atoms), s.max_energy_drift_eV_atom, label, step
                )
        if reason is not None:
            self._fail(reason, step)
            return
        if phase == "npt" and step - self.npt_start > self.n_npt - self.n_npt_avg:
            self.npt_cell_sum += atoms.cell.array
            self.npt_count += 1
        self._record(step, energy)

    def _record(self, step: int, energy: float) -> None:
        atoms = self.atoms
        if step % self.thermo_every == 0:
            cons = conserved_energy(self.dyn) if self.dyn is not None else None
            self.thermo.append(
                time=step * self.settings.timestep_fs / 1000,
                temperature=atoms.get_temperature(),
                energy=energy,
                conserved=np.nan if cons is None else cons,
                volume=atoms.get_volume(),
            )
        k = step - self.prod_start
        if k < 0:
            return
        time_ps = k * self.settings.timestep_fs / 1000
        if k % self.sample_every == 0:
            self.frames.append(
                time=time_ps,
                positions=self.unwrapper.unwrapped[self.mobile],
                temperature=atoms.get_temperature(),
                energy=energy,
            )
        if self.settings.store_full_frames and k % self.full_every == 0:
            self.full.append(time=time_ps, positions=self.unwrapper.unwrapped)

    def _fail(self, reason: str, step: int) -> None:
        self.failure = reason
        self.failure_step = step
        logger.warning("MD stopped: %s", reason)

    # ------------------------------------------------------------------ checkpoint
    def _fingerprint(self) -> dict[str, Any]:
        data = self.settings.as_dict()
        for name in _RESUME_FREE_FIELDS:
            data.pop(name, None)
        return json.loads(json.dumps(data))

    def save(self, path: Path) -> None:
        atoms = self.atoms
        arrays = {
            "numbers": atoms.numbers,
            "positions": atoms.get_positions(),
            "momenta": atoms.get_momenta(),
            "cell": atoms.cell.array,
            "unwrapped": self.unwrapper.unwrapped,
            "unwrap_previous": self.unwrapper.previous,
            "nvt_cell": self.nvt_cell,
            "npt_cell_sum": self.npt_cell_sum,
            **self.frames.arrays("frames."),
            **self.thermo.arrays("thermo."),
        }
        if self.settings.store_full_frames:
            arrays.update(self.full.arrays("full."))
        if self.npt_mean_cell is not None:
            arrays["npt_mean_cell"] = self.npt_mean_cell
        if self.dyn is not None:
            arrays.update({f"dyn.{k}": v for k, v in get_state(self.dyn).items()})
        total_wall = self.wall_before + self.loop_time
        meta = {
            "step": self.step,
            "n_total": self.n_total,
            "dyn_kind": self.dyn_kind,
            "settings": self._fingerprint(),
            "model": getattr(getattr(self.evaluator, "spec", None), "label", None),
            "rng_state": self.rng.bit_generator.state,
            "drift_ref": self.drift_ref,
            "window": list(self.window.values),
            "npt_count": self.npt_count,
            "npt_v0": self.npt_v0,
            "failure": self.failure,
            "failure_step": self.failure_step,
            "finished": self.finished,
            "wall_time_s": total_wall,
            "steps_per_s": self.steps_this_call / self.loop_time if self.loop_time else 0.0,
        }
        write_checkpoint(path, arrays, meta)
        logger.debug("MD checkpoint written at step %d: %s", self.step, path)

    def restore(self, path: Path) -> None:
        try:
            arrays, meta = read_checkpoint(path)
        except Exception as exc:
            raise IonflowInputError(f"cannot read MD checkpoint {path}: {exc}") from exc
        if meta.get("version") != CHECKPOINT_VERSION:
            raise IonflowInputError(
                f"MD checkpoint {path} has format version {meta.get('version')}, "
                f"expected {CHECKPOINT_VERSION}; delete it to start again"
            )
        saved, current = meta["settings"], self._fingerprint()
        diff = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
        if diff:
            details = ", ".join(f"{k}: {saved.get(k)!r} -> {current.get(k)!r}" for k in diff)
            raise IonflowInputError(
                f"MD checkpoint {path} was written with other settings ({details}); "
                "use the same settings or delete the checkpoint"
            )
        if not np.array_equal(arrays["numbers"], self.atoms.numbers):
            raise IonflowInputError(f"MD checkpoint {path} belongs to another structure")
        label = getattr(getattr(self.evaluator, "spec", None), "label", None)
        if meta.get("model") != label:
            raise IonflowInputError(
                f"MD checkpoint {path} was written with model {meta.get('model')!r}, not {label!r}"
            )
        atoms = self.atoms
        atoms.set_cell(arrays["cell"], scale_atoms=False)
        atoms.set_positions(arrays["positions"], apply_constraint=False)
        atoms.set_momenta(arrays["momenta"], apply_constraint=False)
        self.unwrapper.reset(arrays["unwrapped"], arrays["cell"])
        self.unwrapper.previous = np.array(arrays["unwrap_previous"], dtype=float)
        self.nvt_cell = np.array(arrays["nvt_cell"])
        self.npt_cell_sum = np.array(arrays["npt_cell_sum"])
        self.npt_mean_cell = arrays.get("npt_mean_cell")
        self.frames.load(arrays, "frames.")
        self.thermo.load(arrays, "thermo.")
        if self.settings.store_full_frames:
            self.full.load(arrays, "full.")
        self.rng.bit_generator.state = meta["rng_state"]
        self.step = int(meta["step"])
        self.drift_ref = meta["drift_ref"]
        self.window = TemperatureWindow(self.window.n, meta["window"])
        self.npt_count = int(meta["npt_count"])
        self.npt_v0 = meta["npt_v0"]
        self.failure = meta["failure"]
        self.failure_step = meta["failure_step"]
        self.finished = bool(meta["finished"])
        self.wall_before = float(meta["wall_time_s"])
        self.saved_steps_per_s = float(meta["steps_per_s"])
        self.started = True
        if not self.finished and meta["dyn_kind"] is not None:
            self._build_dyn(meta["dyn_kind"])
            drift_ref = meta["drift_ref"]
            set_state(
                self.dyn,
                {k[len("dyn.") :]: v for k, v in arrays.items() if k.startswith("dyn.")},
            )
            self.drift_ref = drift_ref
        logger.info("Resuming MD from %s at step %d of %d", path, self.step, self.n_total)

    # ------------------------------------------------------------------ result
    def result(self) -> MDResult:
        s = self.settings
        full = self.full if s.store_full_frames else None
        steps_per_s = (
            self.steps_this_call / self.loop_time
            if self.steps_this_call and self.loop_time
            else self.saved_steps_per_s
        )
        completed = self.failure is None and self.step >= self.n_total
        return MDResult(
            temperature_target=float(s.temperature),
            times_ps=self.frames.array("time"),
            positions_mobile=self.frames.array("positions"),
            mobile_indices=self.mobile.copy(),
            cell=np.array(self.nvt_cell),
            temperatures_K=self.frames.array("temperature"),
            potential_energies_eV=self.frames.array("energy"),
            completed=completed,
            failure_reason=self.failure,
            failure_step=self.failure_step,
            n_steps_done=self.step,
            n_steps_total=self.n_total,
            wall_time_s=self.wall_before + self.loop_time,
            steps_per_s=float(steps_per_s),
            seed=int(s.seed),
            n_atoms=len(self.atoms),
            species=list(self.symbols),
            volume_A3=float(abs(np.linalg.det(self.nvt_cell))),
            timestep_fs=float(s.timestep_fs),
            sample_interval_fs=float(s.sample_interval_fs),
            thermostat=s.thermostat,
            full_frames=None if full is None else full.array("positions"),
            full_frame_times_ps=None if full is None else full.array("time"),
            npt_mean_cell=None if self.npt_mean_cell is None else np.array(self.npt_mean_cell),
            thermo_times_ps=self.thermo.array("time"),
            thermo_temperatures_K=self.thermo.array("temperature"),
            thermo_potential_energies_eV=self.thermo.array("energy"),
            thermo_conserved_energies_eV=self.thermo.array("conserved"),
            thermo_volumes_A3=self.thermo.array("volume"),
            settings=s.as_dict(),
        )


def initial_velocities(atoms: Atoms, temperature_K: float, rng: np.random.Generator) -> None:
    """Maxwell–Boltzmann momenta from ``rng``, no centre-of-mass motion, exactly at
    ``temperature_K``."""
    from ase.md import velocitydistribution as vd

    if hasattr(vd, "thermalize_momenta"):  # ASE >= 3.29
        vd.thermalize_momenta(atoms, temperature_K, rng=rng)
    else:  # pragma: no cover - older ASE
        vd.MaxwellBoltzmannDistribution(atoms, temperature_K=temperature_K, rng=rng)
    vd.Stationary(atoms)
    vd.force_temperature(atoms, temperature_K)


def _validate_atoms(atoms: Atoms, settings: MDSettings) -> None:
    from ase import Atoms as AseAtoms

    if not isinstance(atoms, AseAtoms):
        raise IonflowInputError(
            f"run_md needs an ASE Atoms (got {type(atoms).__name__}); convert a pymatgen "
            "Structure with pymatgen.io.ase.AseAtomsAdaptor.get_atoms"
        )
    if len(atoms) < 2:
        raise IonflowInputError("run_md needs at least two atoms")
    if not all(atoms.pbc):
        raise IonflowInputError("run_md needs a periodic structure (pbc in all directions)")
    volume = abs(np.linalg.det(atoms.cell.array))
    if not np.isfinite(volume) or volume < 1e-6:
        raise IonflowInputError("run_md: the cell is singular")
    if not np.all(np.isfinite(atoms.positions)):
        raise IonflowInputError("run_md: non-finite atomic positions")
    if atoms.constraints:
        raise IonflowInputError(
            "run_md does not support constraints (the MTK barostat cannot use them); "
            "remove them with atoms.set_constraint()"
        )
    if settings.mobile_species not in atoms.get_chemical_symbols():
        raise IonflowInputError(
            f"mobile species {settings.mobile_species!r} is not in {atoms.get_chemical_formula()}"
        )
