"""The step loop of one MD run: :func:`run_md` and its runner.

The runner integrates heating -> optional NpT -> NVT equilibration -> production
(:class:`~ionflow.core.md.schedule.Schedule`), one model call per step for energy and forces
(stress only during NpT), checks the guards after every step (:mod:`ionflow.core.md.guards`),
records the sampled arrays, checkpoints (:mod:`ionflow.core.md.checkpoint`) and reports progress
(:mod:`ionflow.core.md.progress`). See :mod:`ionflow.core.md` for the science of a run.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ionflow.core.errors import IonflowInputError
from ionflow.core.md.checkpoint import restore_checkpoint, save_checkpoint
from ionflow.core.md.forces import ForceEvaluationError, MDCalculator
from ionflow.core.md.guards import (
    TemperatureWindow,
    check_energy_drift,
    check_finite,
    check_min_distance,
    check_volume,
)
from ionflow.core.md.integrators import (
    conserved_energy,
    make_npt,
    make_nvt,
    set_target_temperature,
)
from ionflow.core.md.progress import MDProgress
from ionflow.core.md.result import MDResult, hill_formula
from ionflow.core.md.schedule import Schedule
from ionflow.core.md.settings import MDSettings
from ionflow.core.md.structure import initial_velocities, validate_atoms
from ionflow.core.md.trajectory import SampleBuffer, Unwrapper

if TYPE_CHECKING:
    from collections.abc import Callable

    from ase import Atoms
    from ase.md.md import MolecularDynamics

    from ionflow.mlip.models import Evaluator

__all__ = ["run_md"]

logger = logging.getLogger(__name__)


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
        Show progress: a tqdm bar on a terminal; where stderr is not a terminal (batch jobs,
        log files) an INFO log line every 5 % of the steps and at least every minute.
        ``False``: neither.
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
        restore_checkpoint(runner, path)
        if runner.finished:
            logger.info("MD checkpoint %s is finished; returning its result", path)
            return runner.result()
    runner.run(path)
    return runner.result()


class _Runner:
    """State of one run; :meth:`run` advances it.

    :func:`~ionflow.core.md.checkpoint.restore_checkpoint` loads a checkpoint into it (the
    attributes it reads and sets are listed by :class:`~ionflow.core.md.checkpoint.RunState`).
    """

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
        validate_atoms(atoms, s)
        self.plan = Schedule.from_settings(s)

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
        self.rng = np.random.default_rng(s.seed)
        self.unwrapper = Unwrapper(work.get_positions(), work.cell.array)
        self._make_buffers(len(self.mobile), len(work))
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
        self.last_save = 0.0
        self.last_energy = float("nan")

    def _make_buffers(self, n_mobile: int, n_atoms: int) -> None:
        """Production frames, optional full frames and the thermodynamic log."""
        self.frames = SampleBuffer(
            {
                "time": ((), float),
                "positions": ((n_mobile, 3), np.float32),
                "temperature": ((), float),
                "energy": ((), float),
            }
        )
        self.full = SampleBuffer({"time": ((), float), "positions": ((n_atoms, 3), np.float32)})
        self.thermo = SampleBuffer(
            {
                "time": ((), float),
                "temperature": ((), float),
                "energy": ((), float),
                "conserved": ((), float),
                "volume": ((), float),
            }
        )

    # ------------------------------------------------------------------ integrators
    def build_dyn(self, kind: str) -> None:
        """Build the integrator of ``kind`` (``"nvt"`` or ``"npt"``) on the working atoms."""
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
                temperature_K=self.plan.target(self.step),
                tdamp_fs=s.tdamp_fs,
                friction_per_fs=s.friction_per_fs,
                chain_length=s.nhc_chain_length,
                rng=self.rng,
            )
        self.dyn_kind = kind
        self.drift_ref = None

    def _ensure_dyn(self) -> None:
        needed = "npt" if self.plan.phase(self.step) == "npt" else "nvt"
        if self.dyn is not None and self.dyn_kind == needed:
            return
        if self.dyn_kind == "npt" and needed == "nvt":
            self._finish_npt()
        if needed == "npt" and self.npt_v0 is None:
            self.npt_v0 = float(self.atoms.get_volume())
            logger.info(
                "NpT equilibration: %d steps at %.4g GPa (%s barostat)",
                self.plan.n_npt,
                self.settings.pressure_GPa,
                self.settings.barostat,
            )
        self.build_dyn(needed)

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
        t_init = s.heating_start_K if self.plan.n_heat > 0 else s.temperature
        initial_velocities(self.atoms, t_init, self.rng)
        self.started = True
        logger.info(
            "MD %s: %d atoms (%d %s), T = %g K, %s, %d steps of %g fs "
            "(heating %d, NpT %d, equilibration %d, production %d), seed %d",
            hill_formula(self.symbols),
            len(self.atoms),
            len(self.mobile),
            s.mobile_species,
            s.temperature,
            s.thermostat,
            self.plan.n_total,
            s.timestep_fs,
            self.plan.n_heat,
            self.plan.n_npt,
            self.plan.prod_start - self.plan.eq_start,
            self.plan.n_total - self.plan.prod_start,
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
        self.last_energy = energy
        self._record(0, energy)

    def run(self, checkpoint: Path | None) -> None:
        """Run from the current state to the end (or a failure), checkpointing to ``checkpoint``."""
        start = self.last_save = time.perf_counter()
        progress = MDProgress(
            self.plan.n_total,
            self.step,
            f"MD {self.settings.temperature:g} K",
            enabled=self.progress,
        )
        try:
            if not self.started:
                self._initial_state()
            last_phase = None
            while self.failure is None and self.step < self.plan.n_total:
                self._ensure_dyn()
                phase = self.plan.phase(self.step)
                if phase != last_phase:
                    logger.info("MD %s from step %d", phase, self.step)
                    last_phase = phase
                if not self._step(phase):
                    break
                progress.update(
                    self.step,
                    phase,
                    self.window.mean,
                    self.last_energy,
                    postfix=self.step % self.plan.thermo_every == 0,
                )
                if checkpoint is not None:
                    self._checkpoint_if_due(checkpoint, start)
        finally:
            progress.close()
            self.loop_time = time.perf_counter() - start
        self._finish(checkpoint)

    def _step(self, phase: str) -> bool:
        """Make one step of ``phase`` and check it; ``False`` when the integrator failed."""
        if phase == "heating":
            set_target_temperature(self.dyn, self.plan.target(self.step))
        try:
            self.dyn.step()
        except ForceEvaluationError as exc:
            self._fail(f"force evaluation failed at step {self.step + 1}: {exc}", self.step + 1)
            return False
        except Exception as exc:  # the integrator itself (overflow, singular cell ...)
            self._fail(
                f"integrator failed at step {self.step + 1}: {type(exc).__name__}: {exc}",
                self.step + 1,
            )
            return False
        self.step += 1
        self.steps_this_call += 1
        if self.callback is not None:
            self.callback(self.step, self.atoms)
        self._after_step(phase)
        return True

    def _checkpoint_if_due(self, checkpoint: Path, start: float) -> None:
        s = self.settings
        if self.failure is not None or self.step >= self.plan.n_total:
            return  # the final checkpoint is written by _finish
        now = time.perf_counter()
        wall_due = s.checkpoint_wall_s is not None and now - self.last_save >= s.checkpoint_wall_s
        if self.step % self.plan.ckpt_every == 0 or wall_due:
            self.loop_time = now - start
            save_checkpoint(self, checkpoint)
            self.last_save = now

    def _finish(self, checkpoint: Path | None) -> None:
        self.finished = True
        if self.failure is None:
            logger.info(
                "MD finished: %d steps in %.1f s (%.2f steps/s)",
                self.step,
                self.wall_before + self.loop_time,
                self.steps_this_call / self.loop_time if self.loop_time else 0.0,
            )
        if checkpoint is not None:
            save_checkpoint(self, checkpoint)

    def _after_step(self, phase: str) -> None:
        s, atoms, step = self.settings, self.atoms, self.step
        positions = atoms.get_positions()
        if self.dyn_kind == "npt":
            self.unwrapper.set_cell(atoms.cell.array)
        self.unwrapper.update(positions)
        energy = atoms.get_potential_energy()
        forces = atoms.get_forces()
        self.last_energy = energy
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
        if reason is None and step % self.plan.guard_every == 0:
            reason = self._periodic_guards(phase)
        if reason is not None:
            self._fail(reason, step)
            return
        if phase == "npt" and step - self.plan.npt_start > self.plan.n_npt - self.plan.n_npt_avg:
            self.npt_cell_sum += atoms.cell.array
            self.npt_count += 1
        self._record(step, energy)

    def _periodic_guards(self, phase: str) -> str | None:
        """Distance and energy-drift checks (every ``guard_interval_fs``)."""
        s, step = self.settings, self.step
        reason = check_min_distance(self.atoms, s.min_distance_A, step)
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
                current, self.drift_ref, len(self.atoms), s.max_energy_drift_eV_atom, label, step
            )
        return reason

    def _record(self, step: int, energy: float) -> None:
        atoms = self.atoms
        if step % self.plan.thermo_every == 0:
            cons = conserved_energy(self.dyn) if self.dyn is not None else None
            self.thermo.append(
                time=step * self.settings.timestep_fs / 1000,
                temperature=atoms.get_temperature(),
                energy=energy,
                conserved=np.nan if cons is None else cons,
                volume=atoms.get_volume(),
            )
        k = step - self.plan.prod_start
        if k < 0:
            return
        time_ps = k * self.settings.timestep_fs / 1000
        if k % self.plan.sample_every == 0:
            self.frames.append(
                time=time_ps,
                positions=self.unwrapper.unwrapped[self.mobile],
                temperature=atoms.get_temperature(),
                energy=energy,
            )
        if self.settings.store_full_frames and k % self.plan.full_every == 0:
            self.full.append(time=time_ps, positions=self.unwrapper.unwrapped)

    def _fail(self, reason: str, step: int) -> None:
        self.failure = reason
        self.failure_step = step
        logger.warning("MD stopped: %s", reason)

    # ------------------------------------------------------------------ result
    def result(self) -> MDResult:
        """The run's :class:`MDResult` as it stands."""
        s = self.settings
        full = self.full if s.store_full_frames else None
        steps_per_s = (
            self.steps_this_call / self.loop_time
            if self.steps_this_call and self.loop_time
            else self.saved_steps_per_s
        )
        completed = self.failure is None and self.step >= self.plan.n_total
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
            n_steps_total=self.plan.n_total,
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
            settings=dataclasses.asdict(s),
        )
