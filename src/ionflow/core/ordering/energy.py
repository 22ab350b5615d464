"""Energies of ordered candidates: Ewald pre-ranking, MLIP relaxation, Boltzmann weights."""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pymatgen.analysis.ewald import EwaldSummation
from pymatgen.io.ase import AseAtomsAdaptor
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from ionflow.core.errors import IonflowInputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure

    from ionflow.mlip.models import Evaluator

__all__ = [
    "K_B_EV",
    "RelaxedEnergy",
    "boltzmann_weights",
    "ewald_energy",
    "relax_ordering",
    "select_boltzmann",
    "space_group",
]

logger = logging.getLogger(__name__)

#: Boltzmann constant (eV/K).
K_B_EV = 8.617333262e-5


def ewald_energy(structure: Structure) -> float:
    """Ewald energy (eV per cell) of an ordered structure with oxidation states."""
    try:
        return float(EwaldSummation(structure).total_energy)
    except (TypeError, AttributeError) as exc:  # a species without an oxidation state
        raise IonflowInputError(f"Ewald energy needs oxidation states: {exc}") from exc


def space_group(structure: Structure, symprec: float = 0.1) -> tuple[str, int]:
    """International symbol and number of ``structure``'s space group (``("P1", 1)`` if none)."""
    try:
        sga = SpacegroupAnalyzer(structure, symprec=symprec)
        return sga.get_space_group_symbol(), int(sga.get_space_group_number())
    except Exception:
        return "P1", 1


@dataclass
class RelaxedEnergy:
    """An MLIP-relaxed ordering.

    Attributes
    ----------
    structure
        The relaxed structure (oxidation states of the input kept).
    energy
        Total energy (eV).
    converged
        Whether the largest force (and stress, when the cell relaxed) fell below ``fmax``.
    n_steps
        Optimiser steps.
    max_force
        Largest atomic force at the end (eV/Å).
    wall_time_s
        Time it took.
    """

    structure: Structure
    energy: float
    converged: bool
    n_steps: int
    max_force: float
    wall_time_s: float


def relax_ordering(
    structure: Structure,
    evaluator: Evaluator,
    *,
    relax_cell: bool = False,
    fmax: float = 0.05,
    max_steps: int = 200,
    optimizer: str = "fire",
) -> RelaxedEnergy:
    """Relax one ordering with the shared evaluator.

    At fixed cell only energies and forces are asked of the model; with ``relax_cell`` ASE's
    ``FrechetCellFilter`` asks for the stress too.

    Parameters
    ----------
    structure
        Ordered structure.
    evaluator
        Shared model evaluator (:func:`ionflow.mlip.get_evaluator`).
    relax_cell
        Relax the cell as well as the positions.
    fmax
        Force convergence (eV/Å).
    max_steps
        Step limit (0: a single-point energy).
    optimizer
        ``"fire"``, ``"bfgs"``, ``"lbfgs"`` or ``"mdmin"``.

    Returns
    -------
    RelaxedEnergy
        Relaxed structure and energy.
    """
    from ase.filters import FrechetCellFilter

    from ionflow.core.neb.settings import make_optimizer

    t0 = time.perf_counter()
    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.calc = evaluator.calculator()
    target = FrechetCellFilter(atoms) if relax_cell else atoms
    n_steps, converged = 0, None
    if max_steps > 0:
        opt = make_optimizer(optimizer, target)
        with warnings.catch_warnings():
            # FrechetCellFilter's matrix logarithm warns at ~1e-13 error on every step
            warnings.filterwarnings("ignore", "logm result may be inaccurate")
            converged = bool(opt.run(fmax=fmax, steps=max_steps))
        n_steps = int(opt.nsteps)
    forces = atoms.get_forces()
    energy = float(atoms.get_potential_energy())
    max_force = float(np.sqrt((forces**2).sum(axis=1)).max()) if len(forces) else 0.0
    if converged is None:
        converged = max_force < fmax
    atoms.calc = None
    relaxed = structure.copy()
    relaxed.lattice = AseAtomsAdaptor.get_structure(atoms).lattice
    for i, frac in enumerate(atoms.get_scaled_positions(wrap=True)):
        relaxed.replace(i, structure[i].species, frac, properties=structure[i].properties)
    return RelaxedEnergy(relaxed, energy, converged, n_steps, max_force, time.perf_counter() - t0)


def boltzmann_weights(energies: Sequence[float], temperature: float) -> np.ndarray:
    """Normalised Boltzmann weights ``exp(-(E - E_min) / k_B T)``.

    Parameters
    ----------
    energies
        Energies in eV (per formula unit, as deng2025 weights by E_hull per formula unit).
    temperature
        Temperature (K); 0 puts all the weight on the lowest (ties share it).

    Returns
    -------
    numpy.ndarray
        Weights summing to 1, in the order of ``energies``.
    """
    e = np.asarray(energies, dtype=float)
    if e.size == 0:
        return e
    if temperature < 0:
        raise IonflowInputError(f"temperature must be >= 0 K, got {temperature}")
    rel = e - e.min()
    if temperature == 0:
        w = (rel <= 1e-12).astype(float)
    else:
        w = np.exp(-rel / (K_B_EV * temperature))
    return w / w.sum()


def select_boltzmann(weights: Sequence[float], n: int, seed: int = 0) -> list[int]:
    """Pick ``n`` indices: the lowest-energy one always, the rest by weight, without repeats.

    Parameters
    ----------
    weights
        Boltzmann weights (the largest marks the lowest energy).
    n
        How many to pick (at most ``len(weights)``).
    seed
        Random seed.

    Returns
    -------
    list of int
        Indices, the lowest first.
    """
    w = np.asarray(weights, dtype=float)
    if n < 1 or w.size == 0:
        return []
    first = int(np.argmax(w))
    chosen = [first]
    rest = np.array([i for i in range(w.size) if i != first])
    n_more = min(n - 1, rest.size)
    if n_more > 0:
        p = w[rest]
        # orderings of negligible weight are still allowed once the likely ones are used up
        p = np.where(p > 0, p, 1e-300)
        rng = np.random.default_rng(seed)
        chosen += [int(i) for i in rng.choice(rest, size=n_more, replace=False, p=p / p.sum())]
    return chosen
