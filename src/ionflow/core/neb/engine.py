"""Climbing-image NEB on a shared MLIP evaluator.

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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from ase.calculators.singlepoint import SinglePointCalculator
from ase.mep import NEB

from ionflow.core.errors import IonflowInputError
from ionflow.core.neb.checkpoint import BandCheckpoint, fingerprint

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ase import Atoms

    from ionflow.mlip.models import Evaluator

logger = logging.getLogger(__name__)

OPTIMIZERS = ("fire", "ode", "bfgs", "lbfgs", "mdmin")


@dataclass
class NebSettings:
    """Knobs of one NEB calculation.

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

    def __post_init__(self) -> None:
        if self.fmax <= 0 or self.endpoint_fmax <= 0:
            raise IonflowInputError(f"fmax must be positive, got {self.fmax}")
        if self.max_steps < 1:
            raise IonflowInputError(f"max_steps must be >= 1, got {self.max_steps}")
        if self.optimizer not in OPTIMIZERS:
            raise IonflowInputError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer}")
        if self.endpoint_optimizer not in ("fire", "bfgs", "lbfgs"):
            raise IonflowInputError(
                f"endpoint_optimizer must be fire, bfgs or lbfgs, got {self.endpoint_optimizer}"
            )


@dataclass
class RelaxResult:
    """Outcome of a fixed-cell relaxation."""

    atoms: Atoms
    energy: float
    forces: np.ndarray
    n_steps: int
    force_calls: int
    converged: bool
    max_force: float


@dataclass
class NebResult:
    """Outcome of one NEB hop.

    ``energies`` are absolute (eV) per image, endpoints included; ``positions`` has shape
    (n_images, n_atoms, 3) in Å. Barriers are max(E) minus the initial (forward) or final
    (reverse) energy.
    """

    energies: list[float]
    positions: np.ndarray
    numbers: np.ndarray
    cell: np.ndarray
    barrier_forward: float
    barrier_reverse: float
    ts_index: int
    converged: bool
    n_steps: int
    force_calls: int
    endpoint_force_calls: int
    band_force_calls: int
    max_force: float
    wall_time_s: float
    failure_reason: str | None = None
    endpoints_converged: bool = True
    moving_index: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def relative_energies(self) -> list[float]:
        return [e - self.energies[0] for e in self.energies]

    def summary(self) -> dict[str, Any]:
        """Scalars only (no arrays): what goes into a task document."""
        return {
            "barrier_forward_eV": self.barrier_forward,
            "barrier_reverse_eV": self.barrier_reverse,
            "ts_index": self.ts_index,
            "n_images": len(self.energies),
            "energies_eV": list(self.energies),
            "relative_energies_eV": self.relative_energies,
            "converged": self.converged,
            "n_steps": self.n_steps,
            "force_calls": self.force_calls,
            "endpoint_force_calls": self.endpoint_force_calls,
            "band_force_calls": self.band_force_calls,
            "max_force_eV_A": self.max_force,
            "wall_time_s": self.wall_time_s,
            "failure_reason": self.failure_reason,
            "endpoints_converged": self.endpoints_converged,
        }


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
        self._refresh()
        return super().get_forces()


class _CheckpointWriter:
    """Writes a :class:`BandCheckpoint` every ``every`` band steps (and at the end)."""

    def __init__(self, path: Path, state: BandCheckpoint, every: int) -> None:
        self.path = path
        self.state = state
        self.every = max(int(every), 1)
        self._t0 = time.perf_counter()
        self._wall_before = state.wall_time_s

    def wall(self) -> float:
        return self._wall_before + time.perf_counter() - self._t0

    def save(self) -> None:
        self.state.wall_time_s = self.wall()
        self.state.save(self.path)

    def band_step(self, step: int, neb: NEB, prior_calls: int, force: bool = False) -> None:
        if not force and step % self.every:
            return
        self.state.band_positions = np.array([im.positions for im in neb.images])
        try:
            self.state.band_energies = np.array(
                [im.get_potential_energy() for im in neb.images], dtype=float
            )
            self.state.residual = float(neb.get_residual())
        except Exception:  # energies not known at these positions (e.g. before any step)
            self.state.band_energies, self.state.residual = None, None
        self.state.n_steps = int(step)
        self.state.band_force_calls = prior_calls + int(getattr(neb, "n_evaluations", 0))
        self.save()


