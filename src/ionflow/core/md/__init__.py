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

With a ``checkpoint_path`` a run is checkpointed and resumable with the same trajectory as an
uninterrupted run (:mod:`~ionflow.core.md.checkpoint`). Progress: a tqdm bar on a terminal,
periodic INFO log lines elsewhere (:mod:`~ionflow.core.md.progress`).

Modules: :mod:`~ionflow.core.md.settings` (:class:`MDSettings`, :func:`replica_settings`),
:mod:`~ionflow.core.md.runner` (:func:`run_md`, the step loop), :mod:`~ionflow.core.md.schedule`
(phases in steps), :mod:`~ionflow.core.md.structure` (input checks, initial velocities),
:mod:`~ionflow.core.md.result` (:class:`MDResult`), :mod:`~ionflow.core.md.checkpoint` (save
and resume a run), :mod:`~ionflow.core.md.progress` (bar or log lines),
:mod:`~ionflow.core.md.integrators`, :mod:`~ionflow.core.md.guards`,
:mod:`~ionflow.core.md.forces` and :mod:`~ionflow.core.md.trajectory`.
"""

from __future__ import annotations

from ionflow.core.md.forces import ForceEvaluationError, MDCalculator
from ionflow.core.md.integrators import BAROSTATS, THERMOSTATS
from ionflow.core.md.result import MDResult
from ionflow.core.md.runner import run_md
from ionflow.core.md.settings import PHASES, MDSettings, replica_settings

__all__ = [
    "BAROSTATS",
    "PHASES",
    "THERMOSTATS",
    "ForceEvaluationError",
    "MDCalculator",
    "MDResult",
    "MDSettings",
    "replica_settings",
    "run_md",
]
