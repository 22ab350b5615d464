"""Fixed-cell relaxation of NEB endpoints on the shared evaluator."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import numpy as np

from ionflow.core.neb.result import RelaxResult
from ionflow.core.neb.settings import make_optimizer

if TYPE_CHECKING:
    from ase import Atoms

    from ionflow.mlip.models import Evaluator

logger = logging.getLogger(__name__)


def max_atomic_force(forces: np.ndarray) -> float:
    """Largest per-atom force norm."""
    return float(np.sqrt((np.asarray(forces) ** 2).sum(axis=-1)).max())


def relax_fixed_cell(
    atoms: Atoms,
    evaluator: Evaluator,
    *,
    fmax: float = 0.05,
    max_steps: int = 300,
    optimizer: str = "bfgs",
    label: str = "structure",
) -> RelaxResult:
    """Relax atomic positions at fixed cell with the shared evaluator (energy + forces only).

    Parameters
    ----------
    atoms
        Structure to relax (not modified).
    evaluator
        Shared model evaluator.
    fmax, max_steps, optimizer
        Convergence threshold (eV/Å), step limit and ASE optimiser name.
    label
        Name used in the log lines (``"initial"``, ``"final"``).

    Returns
    -------
    RelaxResult
        The relaxed copy, its energy and forces, steps, force calls and convergence.
    """
    logger.info(
        "Relaxing %s (%d atoms, fixed cell, %s, fmax %.3f eV/Å, at most %d steps)",
        label,
        len(atoms),
        optimizer,
        fmax,
        max_steps,
    )
    t0 = time.perf_counter()
    work = atoms.copy()
    calc = evaluator.calculator()
    work.calc = calc
    start = evaluator.n_evaluations
    opt = make_optimizer(optimizer, work)
    converged = bool(opt.run(fmax=fmax, steps=max_steps))
    forces = work.get_forces()
    energy = float(work.get_potential_energy())
    work.calc = None
    result = RelaxResult(
        atoms=work,
        energy=energy,
        forces=np.array(forces),
        n_steps=int(opt.nsteps),
        force_calls=evaluator.n_evaluations - start,
        converged=converged,
        max_force=max_atomic_force(forces),
    )
    logger.info(
        "%s %s after %d steps: max force %.3f eV/Å, energy %.4f eV, %d force calls, %.1f s",
        label.capitalize(),
        "relaxed" if converged else "not converged",
        result.n_steps,
        result.max_force,
        energy,
        result.force_calls,
        time.perf_counter() - t0,
    )
    return result
