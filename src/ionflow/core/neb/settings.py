"""The knobs of one NEB calculation and the optimisers they name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monty.json import MSONable

from ionflow.core.errors import IonflowInputError

#: Band optimisers :func:`make_optimizer` knows (``NebSettings.optimizer``).
OPTIMIZERS = ("fire", "ode", "bfgs", "lbfgs", "mdmin")
#: Optimisers for the fixed-cell endpoint relaxation (``NebSettings.endpoint_optimizer``).
ENDPOINT_OPTIMIZERS = ("fire", "bfgs", "lbfgs")
#: What a stalled band does (``NebSettings.stall_fallback``): switch to one of
#: :data:`OPTIMIZERS`, ``"restart"`` the same optimiser afresh, or ``"none"`` (keep going).
STALL_FALLBACKS = (*OPTIMIZERS, "restart", "none")


@dataclass
class NebSettings(MSONable):
    """Knobs of one NEB calculation.

    A plain dataclass that is also :class:`~monty.json.MSONable`, so it survives jobflow/monty
    serialisation as a typed field of a Maker.

    Parameters
    ----------
    fmax
        Convergence threshold on the largest NEB force component norm (eV/Å).
    max_steps
        Optimiser step limit for the band.
    climb
        Climbing image on (True) or plain NEB.
    method
        ASE NEB tangent method (``"improvedtangent"``, ``"aseneb"``, ``"eb"``, ``"spline"``).
    spring_constant
        NEB spring constant (eV/Å^2).
    optimizer
        Band optimiser: ``"ode"`` (default: ASE's NEBOptimizer, the adaptive ODE12r scheme of
        Makri, Ortner & Kermode, J. Chem. Phys. 150, 094109 (2019)), ``"fire"``, ``"bfgs"``,
        ``"lbfgs"``, ``"mdmin"``. On the 95-atom Li2O hop of ``benchmarks/neb_speed.py`` ODE12r
        converged the band in 30 image evaluations where FIRE took 105, to the same barrier.
    dynamic
        With FIRE: freeze images whose force is already below ``fmax`` (ASE DyNEB); frozen
        images are not re-evaluated.
    relax_endpoints
        Relax initial and final states (fixed cell) before the band.
    endpoint_fmax, endpoint_max_steps, endpoint_optimizer
        Endpoint relaxation controls.
    max_ion_shift
        Fail the hop when endpoint relaxation moves the mobile ion by more than this (Å):
        the vacancy endpoint was not a local minimum.
    stall_window, stall_improvement
        The band has stalled when, above ``fmax``, its best residual of the last
        ``stall_window`` steps is not at least ``stall_improvement`` (a fraction) below the
        best one before them. ``stall_window = 0`` turns the check off.
    stall_fallback
        What a stalled band does, once per band: switch to another optimiser (one of
        :data:`OPTIMIZERS`, default ``"fire"``, with DyNEB freezing when ``dynamic``),
        ``"restart"`` the same optimiser (ODE12r re-estimates its step size, FIRE drops its
        velocities) or ``"none"`` (only log it). Another optimiser is on trial: unless its
        best residual within ``stall_window`` steps is ``stall_improvement`` below the best
        residual before the stall, the band goes back to the first optimiser (a second
        switch). A stalled band whose interior lies more than ``INTERMEDIATE_MINIMUM_EV``
        below both endpoints is not switched (the hop is not elementary; the stall is noted).
        Recorded in ``NebResult.optimizer_switches``.

    Examples
    --------
    >>> from monty.json import MontyDecoder, jsanitize
    >>> s = NebSettings(fmax=0.02, optimizer="fire")
    >>> MontyDecoder().process_decoded(jsanitize(s, strict=True)) == s
    True
    """

    fmax: float = 0.05
    max_steps: int = 500
    climb: bool = True
    method: str = "improvedtangent"
    spring_constant: float = 0.1
    optimizer: str = "ode"
    dynamic: bool = True
    relax_endpoints: bool = True
    endpoint_fmax: float = 0.05
    endpoint_max_steps: int = 300
    endpoint_optimizer: str = "bfgs"
    max_ion_shift: float = 1.0
    stall_window: int = 40
    stall_improvement: float = 0.1
    stall_fallback: str = "fire"

    def __post_init__(self) -> None:
        if self.fmax <= 0 or self.endpoint_fmax <= 0:
            raise IonflowInputError(f"fmax must be positive, got {self.fmax}")
        if self.max_steps < 1:
            raise IonflowInputError(f"max_steps must be >= 1, got {self.max_steps}")
        if self.optimizer not in OPTIMIZERS:
            raise IonflowInputError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer}")
        if self.endpoint_optimizer not in ENDPOINT_OPTIMIZERS:
            raise IonflowInputError(
                f"endpoint_optimizer must be fire, bfgs or lbfgs, got {self.endpoint_optimizer}"
            )
        self._check_stall()

    def _check_stall(self) -> None:
        window = self.stall_window
        if isinstance(window, bool) or not isinstance(window, int) or window < 0:
            raise IonflowInputError(
                f"stall_window must be a whole number of band steps >= 0 (0: off), got {window!r}"
            )
        if not 0.0 < self.stall_improvement < 1.0:
            raise IonflowInputError(
                "stall_improvement must be a fraction between 0 and 1 (exclusive), got "
                f"{self.stall_improvement}"
            )
        if self.stall_fallback not in STALL_FALLBACKS:
            raise IonflowInputError(
                f"stall_fallback must be one of {', '.join(STALL_FALLBACKS)}, got "
                f"{self.stall_fallback!r}"
            )


def make_optimizer(name: str, target: Any, logfile: str | None = None) -> Any:
    """ASE optimiser ``name`` (one of :data:`OPTIMIZERS`) on ``target`` (a band or Atoms)."""
    from ase.optimize import BFGS, FIRE, LBFGS, MDMin

    if name == "fire":
        return FIRE(target, logfile=logfile)
    if name == "bfgs":
        return BFGS(target, logfile=logfile)
    if name == "lbfgs":
        return LBFGS(target, logfile=logfile)
    if name == "mdmin":
        return MDMin(target, logfile=logfile)
    if name == "ode":
        from ase.mep.neb import NEBOptimizer

        return NEBOptimizer(target, method="ODE", logfile=logfile)
    raise IonflowInputError(f"Unknown optimizer {name!r}")