def max_atomic_force(forces: np.ndarray) -> float:
    """Largest per-atom force norm."""
    return float(np.sqrt((np.asarray(forces) ** 2).sum(axis=-1)).max())


def _make_optimizer(name: str, target: Any, logfile: str | None = None):
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


def relax_fixed_cell(
    atoms: Atoms,
    evaluator: Evaluator,
    *,
    fmax: float = 0.05,
    max_steps: int = 300,
    optimizer: str = "bfgs",
) -> RelaxResult:
    """Relax atomic positions at fixed cell with the shared evaluator (energy + forces only)."""
    work = atoms.copy()
    calc = evaluator.calculator()
    work.calc = calc
    start = evaluator.n_evaluations
    opt = _make_optimizer(optimizer, work)
    converged = bool(opt.run(fmax=fmax, steps=max_steps))
    forces = work.get_forces()
    energy = float(work.get_potential_energy())
    work.calc = None
    return RelaxResult(
        atoms=work,
        energy=energy,
        forces=np.array(forces),
        n_steps=int(opt.nsteps),
        force_calls=evaluator.n_evaluations - start,
        converged=converged,
        max_force=max_atomic_force(forces),
    )


def run_neb_band(
    images: Sequence[Atoms],
    evaluator: Evaluator,
    settings: NebSettings | None = None,
    *,
    endpoint_results: tuple[RelaxResult, RelaxResult] | None = None,
    moving_index: int | None = None,
    progress: bool | Callable[[int, float], None] = False,
    checkpoint: _CheckpointWriter | None = None,
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
        ``True`` shows a tqdm bar; a callable receives ``(step, fmax)`` each step.
    checkpoint
        Writer of band checkpoints (set up by :func:`run_neb`); its counters of earlier steps,
        force calls and wall time are added to this run's, and ``max_steps`` counts them too.
    """
    settings = settings or NebSettings()
    t0 = time.perf_counter()
    prior_steps = checkpoint.state.n_steps if checkpoint else 0
    prior_calls = checkpoint.state.band_force_calls if checkpoint else 0
    prior_wall = checkpoint.state.wall_time_s if checkpoint else 0.0
    steps_left = settings.max_steps - prior_steps
    images = [im.copy() for im in images]
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
    endpoint_calls = 0
    for idx, known in ((0, 0), (-1, 1)):
        if endpoint_results is not None:
            res = endpoint_results[known]
            neb.set_endpoint(idx, res.energy, res.forces)
        else:
            pred = evaluator.evaluate([images[idx]])[0]
            endpoint_calls += 1
            neb.set_endpoint(idx, pred.energy, pred.forces)

    opt = _make_optimizer(settings.optimizer, neb)
    bar = None
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=settings.max_steps, desc="NEB", unit="step", leave=False, disable=None)
    callback = progress if callable(progress) else None

    failure = None
    converged = False
    fmax_now = float("inf")
    n_steps = 0
    try:
        if settings.optimizer == "ode":
            # ASE's ODE12r NEB optimiser has no step generator: observe its steps instead.
            def _observe() -> None:
                res = float(neb.get_residual())
                step = prior_steps + int(opt.nsteps) + 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(fmax=f"{res:.3f}")
                if callback is not None:
                    callback(step, res)
                if checkpoint is not None:
                    checkpoint.band_step(step, neb, prior_calls)

            opt.attach(_observe, interval=1)
            if steps_left > 0:
                finished = bool(opt.run(fmax=settings.fmax, steps=steps_left))
                n_steps = prior_steps + int(getattr(opt, "nsteps", 0))
            else:
                neb.get_forces()
                finished, n_steps = False, prior_steps
            fmax_now = float(neb.get_residual())
            # ode12r can return at its step limit without raising: judge by the residual
            converged = finished and fmax_now <= settings.fmax
            if not np.all(np.isfinite(neb.energies)):
                failure = "non-finite energy in the band"
        else:
            n_steps = prior_steps
            for conv in opt.irun(fmax=settings.fmax, steps=max(steps_left, 0)):
                n_steps = prior_steps + int(opt.nsteps)
                fmax_now = float(neb.get_residual())
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(fmax=f"{fmax_now:.3f}")
                if callback is not None:
                    callback(n_steps, fmax_now)
                if checkpoint is not None:
                    checkpoint.band_step(n_steps, neb, prior_calls)
                if not np.all(np.isfinite(neb.energies)):
                    failure = "non-finite energy in the band"
                    break
                converged = bool(conv)
                if converged:
                    break
    except Exception as exc:  # a model or optimiser error fails this hop, not the screen
        failure = f"{type(exc).__name__}: {exc}"
        logger.exception("NEB failed")
    finally:
        if bar is not None:
            bar.close()

    energies = [float(im.get_potential_energy()) for im in neb.images]
    if checkpoint is not None:
        checkpoint.band_step(n_steps, neb, prior_calls, force=True)
    if failure is None and not converged:
        failure = (
            f"not converged: max force {fmax_now:.3f} eV/Å > fmax {settings.fmax} "
            f"after {n_steps} steps"
        )
    e = np.array(energies)
    ts = int(np.argmax(e)) if np.all(np.isfinite(e)) else 0
    return NebResult(
        energies=energies,
        positions=np.array([im.positions for im in neb.images]),
        numbers=np.array(images[0].numbers),
        cell=np.array(images[0].cell[:]),
        barrier_forward=float(e[ts] - e[0]),
        barrier_reverse=float(e[ts] - e[-1]),
        ts_index=ts,
        converged=converged and failure is None,
        n_steps=n_steps,
        force_calls=neb.n_evaluations + prior_calls + endpoint_calls,
        endpoint_force_calls=endpoint_calls,
        band_force_calls=neb.n_evaluations + prior_calls,
        max_force=fmax_now,
        wall_time_s=prior_wall + time.perf_counter() - t0,
        failure_reason=failure,
        moving_index=moving_index,
        settings=settings.__dict__.copy(),
    )


def unwrap_final(initial: Atoms, final: Atoms) -> Atoms:
    """Copy of ``final`` whose atoms sit at the minimum-image position nearest ``initial``.

    Endpoint files are often wrapped into the cell; interpolating a wrapped pair would send an
    ion across the whole cell. Hops are shorter than half the supercell, so the minimum image
    is the intended one.
    """
    from ase.geometry import find_mic

    out = final.copy()
    disp, _ = find_mic(final.positions - initial.positions, initial.cell, pbc=initial.pbc)
    out.positions = initial.positions + disp
    return out


def run_neb(
    initial: Atoms,
    final: Atoms,
    evaluator: Evaluator,
    settings: NebSettings | None = None,
    *,
    n_images: int = 7,
    max_gap: float = 1.0,
    interpolation: str = "idpp",
    moving_index: int | None = 0,
    unwrap: bool = True,
    progress: bool | Callable[[int, float], None] = False,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 10,
) -> NebResult:
    """Relax the endpoints (fixed cell), interpolate, and run climbing-image NEB.

    Parameters
    ----------
    initial, final
        Endpoint structures with the same atoms in the same order; the final positions should
        be unwrapped relative to the initial ones (no jump across the cell).
    evaluator
        Shared model evaluator (:func:`ionflow.mlip.get_evaluator`).
    settings
        :class:`NebSettings`.
    n_images
        Images including endpoints (lian2025: 7); more are added where neighbouring images are
        more than ``max_gap`` Å apart.
    interpolation
        ``"idpp"`` (default) or ``"linear"``.
    moving_index
        Index of the migrating ion, used to check that endpoint relaxation kept it in place.
    unwrap
        Move every atom of ``final`` to its minimum-image position relative to ``initial``
        (right for wrapped endpoint files; pass False when ``final`` is already unwrapped and
        the hop is longer than half the cell).
    checkpoint
        Path of a band checkpoint (``.npz``, see :mod:`ionflow.core.neb.checkpoint`). When the
        file exists and belongs to this calculation, the run continues from it: endpoints are
        not relaxed again, the band starts from the saved positions, and the step limit, force
        calls and wall time count the earlier work. Otherwise it is written after the endpoint
        relaxation and every ``checkpoint_every`` band steps. A checkpoint of a different
        calculation raises :class:`IonflowInputError` and is left untouched. The optimiser
        starts afresh (ODE12r re-estimates its step size; FIRE its velocities), so a continued
        band can take a few more steps than an uninterrupted one; with ODE12r the step limit
        counts accepted steps of earlier runs (rejected trial steps are not carried over).
    """
    from ionflow.core.hops.interpolate import interpolate_path

    settings = settings or NebSettings()
    t0 = time.perf_counter()
    if len(initial) != len(final):
        raise IonflowInputError(
            f"Endpoints differ in atom count: {len(initial)} vs {len(final)} atoms"
        )
    if list(initial.numbers) != list(final.numbers):
        raise IonflowInputError("Endpoints must hold the same species in the same order")
    if not np.allclose(initial.cell[:], final.cell[:], atol=1e-4):
        raise IonflowInputError("Endpoints must share one cell (fixed-cell NEB)")

    if unwrap:
        final = unwrap_final(initial, final)
    ckpt_path = Path(checkpoint) if checkpoint is not None else None
    fp = None
    if ckpt_path is not None:
        label = getattr(getattr(evaluator, "spec", None), "label", type(evaluator).__name__)
        fp = fingerprint(initial, final, settings, str(label), n_images)
        if ckpt_path.is_file():
            state = BandCheckpoint.load(ckpt_path, fp)
            logger.info(
                "Continuing NEB from %s at band step %d (%d band force calls so far)",
                ckpt_path,
                state.n_steps,
                state.band_force_calls,
            )
            return _resume_neb(
                initial,
                state,
                ckpt_path,
                evaluator,
                settings,
                moving_index,
                progress,
                checkpoint_every,
            )
    ends: tuple[RelaxResult, RelaxResult] | None = None
    endpoint_calls = 0
    endpoints_converged = True
    if settings.relax_endpoints:
        relaxed = []
        for atoms in (initial, final):
            res = relax_fixed_cell(
                atoms,
                evaluator,
                fmax=settings.endpoint_fmax,
                max_steps=settings.endpoint_max_steps,
                optimizer=settings.endpoint_optimizer,
            )
            relaxed.append(res)
            endpoint_calls += res.force_calls
        ends = (relaxed[0], relaxed[1])
        endpoints_converged = all(r.converged for r in relaxed)
        a, b = relaxed[0].atoms, relaxed[1].atoms
    else:
        a, b = initial.copy(), final.copy()

    failure = None
    if moving_index is not None and settings.relax_endpoints:
        for label, before, res in (("initial", initial, ends[0]), ("final", final, ends[1])):
            shift = float(
                np.linalg.norm(res.atoms.positions[moving_index] - before.positions[moving_index])
            )
            if shift > settings.max_ion_shift:
                failure = (
                    f"{label} endpoint relaxation moved the mobile ion by {shift:.2f} Å "
                    f"(> {settings.max_ion_shift} Å): the vacancy endpoint is not a minimum"
                )
    if failure is not None:
        energies = [ends[0].energy, ends[1].energy]
        return NebResult(
            energies=energies,
            positions=np.array([a.positions, b.positions]),
            numbers=np.array(a.numbers),
            cell=np.array(a.cell[:]),
            barrier_forward=float("nan"),
            barrier_reverse=float("nan"),
            ts_index=0,
            converged=False,
            n_steps=0,
            force_calls=endpoint_calls,
            endpoint_force_calls=endpoint_calls,
            band_force_calls=0,
            max_force=float("nan"),
            wall_time_s=time.perf_counter() - t0,
            failure_reason=failure,
            endpoints_converged=endpoints_converged,
            moving_index=moving_index,
            settings=settings.__dict__.copy(),
        )

    images = interpolate_path(a, b, n_images=n_images, max_gap=max_gap, method=interpolation)
    writer = None
    if ckpt_path is not None:
        if ends is None:  # endpoints taken as given: evaluate them once, here, and keep them
            preds = evaluator.evaluate([a, b])
            endpoint_calls += 2
            ends = tuple(
                RelaxResult(x.copy(), p.energy, np.array(p.forces), 0, 1, True, 0.0)
                for x, p in zip((a, b), preds)
            )
        state = BandCheckpoint(
            fingerprint=fp,
            end_positions=np.array([ends[0].atoms.positions, ends[1].atoms.positions]),
            end_energies=np.array([ends[0].energy, ends[1].energy]),
            end_forces=np.array([ends[0].forces, ends[1].forces]),
            endpoint_force_calls=endpoint_calls,
            endpoints_converged=endpoints_converged,
            band_positions=np.array([im.positions for im in images]),
            wall_time_s=time.perf_counter() - t0,
        )
        writer = _CheckpointWriter(ckpt_path, state, checkpoint_every)
        writer.save()
    result = run_neb_band(
        images,
        evaluator,
        settings,
        endpoint_results=ends,
        moving_index=moving_index,
        progress=progress,
        checkpoint=writer,
    )
    result.force_calls += endpoint_calls
    result.endpoint_force_calls += endpoint_calls
    result.endpoints_converged = endpoints_converged
    result.wall_time_s = writer.wall() if writer else time.perf_counter() - t0
    if not endpoints_converged and result.failure_reason is None:
        logger.warning("Endpoint relaxation did not reach fmax %.3f", settings.endpoint_fmax)
    return result


def _resume_neb(
    template: Atoms,
    state: BandCheckpoint,
    path: Path,
    evaluator: Evaluator,
    settings: NebSettings,
    moving_index: int | None,
    progress: bool | Callable[[int, float], None],
    every: int,
) -> NebResult:
    """Continue the band saved in ``state`` (see :func:`run_neb`)."""
    n_atoms = len(template)
    if state.band_positions.ndim != 3 or state.band_positions.shape[1:] != (n_atoms, 3):
        raise IonflowInputError(
            f"NEB checkpoint {path} holds a band of shape {state.band_positions.shape}, "
            f"not (n_images, {n_atoms}, 3)"
        )
    ends = []
    for k in range(2):
        atoms = template.copy()
        atoms.calc = None
        atoms.positions = state.end_positions[k]
        ends.append(
            RelaxResult(
                atoms=atoms,
                energy=float(state.end_energies[k]),
                forces=np.array(state.end_forces[k]),
                n_steps=0,
                force_calls=0,
                converged=state.endpoints_converged,
                max_force=max_atomic_force(state.end_forces[k]),
            )
        )
    images = []
    for pos in state.band_positions:
        atoms = template.copy()
        atoms.calc = None
        atoms.positions = pos
        images.append(atoms)
    writer = _CheckpointWriter(path, state, every)
    endpoint_calls = state.endpoint_force_calls
    result = run_neb_band(
        images,
        evaluator,
        settings,
        endpoint_results=(ends[0], ends[1]),
        moving_index=moving_index,
        progress=progress,
        checkpoint=writer,
    )
    result.force_calls += endpoint_calls
    result.endpoint_force_calls += endpoint_calls
    result.endpoints_converged = state.endpoints_converged
    result.wall_time_s = writer.wall()
    return result


def detect_moving_index(initial: Any, final: Any) -> int:
    """Index of the atom that moves most (minimum image) between two endpoint structures.

    Accepts pymatgen ``Structure`` or ASE ``Atoms``.
    """
    from ase.geometry import find_mic

    if hasattr(initial, "cart_coords"):
        a, b, cell = initial.cart_coords, final.cart_coords, initial.lattice.matrix
    else:
        a, b, cell = initial.positions, final.positions, initial.cell[:]
    _, dist = find_mic(np.asarray(b) - np.asarray(a), cell, pbc=True)
    return int(np.argmax(dist))
