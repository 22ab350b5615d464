from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from ionflow.core.errors import IonflowInputError
from ionflow.mlip import ModelLoadError, get_calculator, get_evaluator


def _rattled(seed=0):
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2)
    atoms.rattle(0.05, seed=seed)
    return atoms


def test_evaluator_is_loaded_once_per_process(emt_spec):
    a = get_evaluator(emt_spec)
    b = get_evaluator(dict(emt_spec))
    assert a is b
    assert get_calculator(emt_spec).evaluator is a


def test_calculator_evaluator_matches_ase(emt_spec):
    ev = get_evaluator(emt_spec)
    atoms = _rattled()
    ref = atoms.copy()
    ref.calc = EMT()
    before = ev.n_evaluations
    pred = ev.evaluate([atoms])[0]
    assert ev.n_evaluations == before + 1
    assert pred.energy == pytest.approx(ref.get_potential_energy())
    np.testing.assert_allclose(pred.forces, ref.get_forces(), atol=1e-10)
    assert pred.stress is None
    with_stress = ev.evaluate([atoms], stress=True)[0]
    np.testing.assert_allclose(with_stress.stress, ref.get_stress(), atol=1e-10)
    # the ASE calculator view gives the same numbers and leaves the input untouched
    atoms.calc = ev.calculator()
    assert atoms.get_potential_energy() == pytest.approx(ref.get_potential_energy())


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(IonflowInputError, match="Model file not found"):
        get_evaluator(f"chgnet:{tmp_path / 'missing.pth.tar'}")


def test_bad_calculator_module():
    with pytest.raises(ModelLoadError, match="Cannot import"):
        get_evaluator({"@module": "no_such_module_xyz", "@callable": "X"})
    with pytest.raises(ModelLoadError, match="has no attribute"):
        get_evaluator({"@module": "ase.calculators.emt", "@callable": "NoSuchCalc"})


@pytest.mark.slow
def test_chgnet_energy_forces_match_its_ase_calculator():
    """Our batched energy+force path reproduces CHGNetCalculator (which also does stress)."""
    from chgnet.model.dynamics import CHGNetCalculator
    from pymatgen.core import Lattice, Structure
    from pymatgen.io.ase import AseAtomsAdaptor

    s = Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(4.61), ["Li", "O"], [[0.25, 0.25, 0.25], [0, 0, 0]]
    ).get_primitive_structure()
    s.make_supercell(2)
    atoms_list = []
    for seed in range(3):
        at = AseAtomsAdaptor.get_atoms(s)
        at.rattle(0.05, seed=seed)
        atoms_list.append(at)
    ev = get_evaluator("chgnet")
    preds = ev.evaluate(atoms_list)
    calc = CHGNetCalculator(model=ev.model)
    for at, pred in zip(atoms_list, preds):
        ref = at.copy()
        ref.calc = calc
        assert pred.energy == pytest.approx(ref.get_potential_energy(), abs=1e-4)
        np.testing.assert_allclose(pred.forces, ref.get_forces(), atol=1e-4)
    # stress on request, in eV/Å^3 like ASE
    ref = atoms_list[0].copy()
    ref.calc = calc
    np.testing.assert_allclose(
        ev.evaluate(atoms_list[:1], stress=True)[0].stress, ref.get_stress(), atol=1e-5
    )
