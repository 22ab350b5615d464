"""Tiny labelled datasets: rattled Cu cells labelled by EMT (milliseconds, no model file)."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator


def emt_configs(n: int = 6, seed: int = 0, stress: bool = True) -> list:
    """``n`` rattled, slightly strained 4-atom Cu cells labelled by EMT."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        atoms = bulk("Cu", "fcc", a=3.61, cubic=True)
        atoms.set_cell(atoms.cell[:] * (1 + 0.01 * (i % 3 - 1)), scale_atoms=True)
        atoms.positions += rng.normal(0, 0.05, atoms.positions.shape)
        atoms.calc = EMT()
        results = {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces()}
        if stress:
            results["stress"] = atoms.get_stress()
        atoms.calc = SinglePointCalculator(atoms, **results)
        atoms.info["source"] = f"rattled {i}"
        atoms.info["labeller"] = "emt"
        out.append(atoms)
    return out


@pytest.fixture
def cu_dataset() -> list:
    return emt_configs()


@pytest.fixture(scope="session")
def make_emt_configs():
    """The factory itself: ``make_emt_configs(n, seed, stress)``."""
    return emt_configs
