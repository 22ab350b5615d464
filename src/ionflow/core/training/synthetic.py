"""Synthetic labelled configurations for tests and demos of the fine-tuning backends.

:func:`emt_alloy_configs` makes small fcc alloy cells labelled by ASE's EMT (milliseconds per
cell, no model download): enough data to train and fine-tune a tiny model from scratch, and
a stand-in for a teacher's labels where the chemistry does not matter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ase import Atoms

__all__ = ["emt_alloy_configs"]


def emt_alloy_configs(
    n: int, elements: Sequence[str], seed: int, vacancy: bool = False
) -> list[Atoms]:
    """``n`` rattled, ±2 % strained 8-site fcc cells of random ``elements``, labelled by EMT.

    Parameters
    ----------
    n
        Number of configurations.
    elements
        Elements drawn at random for every site (EMT knows Al, Cu, Ag, Au, Ni, Pd, Pt, H, C,
        N, O).
    seed
        Seed of the draw (the same seed gives the same configurations).
    vacancy
        Remove one random atom from each cell.

    Returns
    -------
    list of ase.Atoms
        Each with a single-point calculator holding EMT's energy, forces and stress.

    Examples
    --------
    >>> configs = emt_alloy_configs(2, ["Cu", "Ni"], seed=0)
    >>> len(configs), len(configs[0])
    (2, 8)
    """
    from ase.build import bulk
    from ase.calculators.emt import EMT
    from ase.calculators.singlepoint import SinglePointCalculator

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((2, 1, 1))
        atoms.set_chemical_symbols(list(rng.choice(list(elements), size=len(atoms))))
        if vacancy:
            del atoms[int(rng.integers(len(atoms)))]
        atoms.set_cell(atoms.cell * (1 + rng.uniform(-0.02, 0.02)), scale_atoms=True)
        atoms.rattle(0.08, seed=int(rng.integers(10**6)))
        atoms.calc = EMT()
        labels = {
            "energy": atoms.get_potential_energy(),
            "forces": atoms.get_forces(),
            "stress": atoms.get_stress(),
        }
        atoms.calc = SinglePointCalculator(atoms, **labels)
        out.append(atoms)
    return out
