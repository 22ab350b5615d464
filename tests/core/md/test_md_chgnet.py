from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def one_torch_thread():
    """One torch thread (the CPU is shared; two threads per process slow every call ~10x)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_chgnet_md_smoke():
    """12-atom Li2O, 10 steps of CHGNet MD; the force fast path equals the evaluator."""
    from pymatgen.core import Lattice, Structure
    from pymatgen.io.ase import AseAtomsAdaptor

    from ionflow.core.md import MDSettings, run_md
    from ionflow.mlip import get_evaluator
    from ionflow.mlip.chgnet_fast import CHGNetEnergyForces

    structure = Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(4.61), ["Li", "O"], [[0.25, 0.25, 0.25], [0, 0, 0]]
    )
    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.rattle(0.03, seed=0)
    evaluator = get_evaluator("chgnet")

    fast = CHGNetEnergyForces.for_evaluator(evaluator)
    assert fast is not None
    energy, forces = fast(atoms)
    ref = evaluator.evaluate([atoms], fast=False)[0]
    assert energy == pytest.approx(ref.energy, abs=1e-4)
    np.testing.assert_allclose(forces, ref.forces, atol=1e-4)
    assert fast.numpy_graph  # the numpy graph builder did not fall back

    settings = MDSettings(
        temperature=600,
        heating_ps=0,
        equilibration_ps=0,
        production_ps=0.01,
        sample_interval_fs=2.0,
        thermo_interval_fs=2.0,
    )
    before = evaluator.n_evaluations
    result = run_md(atoms, evaluator, settings, progress=False)
    assert result.completed, result.failure_reason
    assert result.n_frames == 6
    assert result.positions_mobile.shape == (6, 8, 3)
    assert np.isfinite(result.potential_energies_eV).all()
    # 10 steps + the initial state: one model evaluation per step (the fast path's one-off
    # check against predict_graph happens inside the evaluator and is not an extra step)
    assert evaluator.n_evaluations - before == 11
    # the NHC conserved quantity barely moves over 10 fs
    cons = result.thermo_conserved_energies_eV
    assert np.ptp(cons) / len(atoms) < 1e-3
