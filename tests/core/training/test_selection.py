"""The loop's science without a model: held-out sets, errors, disagreement, stop rules, plot."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator

from ionflow.core.errors import IonflowInputError
from ionflow.core.training.loop_plots import plot_loop
from ionflow.core.training.selection import (
    force_disagreement,
    heldout_errors,
    rattled_configs,
    select_by_disagreement,
    stop_reason,
)


def _labelled(atoms, energy, forces, stress=None):
    atoms = atoms.copy()
    atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces, stress=stress)
    return atoms


def test_rattled_configs_cycle_amplitudes_and_strains_reproducibly():
    cu = bulk("Cu", "fcc", a=3.61, cubic=True)
    a = rattled_configs(cu, 6, amplitudes=(0.0, 0.1), strains=(0.0, 0.02, -0.02), seed=3)
    b = rattled_configs(cu, 6, amplitudes=(0.0, 0.1), strains=(0.0, 0.02, -0.02), seed=3)
    c = rattled_configs(cu, 6, amplitudes=(0.0, 0.1), strains=(0.0, 0.02, -0.02), seed=4)
    assert [x.info["rattle_A"] for x in a] == [0.0, 0.1] * 3
    assert [x.info["strain"] for x in a] == [0.0, 0.02, -0.02] * 2
    assert all(np.allclose(x.positions, y.positions) for x, y in zip(a, b))
    assert not np.allclose(a[1].positions, c[1].positions)
    assert a[1].get_volume() == pytest.approx(cu.get_volume() * 1.02**3)
    # amplitude 0 and strain 0: the input itself; the input is never changed
    assert np.allclose(a[0].get_scaled_positions() % 1, cu.get_scaled_positions() % 1)
    assert a[0].calc is None
    assert cu.positions[1, 0] == pytest.approx(0.0)
    with pytest.raises(IonflowInputError, match="at least 1"):
        rattled_configs(cu, 0)
    with pytest.raises(IonflowInputError, match="fractions"):
        rattled_configs(cu, 2, strains=(3.0,))


def test_heldout_errors_are_mean_absolute_errors():
    cu = bulk("Cu", "fcc", a=3.61, cubic=True)  # 4 atoms
    f = np.zeros((4, 3))
    stress = np.zeros(6)
    labelled = [_labelled(cu, -10.0, f, stress), _labelled(cu, -12.0, f, stress)]
    df = np.zeros((4, 3))
    df[0, 0] = 1.2  # one component off by 1.2 of 12
    preds = [
        SimpleNamespace(energy=-9.6, forces=df, stress=np.full(6, 0.01)),
        SimpleNamespace(energy=-12.0, forces=np.zeros((4, 3)), stress=None),
    ]
    err = heldout_errors(labelled, preds)
    assert err["energy_eV_atom"] == pytest.approx((0.4 / 4 + 0.0) / 2)
    assert err["forces_eV_A"] == pytest.approx(1.2 / 24)
    assert err["stress_GPa"] == pytest.approx(0.01 * 160.21766208)  # only the first has both
    assert err["n_configs"] == 2
    with pytest.raises(IonflowInputError):
        heldout_errors(labelled, preds[:1])
    no_stress = heldout_errors([labelled[1]], [preds[1]])
    assert np.isnan(no_stress["stress_GPa"])


def test_disagreement_picks_where_two_models_differ_most():
    zeros = np.zeros((3, 3))
    a = [SimpleNamespace(forces=zeros) for _ in range(4)]
    b = [SimpleNamespace(forces=zeros.copy()) for _ in range(4)]
    b[1].forces[2] = [0.3, 0.0, 0.4]  # 0.5 eV/Å on one atom
    b[3].forces[0, 0] = 0.1
    b[2].forces[0, 0] = np.nan  # a blown-up prediction is the strongest reason to label
    gaps = force_disagreement(a, b)
    assert gaps[1] == pytest.approx(0.5)
    assert gaps[0] == 0.0
    assert select_by_disagreement(gaps, 3) == [2, 1, 3]
    assert select_by_disagreement(gaps, 10) == [2, 1, 3, 0]
    with pytest.raises(IonflowInputError):
        select_by_disagreement(gaps, 0)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ((1, 4, None, 0.2, None), None),
        ((1, 4, None, 0.2, 0.1), None),
        ((1, 4, None, 0.05, 0.1), "error threshold"),
        ((2, 4, 2, 0.2, 0.1), "iteration cap"),
        ((4, 4, None, 0.2, None), "ladder end"),
        ((4, 4, 4, 0.05, 0.1), "error threshold"),  # the threshold is named first
        ((3, 4, 5, None, 0.1), None),
    ],
)
def test_stop_reason(args, reason):
    assert stop_reason(*args) == reason


def test_plot_loop(tmp_path):
    rows = [
        {"rung": 0, "label": "initial", "temperature_K": None, "energy_eV_atom": 0.2,
         "forces_eV_A": 0.1, "stress_GPa": 0.5, "D_cm2_s": None},
        {"rung": 1, "label": "400 K", "temperature_K": 400.0, "energy_eV_atom": 0.01,
         "forces_eV_A": 0.05, "stress_GPa": None, "D_cm2_s": 1e-7},
    ]  # fmt: skip
    path = plot_loop(rows, tmp_path / "sub" / "loop.png")
    assert path.stat().st_size > 1000
    assert plot_loop([], tmp_path / "empty.png") is None


def test_md_frames_take_species_from_the_start_structure(li2o_primitive):
    from ionflow.jobs.loop import md_frames
    from ionflow.schemas.arrays import PackedArray

    pos = li2o_primitive.cart_coords
    frames = np.stack([pos, pos + 0.1, pos + li2o_primitive.lattice.matrix[0]])  # unwrapped
    doc = {
        "temperature_K": 300.0,
        "trajectory": {
            "full_frames": PackedArray.pack(frames, "float32").model_dump(),
            "cell": li2o_primitive.lattice.matrix.tolist(),
        },
    }
    atoms = md_frames(doc, li2o_primitive)
    assert len(atoms) == 3
    assert atoms[0].get_chemical_symbols() == [s.specie.symbol for s in li2o_primitive]
    # the third frame is the first shifted by a lattice vector: wrapped back onto it
    assert np.allclose(atoms[2].positions, atoms[0].positions, atol=1e-3)
    with pytest.raises(IonflowInputError, match="full frames"):
        md_frames({"trajectory": {"cell": doc["trajectory"]["cell"]}}, li2o_primitive)
    with pytest.raises(IonflowInputError, match="atoms"):
        md_frames(doc, li2o_primitive * (2, 1, 1))
