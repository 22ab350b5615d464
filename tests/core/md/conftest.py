"""Fixtures of the MD tests: a 16-atom Cu/Al cell on EMT through the ionflow evaluator."""

from __future__ import annotations

import pytest
from ase.build import bulk

from ionflow.core.md import MDSettings
from ionflow.mlip import get_evaluator


@pytest.fixture
def cual():
    """fcc Cu 2x2x1 conventional cells (16 atoms, a = 3.61 Å) with two Al (the mobile ions)."""
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((2, 2, 1))
    atoms[0].symbol = "Al"
    atoms[7].symbol = "Al"
    return atoms


@pytest.fixture
def emt(emt_spec):
    """The process-wide EMT evaluator (milliseconds per call)."""
    return get_evaluator(emt_spec)


@pytest.fixture
def quick():
    """Factory of short settings: 2 fs steps, Al mobile, no heating unless asked."""

    def make(**kwargs) -> MDSettings:
        base = {
            "temperature": 500.0,
            "timestep_fs": 2.0,
            "heating_ps": 0.0,
            "equilibration_ps": 0.04,
            "production_ps": 0.16,
            "sample_interval_fs": 10.0,
            "thermo_interval_fs": 20.0,
            "mobile_species": "Al",
        }
        base.update(kwargs)
        return MDSettings(**base)

    return make
