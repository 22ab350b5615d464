"""The band: ASE NEB images evaluated together by one shared evaluator, and its optimiser loop.

The band is ASE's :class:`~ase.mep.NEB` (improved tangent, climbing image), so the spring and
tangent physics are the ones users already trust. What ionflow changes is how forces reach it:

- all moving images that changed since the last step are evaluated in one call of the shared
  :class:`~ionflow.mlip.Evaluator` (one batched graph on a GPU), energy and forces only;
- images whose positions did not change are not evaluated again (with ``dynamic`` relaxation
  an image that is converged is frozen, DyNEB-style, and costs nothing);
- no model copies per image, no stress, no magnetic moments.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from ase.calculators.singlepoint import SinglePointCalculator
from ase.mep import NEB

from ionflow.core.errors import IonflowInputError
from ionflow.core.neb.progress import BandProgress
from ionflow.core.neb.result import INTERMEDIATE_MINIMUM_EV, NebResult, RelaxResult, interior_depth
from ionflow.core.neb.settings import NebSettings, make_optimizer

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ase import Atoms

    from ionflow.core.neb.checkpoint import CheckpointWriter
    from ionflow.mlip.models import Evaluator

logger = logging.getLogger(__name__)


class BatchedNEB(NEB):
    """ASE NEB whose changed moving images are evaluated together by one shared evaluator."""

    def __init__(self, images: list[Atoms], evaluator: Evaluator, **kwargs: Any) -> None:
        for image in images:
            image.calc = None
        super().__init__(images, allow_shared_calculator=True, **kwargs)
        self.evaluator = evaluator
        self.n_evaluations = 0
        self._last: dict[int, np.ndarray] = {}

    def set_endpoint(self, index: int, energy: float, forces: np.ndarray) -> None:
        """Fix the energy and forces of endpoint ``index`` (0 or -1)."""
        image = self.images[index]
        image.calc = SinglePointCalculator(image, energy=energy, forces=forces)

    def _refresh(self) -> None:
        todo = []
        for i in range(1, self.nimages - 1):
            pos = self.images[i].positions
            last = self._last.get(i)
            if last is None or not np.array_equal(last, pos) or self.images[i].calc is None:
                todo.append(i)
        if not todo:
            return
        preds = self.evaluator.evaluate([self.images[i] for i in todo])
        self.n_evaluations += len(todo)
        for i, pred in zip(todo, preds):
            image = self.images[i]
            image.calc = SinglePointCalculator(image, energy=pred.energy, forces=pred.forces)
            self._last[i] = image.positions.copy()

    def get_forces(self) -> np.ndarray:
        """NEB forces, evaluating the moving images that changed (one batched call)."""
        self._refresh()
        return super().get_forces()


class StallDetector:
    """Whether a band's residual has stopped falling.

    Stalled: above ``fmax``, the best residual of the last ``window`` steps is not at least
    ``improvement`` (a fraction) below the best residual before them.

    Parameters
    ----------
    window
        Steps compared (0: never stalled).
    improvement
        Fraction by which the best residual must fall within ``window`` steps.
    fmax
        Convergence threshold (a band at or below it is not stalled).
    """

    def __init__(self, window: int, improvement: float, fmax: float) -> None:
        self.window = int(window)
        self.improvement = float(improvement)
        self.fmax = float(fmax)
        self.history: list[float] = []

    def update(self, residual: float) -> bool:
        """Add the residual of one more step; ``True`` when the band has stalled."""
        if self.window <= 0:
            return False
        self.history.append(float(residual))
        n = len(self.history)
        if n <= self.window or residual <= self.fmax:
            return False
        before = min(self.history[: n - self.window])
        recent = min(self.history[n - self.window :])
        return recent > (1.0 - self.improvement) * before


class _Stalled(Exception):  # a signal, not an error
    """Stops an optimiser from inside its observer: the band stalled."""


@dataclass
class _Loop:
    """Where the band loop stands (shared by the optimiser drivers)."""

    neb: BatchedNEB
    settings: NebSettings
    progress: BandProgress
    checkpoint: CheckpointWriter | None
    prior_steps: int
    prior_calls: int
    n_steps: int = 0
    residual: float = float("inf")
    converged: bool = False
    failure: str | None = None
    optimizer: str = "ode"
    base_steps: int = 0  # steps done before the current optimiser started
    detector: StallDetector | None = None
    stalled: bool = False
    last_step: int = 0
    switches: list[dict[str, Any]] = field(default_factory=list)
    # after a switch to another optimiser: (step of the switch, best residual before it,
    # best residual since); the fallback must beat the old best within ``stall_window``
    trial: list[float] | None = None
    reverting: bool = False
    best_before_stall: float = float("inf")

    @property
    def steps_left(self) -> int:
        return self.settings.max_steps - self.base_steps

    def observe(self, step: int) -> float:
        """Report band step ``step`` (progress, checkpoint); returns the residual.

        Raises :class:`_Stalled` (caught by the drivers) when the band has stalled and the
        settings ask for another optimiser.
        """
        res = float(self.neb.get_residual())
        self.last_step = step
        self.progress.update(step, res, self.neb)
        if self.checkpoint is not None:
            self.checkpoint.band_step(step, self.neb, self.prior_calls)
        if self.detector is not None and self.detector.update(res):
            self.best_before_stall = min(self.detector.history)
            self.detector = None  # once per band
            depth = interior_depth(self.neb.energies)
            if depth > INTERMEDIATE_MINIMUM_EV:
                # a band through a basin below both endpoints: no optimiser fixes that (on
                # Li3N's 1b self-hop FIRE slid the band 1.4 eV into the basin, unconverged)
                self.record_switch(step, res, None, note=f"intermediate minimum {depth:.3f} eV")
            elif self.settings.stall_fallback == "none":
                self.record_switch(step, res, None)
            else:
                raise _Stalled
        if self.trial is not None:
            self._judge_fallback(step, res)
        return res

    def _judge_fallback(self, step: int, res: float) -> None:
        """Back to the stalled optimiser when its fallback made no progress in its window."""
        start, best_before, best = self.trial
        best = min(best, res)
        self.trial = [start, best_before, best]
        if (
            best < (1.0 - self.settings.stall_improvement) * best_before
            or res <= self.settings.fmax
        ):
            self.trial = None  # the fallback is doing better: keep it
        elif step - start >= self.settings.stall_window:
            self.trial = None
            self.reverting = True
            raise _Stalled

    def record_switch(
        self, step: int, residual: float, target: str | None, note: str | None = None
    ) -> None:
        """Note a stall (and the optimiser switched to) in the result and the progress."""
        calls = self.prior_calls + self.neb.n_evaluations
        entry = {
            "step": int(step),
            "from": self.optimizer,
            "to": target,
            "residual": float(residual),
            "band_force_calls": int(calls),
        }
        if note:
            entry["note"] = note
        self.switches.append(entry)
        self.progress.switch(step, residual, self.optimizer, target, self.settings, note)
        if self.checkpoint is not None:
            self.checkpoint.state.optimizer_switches = [dict(s) for s in self.switches]


def _build_band(images: list[Atoms], evaluator: Evaluator, settings: NebSettings) -> BatchedNEB:
    if len(images) < 3:
        raise IonflowInputError(f"A band needs at least 3 images, got {len(images)}")
    n_atoms = len(images[0])
    if any(len(im) != n_atoms for im in images):
        raise IonflowInputError("All NEB images must have the same number of atoms")
    neb = BatchedNEB(
        images,
        evaluator,
        k=settings.spring_constant,
        climb=settings.climb,
        method=settings.method,
    )
    if settings.dynamic and settings.optimizer == "fire":
        neb.dynamic_relaxation = True
        neb.fmax = settings.fmax
        neb.scale_fmax = 0.0
    return neb


def _set_endpoints(
    neb: BatchedNEB,
    evaluator: Evaluator,
    endpoint_results: tuple[RelaxResult, RelaxResult] | None,
) -> int:
    """Give the band its endpoint energies/forces; returns the force calls this took."""
    calls = 0
    for idx, known in ((0, 0), (-1, 1)):
        if endpoint_results is not None:
            res = endpoint_results[known]
            neb.set_endpoint(idx, res.energy, res.forces)
        else:
            pred = evaluator.evaluate([neb.images[idx]])[0]
            calls += 1
            neb.set_endpoint(idx, pred.energy, pred.forces)
    return calls


def _run_ode(loop: _Loop, opt: Any) -> None:
    """ODE12r: ASE's NEB optimiser has no step generator, so its steps are observed."""
    neb, settings = loop.neb, loop.settings
    opt.attach(lambda: loop.observe(loop.base_steps + int(opt.nsteps) + 1), interval=1)
    if loop.steps_left > 0:
        try:
            finished = bool(opt.run(fmax=settings.fmax, steps=loop.steps_left))
            loop.n_steps = loop.base_steps + int(getattr(opt, "nsteps", 0))
        except _Stalled:
            finished, loop.stalled, loop.n_steps = False, True, loop.last_step
    else:
        neb.get_forces()
        finished, loop.n_steps = False, loop.base_steps
    loop.residual = float(neb.get_residual())
    # ode12r can return at its step limit without raising: judge by the residual
    loop.converged = finished and loop.residual <= settings.fmax
    if not np.all(np.isfinite(neb.energies)):
        loop.failure = "non-finite energy in the band"


