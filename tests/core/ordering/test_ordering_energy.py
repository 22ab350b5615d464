"""Boltzmann weights, selection, relaxation through the shared model layer, MLIP ranking."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure
from pymatgen.io.ase import AseAtomsAdaptor

from ionflow.core.ordering import (
    K_B_EV,
    boltzmann_weights,
    order_structure,
    relax_ordering,
    select_boltzmann,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

EMT = {"@module": "ase.calculators.emt", "@callable": "EMT"}


def test_boltzmann_weights_are_analytic():
    t = 800.0
    w = boltzmann_weights([0.0, K_B_EV * t * np.log(2.0)], t)
    assert np.allclose(w, [2 / 3, 1 / 3])
    w = boltzmann_weights([1.0, 1.0, 1.5], 0.0)
    assert np.allclose(w, [0.5, 0.5, 0.0])
    assert np.isclose(boltzmann_weights([5.0, 3.0, 4.0], 300).sum(), 1.0)


def test_select_keeps_the_lowest_and_never_repeats():
    w = boltzmann_weights([0.3, 0.0, 0.05, 0.1, 2.0], 800.0)
    for seed in range(5):
        picked = select_boltzmann(w, 3, seed=seed)
        assert picked[0] == 1
        assert len(set(picked)) == 3
    assert sorted(select_boltzmann(w, 10)) == [0, 1, 2, 3, 4]
    assert select_boltzmann(w, 0) == []


class _Spy:
    """Records whether the model was asked for the stress."""

    def __init__(self, evaluator):
        self.inner = evaluator
        self.stress_calls = 0
        self.calls = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def calculator(self):
        from ionflow.mlip import IonflowCalculator

        return IonflowCalculator(self)

    def evaluate(self, atoms_list, *, stress=False, fast=True):
        self.calls += 1
        self.stress_calls += bool(stress)
        return self.inner.evaluate(atoms_list, stress=stress, fast=fast)


def _cu3au() -> Structure:
    s = Structure.from_spacegroup(
        "Pm-3m", Lattice.cubic(3.9), ["Au", "Cu"], [[0, 0, 0], [0.5, 0.5, 0]]
    )
    s.perturb(0.05, min_distance=0.02)
    return s


def test_fixed_cell_asks_energy_and_forces_only_relaxed_cell_asks_stress():
    from ionflow.mlip import get_evaluator

    spy = _Spy(get_evaluator(EMT))
    fixed = relax_ordering(_cu3au(), spy, relax_cell=False, max_steps=20, fmax=0.02)
    assert spy.calls > 1
    assert spy.stress_calls == 0
    assert np.allclose(fixed.structure.lattice.matrix, _cu3au().lattice.matrix)
    spy_cell = _Spy(get_evaluator(EMT))
    free = relax_ordering(_cu3au(), spy_cell, relax_cell=True, max_steps=60, fmax=0.02)
    assert spy_cell.stress_calls > 0
    assert abs(free.structure.volume - _cu3au().volume) > 0.1  # EMT's Cu3Au is not at 3.9 Å
    assert free.energy <= fixed.energy + 1e-6


def test_chgnet_ranking_on_a_tiny_case():
    """Li/Mg and O/F on a 2x2x1 CsCl cell (8 atoms, 5 orderings), 3 relaxed with CHGNet."""
    from ionflow.mlip import get_evaluator

    s = Structure(
        Lattice.cubic(3.6),
        [{"Li": 0.5, "Mg": 0.5}, {"O": 0.5, "F": 0.5}],
        [[0, 0, 0], [0.5, 0.5, 0.5]],
    )
    s.make_supercell([2, 2, 1])
    result = order_structure(s, model="chgnet", top_k=3, max_steps=5, fmax=0.1)
    assert result.energy_source == "mlip"
    assert "chgnet" in result.model.lower()
    assert len(result.orderings) == 3
    assert result.n_distinct == 5
    energies = [c.energy_per_atom_eV for c in result.orderings]
    assert energies == sorted(energies)
    assert result.lowest.relative_energy_meV_atom == 0.0
    assert np.isclose(sum(c.weight for c in result.orderings), 1.0)
    assert {c.ewald_rank for c in result.orderings} == {0, 1, 2}  # the 3 lowest-Ewald ones
    evaluator = get_evaluator("chgnet")
    for cand in result.orderings:
        assert cand.n_steps <= 5
        # the reported energy is the model's energy of the structure that is returned
        atoms = AseAtomsAdaptor.get_atoms(cand.structure)
        (pred,) = evaluator.evaluate([atoms])
        assert np.isclose(pred.energy, cand.energy_eV, atol=2e-3)
        n_fu = cand.structure.composition.get_reduced_composition_and_factor()[1]
        assert np.isclose(cand.energy_per_fu_eV * n_fu, cand.energy_eV)
