from __future__ import annotations

import numpy as np
import pytest

from ionflow.core.md import MDResult, run_md
from ionflow.core.md.trajectory import Unwrapper


@pytest.mark.parametrize("thermostat", ["nose-hoover-chain", "langevin", "berendsen", "nve"])
def test_run_stores_compact_production_frames(cual, emt, quick, thermostat):
    settings = quick(thermostat=thermostat)
    before = emt.n_evaluations
    result = run_md(cual, emt, settings, progress=False)

    assert isinstance(result, MDResult)
    assert result.completed, result.failure_reason
    assert result.failure_reason is None
    assert result.n_steps_done == result.n_steps_total == 100
    # energy + forces once per step (plus the initial state), never a second call
    assert emt.n_evaluations - before == 101
    assert result.n_frames == settings.n_frames == 17
    np.testing.assert_allclose(result.times_ps, np.arange(17) * 0.01)
    assert result.positions_mobile.dtype == np.float32
    assert result.positions_mobile.shape == (17, 2, 3)
    assert list(result.mobile_indices) == [0, 7]
    assert result.temperatures_K.shape == result.potential_energies_eV.shape == (17,)
    assert np.all(result.temperatures_K > 0)
    assert result.full_frames is None
    assert result.npt_mean_cell is None
    np.testing.assert_allclose(result.cell, cual.cell.array)
    assert result.volume_A3 == pytest.approx(cual.get_volume())
    assert result.steps_per_s > 0

    summary = result.summary()
    assert all(v is None or isinstance(v, bool | int | float | str) for v in summary.values())
    assert summary["n_frames"] == 17
    assert summary["formula"] == "Al2Cu14"
    assert summary["mobile_species"] == "Al"
    arrays = result.as_arrays()
    assert {"times_ps", "positions_mobile", "cell", "temperatures_K"} <= set(arrays)
    assert "full_frames" not in arrays
    # thermodynamic log over the whole run at its own (coarser) interval
    np.testing.assert_allclose(result.thermo_times_ps, np.arange(11) * 0.02)
    assert np.isnan(result.thermo_conserved_energies_eV).all() == (
        thermostat in ("langevin", "berendsen")
    )


def test_input_structure_is_untouched(cual, emt, quick):
    ref = cual.copy()
    run_md(cual, emt, quick(production_ps=0.02), progress=False)
    np.testing.assert_array_equal(cual.positions, ref.positions)
    assert cual.calc is None
    assert not cual.get_momenta().any()


def test_same_seed_same_run_other_seed_other_run(cual, emt, quick):
    a = run_md(cual, emt, quick(seed=1, production_ps=0.06), progress=False)
    b = run_md(cual, emt, quick(seed=1, production_ps=0.06), progress=False)
    c = run_md(cual, emt, quick(seed=2, production_ps=0.06), progress=False)
    np.testing.assert_array_equal(a.positions_mobile, b.positions_mobile)
    assert not np.allclose(a.positions_mobile[-1], c.positions_mobile[-1])


def test_heating_ramp_from_100_K(cual, emt, quick):
    settings = quick(
        temperature=1000,
        thermostat="berendsen",
        tdamp_fs=10,
        heating_ps=0.2,
        equilibration_ps=0.0,
        production_ps=0.02,
    )
    result = run_md(cual, emt, settings, progress=False)
    assert result.completed
    temps = result.thermo_temperatures_K
    assert temps[0] == pytest.approx(100.0)  # velocities start exactly at heating_start_K
    heating = temps[: len(temps) - 1]
    third = len(heating) // 3
    assert heating[-third:].mean() > heating[:third].mean() + 300


def test_ramp_retargets_the_nose_hoover_chain(cual):
    from ase import units
    from ase.calculators.emt import EMT

    from ionflow.core.md.integrators import make_nvt, set_target_temperature

    atoms = cual.copy()
    atoms.calc = EMT()
    dyn = make_nvt(
        atoms,
        "nose-hoover-chain",
        timestep_fs=1,
        temperature_K=100,
        tdamp_fs=100,
        friction_per_fs=0.01,
    )
    q100 = dyn._thermostat._Q.copy()
    set_target_temperature(dyn, 400)
    assert dyn._thermostat._kT == pytest.approx(400 * units.kB)
    np.testing.assert_allclose(dyn._thermostat._Q, 4 * q100)