def _run_stepwise(loop: _Loop, opt: Any) -> None:
    """Optimisers with ``irun`` (FIRE, BFGS, LBFGS, MDMin): one observed step at a time."""
    loop.n_steps = loop.base_steps
    try:
        for conv in opt.irun(fmax=loop.settings.fmax, steps=max(loop.steps_left, 0)):
            loop.n_steps = loop.base_steps + int(opt.nsteps)
            loop.residual = loop.observe(loop.n_steps)
            if not np.all(np.isfinite(loop.neb.energies)):
                loop.failure = "non-finite energy in the band"
                break
            loop.converged = bool(conv)
            if loop.converged:
                break
    except _Stalled:
        loop.stalled, loop.n_steps = True, loop.last_step
        loop.residual = float(loop.neb.get_residual())


def _use_optimizer(loop: _Loop, name: str) -> Any:
    """Make optimiser ``name`` the band's current one (DyNEB freezing only with FIRE)."""
    neb, settings = loop.neb, loop.settings
    loop.optimizer = name
    neb.dynamic_relaxation = bool(settings.dynamic and name == "fire")
    if neb.dynamic_relaxation:
        neb.fmax = settings.fmax
        neb.scale_fmax = 0.0
    return make_optimizer(name, neb)


def _optimise(loop: _Loop) -> None:
    """Run the band's optimiser; on a stall switch once to the fallback and go on."""
    while True:
        opt = _use_optimizer(loop, loop.optimizer)
        (_run_ode if loop.optimizer == "ode" else _run_stepwise)(loop, opt)
        if not loop.stalled or loop.failure is not None:
            return
        loop.stalled = False
        fallback = loop.settings.stall_fallback
        target = loop.optimizer if fallback == "restart" else fallback
        if loop.reverting:  # the fallback did no better: the first optimiser goes on
            loop.reverting = False
            target = loop.switches[0]["from"]
        elif target != loop.optimizer:
            loop.trial = [loop.n_steps, loop.best_before_stall, float("inf")]
        loop.record_switch(loop.n_steps, loop.residual, target)
        loop.optimizer = target
        loop.base_steps = loop.n_steps
        if loop.steps_left <= 0:
            return


