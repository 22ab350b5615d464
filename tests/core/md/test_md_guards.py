"""Each guard stops a run with its reason and keeps the trajectory up to that point."""

from __future__ import annotations

import numpy as np
import pytest
from ase.calculators.emt import EMT

from ionflow.core.md import run_md
from ionflow.mlip import parse_model_spec
from ionflow.mlip.models import CalculatorEvaluator


class _BrokenEMT(EMT):
    """EMT that returns NaN forces (or raises) from its ``after``-th call on."""

    def __init__(self, after: int, mode: str = "nan"):
        super().__init__()
        self.after = after
        self.mode = mode
        self.calls = 0

    def calculate(self, atoms=None, properties=("energy",), system_changes=None):
        super().calculate(atoms, properties, system_changes or [])
        self.calls += 1
        if self.calls > self.after:
            if self.mode == "raise":
                raise RuntimeError("model exploded")
            self.results["forces"] = self.results["forces"].copy()
            self.results["forces"][3] = np.nan


def _broken_evaluator(after, mode="nan"):
    spec = parse_model_spec({"@module": "ase.calculators.emt", "@callable": "EMT"})
    return CalculatorEvaluator(spec, _BrokenEMT(after, mode))


def _assert_partial(result, settings, failure_step):
    assert not result.completed
    assert result.failure_step == failure_step
    # a step that raised did not happen; a step whose result tripped a guard did
    assert result.n_steps_done in (failure_step - 1, failure_step)
    # production starts at step 0 in these tests: frames up to the failure are kept, finite
    assert result.n_frames == (failure_step - 1) // 5 + 1
    assert np.isfinite(result.positions_mobile).all()
    assert result.summary()["failure_reason"] == result.failure_reason


def test_squeezed_cell_stops_before_the_first_step(cual, emt, quick):
    squeezed = cual.copy()
    squeezed.set_cell(cual.cell * 0.7, scale_atoms=True)  # nearest neighbours 1.79 Å
    result = run_md(squeezed, emt, quick(min_distance_A=2.0), progress=False)
    assert not result.completed
    assert result.failure_reason == "atoms 0 and 1 (Al-Cu) closer than 2 Å (1.79 Å) at step 0"
    assert result.n_steps_done == 0
    assert result.n_frames == 0
    assert result.positions_mobile.shape == (0, 2, 3)


def test_atoms_pushed_together_mid_run(cual, emt, quick):
    settings = quick(equilibration_ps=0, thermostat="nve", guard_interval_fs=2.0)

    def push(step, atoms):
        if step == 21:
            atoms.positions[5] = atoms.positions[0] + [0.3, 0, 0]

    result = run_md(cual, emt, settings, progress=False, step_callback=push)
    assert result.failure_reason.startswith("atoms 0 and 5 (Al-Cu) closer than 0.5 Å (0.30 Å)")
    assert result.failure_reason.endswith("at step 21")
    _assert_partial(result, settings, 21)


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("nan", "non-finite forces on 1 atom(s) at step 30"),
        ("raise", "force evaluation failed at step 30: RuntimeError: model exploded"),
    ],
)
def test_nan_forces_or_a_crashing_model(cual, quick, mode, reason):
    settings = quick(equilibration_ps=0)
    result = run_md(cual, _broken_evaluator(after=30, mode=mode), settings, progress=False)
    assert result.failure_reason == reason
    _assert_partial(result, settings, 30)


def test_temperature_runaway(cual, emt, quick):
    hot = cual.copy()
    hot.rattle(0.25, seed=3)  # potential energy far above the 100 K of the velocities
    settings = quick(
        temperature=100,
        thermostat="nve",
        equilibration_ps=0,
        temperature_window_fs=20,
        max_energy_drift_eV_atom=None,
    )
    result = run_md(hot, emt, settings, progress=False)
    assert result.failure_reason.startswith("temperature runaway: mean T over the last 20 fs")
    assert "> 3 x 100 K" in result.failure_reason
    _assert_partial(result, settings, result.failure_step)
    assert result.failure_step >= 10  # never before the window is full


@pytest.mark.parametrize("thermostat", ["nve", "nose-hoover-chain"])
def test_energy_drift(cual, emt, quick, thermostat):
    settings = quick(
        temperature=1500,
        thermostat=thermostat,
        timestep_fs=8.0,
        sample_interval_fs=40.0,
        thermo_interval_fs=40.0,
        guard_interval_fs=8.0,
        equilibration_ps=0,
        production_ps=2.0,
        max_energy_drift_eV_atom=0.002,
        max_temperature_factor=20,
        min_distance_A=0.1,
    )
    result = run_md(cual, emt, settings, progress=False)
    assert not result.completed
    assert result.failure_reason.startswith("energy drift ")
    label = "total energy, nve" if thermostat == "nve" else f"conserved quantity of {thermostat}"
    assert f"eV/atom > 0.002 eV/atom ({label}) at step" in result.failure_reason
    assert result.n_frames >= 1


def test_npt_volume_runaway(cual, emt, quick):
    settings = quick(
        temperature=300,
        npt_equilibration_ps=0.4,
        pressure_GPa=-10.0,
        pdamp_fs=100.0,
        max_volume_change=0.1,
    )
    result = run_md(cual, emt, settings, progress=False)
    assert "during NpT (limit ±10 %)" in result.failure_reason
    assert result.failure_reason.startswith("cell volume changed by +")
    assert result.npt_mean_cell is None
    assert result.n_frames == 0
