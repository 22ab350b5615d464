"""Climbing-image NEB of one hop: endpoint checks and relaxation, path, band, checkpoints.

:func:`run_neb` orchestrates the pieces, each in its own module:

- :mod:`~ionflow.core.neb.endpoints`: matching, unwrapping and sanity checks of the endpoints
  (before any model evaluation);
- :mod:`~ionflow.core.neb.relax`: fixed-cell endpoint relaxation;
- :mod:`~ionflow.core.neb.band`: the batched band and its optimiser loop;
- :mod:`~ionflow.core.neb.checkpoint`: continuing a band after an interruption;
- :mod:`~ionflow.core.neb.progress`: progress counter and log lines;
- :mod:`~ionflow.core.neb.settings`, :mod:`~ionflow.core.neb.result`: knobs and outcomes.

Every public name of those modules stays importable from here.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ionflow.core.errors import IonflowInputError
from ionflow.core.neb.band import BatchedNEB, run_neb_band
from ionflow.core.neb.checkpoint import BandCheckpoint, CheckpointWriter, fingerprint
from ionflow.core.neb.endpoints import (
    EndpointMatch,
    check_endpoints,
    detect_moving_index,
    match_endpoints,
    unwrap_final,
)
from ionflow.core.neb.relax import max_atomic_force, relax_fixed_cell
from ionflow.core.neb.result import NebResult, RelaxResult
from ionflow.core.neb.settings import OPTIMIZERS, NebSettings, make_optimizer

if TYPE_CHECKING:
    from collections.abc import Callable

    from ase import Atoms

    from ionflow.mlip.models import Evaluator

__all__ = [
    "OPTIMIZERS",
    "BandCheckpoint",
    "BatchedNEB",
    "EndpointMatch",
    "NebResult",
    "NebSettings",
    "RelaxResult",
    "check_endpoints",
    "detect_moving_index",
    "make_optimizer",
    "match_endpoints",
    "max_atomic_force",
    "relax_fixed_cell",
    "run_neb",
    "run_neb_band",
    "unwrap_final",
]

logger = logging.getLogger(__name__)


@dataclass
class _Ends:
    """The endpoints the band starts from, and what they cost."""

    a: Atoms
    b: Atoms
    results: tuple[RelaxResult, RelaxResult] | None
    force_calls: int = 0
    converged: bool = True


def _prepare_endpoints(
    initial: Atoms, final: Atoms, unwrap: bool, moving_index: int | None, reorder: bool = True
) -> Atoms:
    """Checked (and with ``unwrap``, matched and unwrapped) final state; raises on bad pairs.

    Without ``reorder`` the atoms keep their order (endpoints given with their forces).
    """
    if not unwrap or not reorder:
        check_endpoints(initial, final)
        return unwrap_final(initial, final) if unwrap else final
    final, found, _ = match_endpoints(initial, final)
    if moving_index is not None and moving_index != found:
        logger.warning(
            "moving_index %d was given, but atom %d (%s) is the one that moves most",
            moving_index,
            found,
            initial[found].symbol,
        )
    return final


def _relax_endpoints(
    initial: Atoms, final: Atoms, evaluator: Evaluator, settings: NebSettings
) -> _Ends:
    if not settings.relax_endpoints:
        return _Ends(initial.copy(), final.copy(), None)
    relaxed = [
        relax_fixed_cell(
            atoms,
            evaluator,
            fmax=settings.endpoint_fmax,
            max_steps=settings.endpoint_max_steps,
            optimizer=settings.endpoint_optimizer,
            label=f"{label} state",
        )
        for label, atoms in (("initial", initial), ("final", final))
    ]
    return _Ends(
        relaxed[0].atoms,
        relaxed[1].atoms,
        (relaxed[0], relaxed[1]),
        force_calls=sum(r.force_calls for r in relaxed),
        converged=all(r.converged for r in relaxed),
    )


def _given_endpoints(initial: Atoms, final: Atoms, known: tuple[RelaxResult, RelaxResult]) -> _Ends:
    """Endpoints relaxed elsewhere (e.g. one relaxed vacancy mapped by symmetry): no model call."""
    results = []
    for label, atoms, res in (("initial", initial, known[0]), ("final", final, known[1])):
        forces = np.asarray(res.forces, dtype=float)
        if forces.shape != (len(atoms), 3):
            raise IonflowInputError(
                f"relaxed {label} endpoint: forces of shape {forces.shape}, "
                f"expected ({len(atoms)}, 3)"
            )
        results.append(
            RelaxResult(atoms.copy(), float(res.energy), forces, 0, 0, res.converged, res.max_force)
        )
    converged = all(r.converged for r in results)
    return _Ends(results[0].atoms, results[1].atoms, (results[0], results[1]), 0, converged)


def _ion_shift_failure(
    initial: Atoms, final: Atoms, ends: _Ends, moving_index: int | None, settings: NebSettings
) -> str | None:
    """Failure reason when endpoint relaxation carried the mobile ion away from its site."""
    if moving_index is None or ends.results is None:
        return None
    failure = None
    for label, before, res in (
        ("initial", initial, ends.results[0]),
        ("final", final, ends.results[1]),
    ):
        shift = float(
            np.linalg.norm(res.atoms.positions[moving_index] - before.positions[moving_index])
        )
        if shift > settings.max_ion_shift:
            failure = (
                f"{label} endpoint relaxation moved the mobile ion by {shift:.2f} Å "
                f"(> {settings.max_ion_shift} Å): the vacancy endpoint is not a minimum"
            )
    return failure


def _endpoint_failure(
    ends: _Ends, failure: str, moving_index: int | None, settings: NebSettings, t0: float
) -> NebResult:
    assert ends.results is not None
    logger.warning("NEB not started: %s", failure)
    return NebResult(
        energies=[ends.results[0].energy, ends.results[1].energy],
        positions=np.array([ends.a.positions, ends.b.positions]),
        numbers=np.array(ends.a.numbers),
        cell=np.array(ends.a.cell[:]),
        barrier_forward=float("nan"),
        barrier_reverse=float("nan"),
        ts_index=0,
        converged=False,
        n_steps=0,
        force_calls=ends.force_calls,
        endpoint_force_calls=ends.force_calls,
        band_force_calls=0,
        max_force=float("nan"),
        wall_time_s=time.perf_counter() - t0,
        failure_reason=failure,
        endpoints_converged=ends.converged,
        moving_index=moving_index,
        settings=settings.__dict__.copy(),
    )


def _start_checkpoint(
    path: Path,
    fp: str,
    ends: _Ends,
    images: list[Atoms],
    evaluator: Evaluator,
    every: int,
    t0: float,
) -> CheckpointWriter:
    """Write the first checkpoint (endpoints and initial band)."""
    if ends.results is None:  # endpoints taken as given: evaluate them once, here, and keep them
        preds = evaluator.evaluate([ends.a, ends.b])
        ends.force_calls += 2
        ra, rb = (
            RelaxResult(x.copy(), p.energy, np.array(p.forces), 0, 1, True, 0.0)
            for x, p in zip((ends.a, ends.b), preds)
        )
        ends.results = (ra, rb)
    r0, r1 = ends.results
    state = BandCheckpoint(
        fingerprint=fp,
        end_positions=np.array([r0.atoms.positions, r1.atoms.positions]),
        end_energies=np.array([r0.energy, r1.energy]),
        end_forces=np.array([r0.forces, r1.forces]),
        endpoint_force_calls=ends.force_calls,
        endpoints_converged=ends.converged,
        band_positions=np.array([im.positions for im in images]),
        wall_time_s=time.perf_counter() - t0,
    )
    writer = CheckpointWriter(path, state, every)
    writer.save()
    return writer


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
    relaxed_endpoints: tuple[RelaxResult, RelaxResult] | None = None,
) -> NebResult:
    """Check and relax the endpoints (fixed cell), interpolate, and run climbing-image NEB.

    Parameters
    ----------
    initial, final
        Endpoint structures in one cell. With ``unwrap`` the final state's atoms may be listed
        in any order and wrapped into the cell (:func:`match_endpoints`); without, they must be
        in the same order and unwrapped. Identical endpoints raise, before any model call.
    evaluator, settings
        Shared model evaluator (:func:`ionflow.mlip.get_evaluator`); :class:`NebSettings`.
    n_images, max_gap, interpolation
        Images including endpoints (lian2025: 7), more where neighbouring images are more than
        ``max_gap`` Å apart; ``"idpp"`` or ``"linear"`` path (:mod:`ionflow.core.hops`).
    moving_index
        Index of the migrating ion, used to check that endpoint relaxation kept it in place
        (``None``: no check).
    unwrap
        Match and unwrap ``final`` (right for endpoint files; pass False when ``final`` is
        already ordered and unwrapped, e.g. a hop longer than half the cell).
    progress
        ``True``: a step counter on a terminal (:func:`run_neb_band`); progress is logged
        (INFO) otherwise, endpoint relaxation included.
    checkpoint
        Path of a band checkpoint (``.npz``). When the file exists and belongs to this
        calculation the run continues from it, otherwise it is written after the endpoint
        relaxation and every ``checkpoint_every`` band steps; see
        :mod:`ionflow.core.neb.checkpoint` for what a continued band keeps and re-estimates.
    checkpoint_every
        Band steps between two checkpoint writes.
    relaxed_endpoints
        ``energy``/``forces``/``converged`` of ``initial`` and ``final`` when already relaxed
        (:func:`ionflow.core.screen.map_vacancy`): no endpoint relaxation or force call; the
        atoms are not reordered then, only unwrapped.

    Returns
    -------
    NebResult
        Barriers, band, counters; later failures are reported in ``failure_reason``.

    Raises
    ------
    IonflowInputError
        Endpoints that cannot describe one hop, or a checkpoint of another calculation.
    """
    from ionflow.core.hops.interpolate import interpolate_path

    settings = settings or NebSettings()
    t0 = time.perf_counter()
    final = _prepare_endpoints(initial, final, unwrap, moving_index, relaxed_endpoints is None)
    band = {"moving_index": moving_index, "progress": progress}
    path, fp, state = _open_checkpoint(checkpoint, initial, final, evaluator, settings, n_images)
    if state is not None:
        return _resume_neb(initial, state, path, evaluator, settings, checkpoint_every, **band)

    ends = (
        _relax_endpoints(initial, final, evaluator, settings)
        if relaxed_endpoints is None
        else _given_endpoints(initial, final, relaxed_endpoints)
    )
    failure = _ion_shift_failure(initial, final, ends, moving_index, settings)
    if failure is not None:
        return _endpoint_failure(ends, failure, moving_index, settings, t0)
    images = interpolate_path(ends.a, ends.b, n_images, max_gap=max_gap, method=interpolation)
    writer = None
    if path is not None:
        writer = _start_checkpoint(path, fp, ends, images, evaluator, checkpoint_every, t0)
    result = run_neb_band(
        images, evaluator, settings, endpoint_results=ends.results, checkpoint=writer, **band
    )
    wall = writer.wall() if writer else time.perf_counter() - t0
    _add_endpoint_work(result, ends.force_calls, ends.converged, wall)
    if not ends.converged and result.failure_reason is None:
        logger.warning("Endpoint relaxation did not reach fmax %.3f", settings.endpoint_fmax)
    return result


def _open_checkpoint(
    checkpoint: str | Path | None,
    initial: Atoms,
    final: Atoms,
    evaluator: Evaluator,
    settings: NebSettings,
    n_images: int,
) -> tuple[Path | None, str | None, BandCheckpoint | None]:
    """Checkpoint path, fingerprint of this calculation, and the saved state when one exists.

    Raises :class:`IonflowInputError` for a checkpoint of another calculation.
    """
    if checkpoint is None:
        return None, None, None
    path = Path(checkpoint)
    label = getattr(getattr(evaluator, "spec", None), "label", type(evaluator).__name__)
    fp = fingerprint(initial, final, settings, str(label), n_images)
    state = BandCheckpoint.load(path, fp) if path.is_file() else None
    return path, fp, state


def _add_endpoint_work(result: NebResult, calls: int, converged: bool, wall: float) -> None:
    """Count the endpoint work (force calls, convergence) and the total wall time."""
    result.force_calls += calls
    result.endpoint_force_calls += calls
    result.endpoints_converged = converged
    result.wall_time_s = wall


def _atoms_at(template: Atoms, positions: np.ndarray) -> Atoms:
    atoms = template.copy()
    atoms.calc = None
    atoms.positions = positions
    return atoms


def _resume_neb(
    template: Atoms,
    state: BandCheckpoint,
    path: Path,
    evaluator: Evaluator,
    settings: NebSettings,
    every: int,
    *,
    moving_index: int | None,
    progress: bool | Callable[[int, float], None],
) -> NebResult:
    """Continue the band saved in ``state`` (see :func:`run_neb`)."""
    logger.info(
        "Continuing NEB from %s at band step %d (%d band force calls so far)",
        path,
        state.n_steps,
        state.band_force_calls,
    )
    n_atoms = len(template)
    if state.band_positions.ndim != 3 or state.band_positions.shape[1:] != (n_atoms, 3):
        raise IonflowInputError(
            f"NEB checkpoint {path} holds a band of shape {state.band_positions.shape}, "
            f"not (n_images, {n_atoms}, 3)"
        )
    ra, rb = (
        RelaxResult(
            atoms=_atoms_at(template, state.end_positions[k]),
            energy=float(state.end_energies[k]),
            forces=np.array(state.end_forces[k]),
            n_steps=0,
            force_calls=0,
            converged=state.endpoints_converged,
            max_force=max_atomic_force(state.end_forces[k]),
        )
        for k in range(2)
    )
    images = [_atoms_at(template, pos) for pos in state.band_positions]
    writer = CheckpointWriter(path, state, every)
    endpoint_calls = state.endpoint_force_calls
    result = run_neb_band(
        images,
        evaluator,
        settings,
        endpoint_results=(ra, rb),
        moving_index=moving_index,
        progress=progress,
        checkpoint=writer,
    )
    _add_endpoint_work(result, endpoint_calls, state.endpoints_converged, writer.wall())
    return result