def test_unwrapped_positions_survive_wrapping(cual, emt, quick):
    """Wrapping the working atoms every step does not change the stored trajectory."""
    settings = quick(thermostat="nve", temperature=1200, production_ps=0.1)
    crossed = []

    def wrap(step, atoms):
        before = atoms.positions.copy()
        atoms.wrap()
        crossed.append(np.abs(atoms.positions - before).max() > 1.0)

    plain = run_md(cual, emt, settings, progress=False)
    wrapped = run_md(cual, emt, settings, progress=False, step_callback=wrap)
    assert any(crossed)  # atom 0 sits on the origin: it leaves the cell at once
    np.testing.assert_allclose(wrapped.positions_mobile, plain.positions_mobile, atol=1e-4)
    steps = np.linalg.norm(np.diff(wrapped.positions_mobile, axis=0), axis=-1)
    assert steps.max() < 0.5  # continuous: no jumps by a lattice vector


def test_unwrapper_crossing_a_triclinic_boundary():
    cell = np.array([[4.0, 0, 0], [2.0, 3.5, 0], [0, 0, 5.0]])
    path = np.array([[3.9, 0.1, 1.0], [4.1, 0.1, 1.0], [4.3, 0.1, 1.0]])
    wrapped = path - np.floor(path @ np.linalg.inv(cell)) @ cell
    unwrapper = Unwrapper(wrapped[:1], cell)
    out = [unwrapper.update(p[None]).copy() for p in wrapped[1:]]
    np.testing.assert_allclose(np.vstack(out), path[1:], atol=1e-12)


def test_full_frames_only_when_asked(cual, emt, quick):
    settings = quick(store_full_frames=True, full_frame_interval_fs=40.0)
    result = run_md(cual, emt, settings, progress=False)
    assert result.full_frames.dtype == np.float32
    assert result.full_frames.shape == (5, 16, 3)
    np.testing.assert_allclose(result.full_frame_times_ps, [0, 0.04, 0.08, 0.12, 0.16])
    every = 4  # 40 fs full frames vs 10 fs mobile frames
    np.testing.assert_array_equal(
        result.full_frames[:, result.mobile_indices], result.positions_mobile[::every]
    )
    assert result.as_arrays()["full_frames"].shape == (5, 16, 3)


def test_storage_per_frame_is_mobile_ions_in_float32(cual, emt, quick):
    result = run_md(cual, emt, quick(), progress=False)
    arrays = result.as_arrays()
    assert arrays["positions_mobile"].nbytes == result.n_frames * 2 * 3 * 4
    # what a 1 ns run of a 200-atom cell with 80 Li costs at the default 10 fs sampling
    n_frames = 1_000_000 // 10 + 1
    assert n_frames * 80 * 3 * 4 / 1e6 < 100  # MB


@pytest.mark.parametrize(
    ("barostat", "thermostat"),
    [("mtk", "nose-hoover-chain"), ("mtk-isotropic", "langevin"), ("berendsen", "berendsen")],
)
def test_npt_mean_cell_is_used_for_nvt(cual, emt, quick, barostat, thermostat):
    squeezed = cual.copy()
    squeezed.set_cell(cual.cell * 0.97, scale_atoms=True)
    settings = quick(
        temperature=300,
        npt_equilibration_ps=0.2,
        barostat=barostat,
        thermostat=thermostat,
        pdamp_fs=100.0,
        compressibility_per_GPa=0.05,
        equilibration_ps=0.02,
        production_ps=0.04,
    )
    before = emt.n_evaluations
    result = run_md(squeezed, emt, settings, progress=False)
    assert result.completed, result.failure_reason
    assert result.npt_mean_cell is not None
    np.testing.assert_allclose(result.cell, result.npt_mean_cell)
    assert result.volume_A3 > squeezed.get_volume() * 1.02  # relaxed towards EMT's a = 3.59 Å
    # the NVT phases run in that cell
    n_nvt = 1 + round(60 / settings.thermo_interval_fs)
    np.testing.assert_allclose(result.thermo_volumes_A3[-n_nvt + 1 :], result.volume_A3)
    per_step = 2 if barostat == "berendsen" else 1  # ASE's Berendsen rescales before the step
    assert emt.n_evaluations - before <= per_step * result.n_steps_total + 3
