"""The knobs of one MD run (:class:`MDSettings`) and their validation.

:class:`MDSettings` is a dataclass and an ``MSONable``, so it can be a typed field of a jobflow
Maker: ``jsanitize(settings, strict=True)`` gives a dict with ``@module``/``@class`` that
``MontyDecoder`` turns back into an equal :class:`MDSettings`. Every construction (and
``dataclasses.replace``) validates the fields; the first unusable one is named in an
:class:`~ionflow.core.errors.IonflowInputError`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ase.data import atomic_numbers
from monty.json import MSONable

from ionflow.core.errors import IonflowInputError
from ionflow.core.md.integrators import BAROSTATS, THERMOSTATS

__all__ = ["PHASES", "MDSettings", "replica_settings"]

#: the phases of a run, in order (keys of :attr:`MDSettings.n_steps` besides ``total``)
PHASES = ("heating", "npt", "equilibration", "production")


@dataclass
class MDSettings(MSONable):
    """Knobs of one MD run (one temperature, one seed).

    Parameters
    ----------
    temperature
        Target temperature (K); a Maker sets it per job (``dataclasses.replace``).
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

    Examples
    --------
    >>> s = MDSettings(800.0, production_ps=100.0, seed=3)
    >>> s.n_steps["production"], s.n_frames
    (100000, 10001)
    """

    temperature: float = 300.0
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

    def validate(self) -> None:
        """Raise :class:`IonflowInputError` naming the first unusable field.

        Raises
        ------
        IonflowInputError
            ``MDSettings.<field> must be <what> (got <value>)``, or all phases are zero steps.
        """
        for rule in _RULES:
            problem = rule(self)
            if problem is not None:
                name, what = problem
                raise IonflowInputError(
                    f"MDSettings.{name} must be {what} (got {getattr(self, name)!r})"
                )
        if self.n_steps["total"] == 0:
            raise IonflowInputError(
                "MDSettings: heating, NpT, equilibration and production are all zero steps"
            )

    # ------------------------------------------------------------------ derived numbers
    def steps_of(self, time_fs: float) -> int:
        """Return the number of steps that cover ``time_fs`` (rounded)."""
        return round(time_fs / self.timestep_fs)

    def interval_steps(self, interval_fs: float) -> int:
        """Return the number of steps in one interval of ``interval_fs`` (at least 1)."""
        return max(1, self.steps_of(interval_fs))

    @property
    def n_steps(self) -> dict[str, int]:
        """Steps of each phase (:data:`PHASES`) and ``total``."""
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
        return self.n_steps["production"] // self.interval_steps(self.sample_interval_fs) + 1

    @property
    def full_frame_interval(self) -> float:
        """Full-frame interval actually used (fs)."""
        if self.full_frame_interval_fs is None:
            return 10 * self.sample_interval_fs
        return self.full_frame_interval_fs


def replica_settings(settings: MDSettings, n_runs: int) -> list[MDSettings]:
    """Return ``n_runs`` copies of ``settings`` with distinct seeds (``seed``, ``seed + 1``, ...).

    Independent runs per temperature (lian2025: three per temperature) differ only in the
    initial velocities and, for Langevin, the noise.

    Parameters
    ----------
    settings
        Settings of the first run.
    n_runs
        Number of runs (>= 1).

    Returns
    -------
    list of MDSettings
        The settings of each run.
    """
    if isinstance(n_runs, bool) or not isinstance(n_runs, int) or n_runs < 1:
        raise IonflowInputError(f"n_runs must be an integer >= 1 (got {n_runs!r})")
    return [dataclasses.replace(settings, seed=settings.seed + i) for i in range(n_runs)]


# ====================================================================== validation rules
#: a rule returns ``(field, what it must be)`` for an unusable field, else ``None``
_Rule = Callable[[MDSettings], tuple[str, str] | None]


def _is_multiple(value: float, step: float) -> bool:
    ratio = value / step
    return abs(ratio - round(ratio)) < 1e-6 and round(ratio) >= 1


def _number(name: str, ok: Callable[[float], bool], what: str, *, optional: bool = False) -> _Rule:
    """Rule: ``name`` is a finite real number (or ``None`` when ``optional``) and ``ok``."""

    def rule(s: MDSettings) -> tuple[str, str] | None:
        value = getattr(s, name)
        if optional and value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            return name, "a number"
        if not np.isfinite(value):
            return name, "finite"
        return None if ok(float(value)) else (name, what)

    return rule


def _any_value(value: float) -> bool:
    return True


def _positive(value: float) -> bool:
    return value > 0


def _non_negative(value: float) -> bool:
    return value >= 0


def _one_of(name: str, choices: tuple[str, ...]) -> _Rule:
    """Rule: ``name`` is one of ``choices``."""

    def rule(s: MDSettings) -> tuple[str, str] | None:
        return None if getattr(s, name) in choices else (name, f"one of {choices}")

    return rule


def _zero_without_thermostat(name: str, why: str) -> _Rule:
    """Rule: phase ``name`` lasts 0 ps when the thermostat is ``"nve"``."""

    def rule(s: MDSettings) -> tuple[str, str] | None:
        if s.thermostat == "nve" and getattr(s, name) > 0:
            return name, f"0 with thermostat='nve'{why}"
        return None

    return rule


def _chain_length(s: MDSettings) -> tuple[str, str] | None:
    value = s.nhc_chain_length
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return "nhc_chain_length", "an integer >= 1"
    return None


def _seed(s: MDSettings) -> tuple[str, str] | None:
    if isinstance(s.seed, bool) or not isinstance(s.seed, int | np.integer):
        return "seed", "an integer"
    return ("seed", ">= 0") if s.seed < 0 else None


def _element(s: MDSettings) -> tuple[str, str] | None:
    if not isinstance(s.mobile_species, str) or s.mobile_species not in atomic_numbers:
        return "mobile_species", "an element symbol such as 'Li'"
    return None


def _multiple_of_timestep(name: str) -> _Rule:
    """Rule: interval ``name`` (unless ``None``) is a whole number of time steps."""

    def rule(s: MDSettings) -> tuple[str, str] | None:
        value = getattr(s, name)
        if value is not None and not _is_multiple(value, s.timestep_fs):
            return name, f"a multiple of timestep_fs = {s.timestep_fs:g} fs"
        return None

    return rule


_POSITIVE_FIELDS = (
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
)
_DURATION_FIELDS = ("heating_ps", "equilibration_ps", "production_ps", "npt_equilibration_ps")

#: the checks of :meth:`MDSettings.validate`, in the order they are made
_RULES: tuple[_Rule, ...] = (
    *(_number(name, _positive, "> 0") for name in _POSITIVE_FIELDS),
    *(_number(name, _non_negative, ">= 0") for name in _DURATION_FIELDS),
    _number("pressure_GPa", _any_value, "a number"),
    _number("min_distance_A", _non_negative, ">= 0 (0 disables the check)"),
    _number("max_temperature_factor", lambda v: v > 1, "> 1"),
    _number("max_energy_drift_eV_atom", _positive, "> 0 or None", optional=True),
    _number("checkpoint_wall_s", _positive, "> 0 or None", optional=True),
    _number("timestep_fs", lambda v: v <= 10, "<= 10 fs"),
    _one_of("thermostat", THERMOSTATS),
    _one_of("barostat", BAROSTATS),
    _zero_without_thermostat("heating_ps", " (a ramp needs a thermostat)"),
    _zero_without_thermostat("npt_equilibration_ps", ""),
    _chain_length,
    _seed,
    _number("npt_average_fraction", lambda v: 0 < v <= 1, "in (0, 1]"),
    _element,
    _number("full_frame_interval_fs", _positive, "> 0 or None", optional=True),
    *(
        _multiple_of_timestep(name)
        for name in ("sample_interval_fs", "full_frame_interval_fs", "thermo_interval_fs")
    ),
)