def _band_result(
    loop: _Loop,
    endpoint_calls: int,
    moving_index: int | None,
    wall_time_s: float,
) -> NebResult:
    neb = loop.neb
    energies = [float(im.get_potential_energy()) for im in neb.images]
    e = np.array(energies)
    ts = int(np.argmax(e)) if np.all(np.isfinite(e)) else 0
    return NebResult(
        energies=energies,
        positions=np.array([im.positions for im in neb.images]),
        numbers=np.array(neb.images[0].numbers),
        cell=np.array(neb.images[0].cell[:]),
        barrier_forward=float(e[ts] - e[0]),
        barrier_reverse=float(e[ts] - e[-1]),
        ts_index=ts,
        converged=loop.converged and loop.failure is None,
        n_steps=loop.n_steps,
        force_calls=neb.n_evaluations + loop.prior_calls + endpoint_calls,
        endpoint_force_calls=endpoint_calls,
        band_force_calls=neb.n_evaluations + loop.prior_calls,
        max_force=loop.residual,
        wall_time_s=wall_time_s,
        failure_reason=loop.failure,
        moving_index=moving_index,
        settings=loop.settings.__dict__.copy(),
        optimizer_switches=[dict(sw) for sw in loop.switches],
    )


def run_neb_band(
    images: Sequence[Atoms],
    evaluator: Evaluator,
    settings: NebSettings | None = None,
    *,
    endpoint_results: tuple[RelaxResult, RelaxResult] | None = None,
    moving_index: int | None = None,
    progress: bool | Callable[[int, float], None] = False,
    checkpoint: CheckpointWriter | None = None,
) -> NebResult:
    """Optimise a band whose endpoints are already final (relaxed or fixed by the caller).

    Parameters
    ----------
    images
        The initial band, endpoints included (e.g. from IDPP interpolation).
    evaluator
        Shared model evaluator.
    settings
        NEB settings; defaults are those of :class:`NebSettings`.
    endpoint_results
        Energies/forces of the endpoints when already known (saves two force calls).
    moving_index
        Index of the migrating ion (recorded only).
    progress
        ``True`` shows a step counter (residual, barrier estimate) when stderr is a terminal;
        a callable receives ``(step, residual)`` each step. Without a counter, progress goes
        to :mod:`logging` (INFO) every few steps or seconds (:mod:`ionflow.core.neb.progress`).
    checkpoint
        Writer of band checkpoints (set up by :func:`~ionflow.core.neb.engine.run_neb`); its
        counters of earlier steps, force calls and wall time are added to this run's, and
        ``max_steps`` counts them too.

    Returns
    -------
    NebResult
        The band, its barriers and counters; a failure (model error, non-finite energy, step
        limit) is reported in ``failure_reason``, never raised.
    """
    settings = settings or NebSettings()
    t0 = time.perf_counter()
    state = checkpoint.state if checkpoint else None
    prior_steps = state.n_steps if state else 0
    prior_calls = state.band_force_calls if state else 0
    prior_wall = state.wall_time_s if state else 0.0
    neb = _build_band([im.copy() for im in images], evaluator, settings)
    endpoint_calls = _set_endpoints(neb, evaluator, endpoint_results)

    reporter = BandProgress(
        progress, fmax=settings.fmax, prior_steps=prior_steps, prior_calls=prior_calls
    )
    loop = _Loop(neb, settings, reporter, checkpoint, prior_steps, prior_calls)
    loop.base_steps = prior_steps
    loop.switches = [dict(sw) for sw in (state.optimizer_switches if state else [])]
    # a continued band that already switched goes on with its fallback, without a new check
    last = loop.switches[-1]["to"] if loop.switches else None
    loop.optimizer = last or settings.optimizer
    if not loop.switches:
        loop.detector = StallDetector(
            settings.stall_window, settings.stall_improvement, settings.fmax
        )
    reporter.start(neb, loop.optimizer, settings.max_steps, prior_steps)
    try:
        _optimise(loop)
    except Exception as exc:  # a model or optimiser error fails this hop, not the screen
        loop.failure = f"{type(exc).__name__}: {exc}"
        logger.exception("NEB failed")

    if checkpoint is not None:
        checkpoint.band_step(loop.n_steps, neb, prior_calls, force=True)
    if loop.failure is None and not loop.converged:
        loop.failure = (
            f"not converged: max force {loop.residual:.3f} eV/Å > fmax {settings.fmax} "
            f"after {loop.n_steps} steps"
        )
    reporter.finish(neb, loop.n_steps, loop.residual, loop.failure)
    return _band_result(loop, endpoint_calls, moving_index, prior_wall + time.perf_counter() - t0)
