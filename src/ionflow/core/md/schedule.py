"""The plan of an MD run in steps: phase boundaries, heating targets and sampling intervals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ionflow.core.md.settings import MDSettings

__all__ = ["Schedule"]


@dataclass(frozen=True)
class Schedule:
    """Steps of each phase and the step intervals of one run (from :class:`MDSettings`).

    State ``k`` is the structure after ``k`` steps; the step from state ``k`` to ``k + 1``
    belongs to :meth:`phase` ``(k)``. Phases run heating -> NpT -> equilibration -> production.

    Parameters
    ----------
    n_heat
        Steps of the heating ramp.
    n_npt
        Steps of the NpT equilibration.
    n_npt_avg
        Last NpT steps whose cells are averaged (0 without NpT).
    eq_start
        First step of the NVT equilibration.
    prod_start
        First step of production (state ``prod_start`` is production time 0).
    n_total
        Steps of the whole run.
    sample_every, full_every, thermo_every, guard_every, ckpt_every
        Steps between production frames, full frames, thermodynamic log entries, periodic
        guard checks and checkpoints.
    heating_start_K
        Temperature at the start of the ramp (K).
    temperature
        Target temperature (K).
    """

    n_heat: int
    n_npt: int
    n_npt_avg: int
    eq_start: int
    prod_start: int
    n_total: int
    sample_every: int
    full_every: int
    thermo_every: int
    guard_every: int
    ckpt_every: int
    heating_start_K: float
    temperature: float

    @classmethod
    def from_settings(cls, s: MDSettings) -> Schedule:
        """Return the schedule of a run with settings ``s``."""
        steps = s.n_steps
        n_npt = steps["npt"]
        eq_start = steps["heating"] + n_npt
        return cls(
            n_heat=steps["heating"],
            n_npt=n_npt,
            n_npt_avg=max(1, round(s.npt_average_fraction * n_npt)) if n_npt else 0,
            eq_start=eq_start,
            prod_start=eq_start + steps["equilibration"],
            n_total=steps["total"],
            sample_every=s.interval_steps(s.sample_interval_fs),
            full_every=s.interval_steps(s.full_frame_interval),
            thermo_every=s.interval_steps(s.thermo_interval_fs),
            guard_every=s.interval_steps(s.guard_interval_fs),
            ckpt_every=s.interval_steps(s.checkpoint_interval_fs),
            heating_start_K=s.heating_start_K,
            temperature=s.temperature,
        )

    @property
    def npt_start(self) -> int:
        """First step of the NpT equilibration."""
        return self.n_heat

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
        if step < self.n_heat:
            frac = (step + 1) / self.n_heat
            return self.heating_start_K + (self.temperature - self.heating_start_K) * frac
        return self.temperature
