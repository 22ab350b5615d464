"""EMT-labelled alloy cells: the data the MACE tests and demo train on."""

from __future__ import annotations

import numpy as np
from ase.calculators.emt import EMT

from ionflow.core.training.synthetic import emt_alloy_configs


def test_labels_are_emts_and_the_seed_reproduces_them():
    a = emt_alloy_configs(3, ["Cu", "Al", "Ni"], seed=4)
    b = emt_alloy_configs(3, ["Cu", "Al", "Ni"], seed=4)
    assert [x.get_chemical_formula() for x in a] == [x.get_chemical_formula() for x in b]
    for atoms, again in zip(a, b):
        assert np.allclose(atoms.positions, again.positions)
        fresh = atoms.copy()
        fresh.calc = EMT()
        assert atoms.get_potential_energy() == fresh.get_potential_energy()
        assert np.allclose(atoms.get_forces(), fresh.get_forces())
        assert np.allclose(atoms.get_stress(), fresh.get_stress())
    assert {len(x) for x in emt_alloy_configs(2, ["Cu"], seed=1, vacancy=True)} == {7}
    assert emt_alloy_configs(1, ["Cu"], seed=1)[0].get_chemical_symbols() == ["Cu"] * 8
