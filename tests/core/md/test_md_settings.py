from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ionflow.core.errors import IonflowInputError
from ionflow.core.md import MDSettings, replica_settings, run_md


def test_defaults_follow_the_papers():
    s = MDSettings(temperature=800)
    assert s.timestep_fs == 1.0
    assert s.thermostat == "nose-hoover-chain"
    assert s.heating_ps == 2.0
    assert s.heating_start_K == 100.0
    assert s.tdamp_fs == 100.0
    assert s.npt_equilibration_ps == 0.0
    assert s.n_steps == {
        "heating": 2000,
        "npt": 0,
        "equilibration": 50_000,
        "production": 200_000,
        "total": 252_000,
    }
    assert s.n_frames == 20_001
    assert s.full_frame_interval == 100.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperature": -5}, "temperature must be > 0"),
        ({"temperature": float("nan")}, "temperature must be finite"),
        ({"temperature": "hot"}, "temperature must be a number"),
        ({"timestep_fs": 0}, "timestep_fs must be > 0"),
        ({"timestep_fs": 50}, "timestep_fs must be <= 10"),
        ({"thermostat": "andersen"}, "thermostat must be one of"),
        ({"barostat": "parrinello"}, "barostat must be one of"),
        ({"tdamp_fs": 0}, "tdamp_fs must be > 0"),
        ({"friction_per_fs": -1}, "friction_per_fs must be > 0"),
        ({"heating_ps": -1}, "heating_ps must be >= 0"),
        ({"production_ps": -1}, "production_ps must be >= 0"),
        ({"sample_interval_fs": 2.5}, "sample_interval_fs must be a multiple of timestep_fs"),
        ({"full_frame_interval_fs": 0}, "full_frame_interval_fs must be > 0"),
        ({"seed": -1}, "seed must be >= 0"),
        ({"seed": 1.5}, "seed must be an integer"),
        ({"mobile_species": "Xx"}, "mobile_species must be an element symbol"),
        ({"min_distance_A": -0.1}, "min_distance_A must be >= 0"),
        ({"max_temperature_factor": 1.0}, "max_temperature_factor must be > 1"),
        ({"max_energy_drift_eV_atom": 0}, "max_energy_drift_eV_atom must be > 0 or None"),
        ({"npt_average_fraction": 0}, "npt_average_fraction must be in"),
        ({"nhc_chain_length": 0}, "nhc_chain_length must be an integer >= 1"),
        ({"thermostat": "nve"}, "heating_ps must be 0 with thermostat='nve'"),
        (
            {"heating_ps": 0, "equilibration_ps": 0, "production_ps": 0},
            "all zero steps",
        ),
    ],
)
def test_every_field_is_validated(kwargs, message):
    with pytest.raises(IonflowInputError, match=message):
        MDSettings(**{"temperature": 600, **kwargs})


def test_replica_settings_give_distinct_seeds():
    runs = replica_settings(MDSettings(temperature=700, seed=10), 3)
    assert [r.seed for r in runs] == [10, 11, 12]
    assert all(dataclasses.replace(r, seed=10) == runs[0] for r in runs)
    with pytest.raises(IonflowInputError, match="n_runs"):
        replica_settings(runs[0], 0)


def test_bad_structures_are_input_errors(cual, emt, quick):
    from ase import Atoms
    from ase.constraints import FixAtoms

    with pytest.raises(IonflowInputError, match="mobile species 'Li'"):
        run_md(cual, emt, quick(mobile_species="Li"), progress=False)
    with pytest.raises(IonflowInputError, match="periodic"):
        run_md(Atoms("Al2", positions=np.eye(2, 3) * 3), emt, quick(), progress=False)
    fixed = cual.copy()
    fixed.set_constraint(FixAtoms([1]))
    with pytest.raises(IonflowInputError, match="constraints"):
        run_md(fixed, emt, quick(), progress=False)
    with pytest.raises(IonflowInputError, match="MDSettings"):
        run_md(cual, emt, {"temperature": 300}, progress=False)


def test_temperature_has_a_default_and_stays_the_first_field():
    assert MDSettings().temperature == 300.0
    assert dataclasses.fields(MDSettings)[0].name == "temperature"
    assert MDSettings(650.0) == MDSettings(temperature=650.0)
    # how a Maker sets the per-job knobs: replace validates again
    job = dataclasses.replace(MDSettings(production_ps=10.0), temperature=900.0, seed=4)
    assert (job.temperature, job.seed, job.production_ps) == (900.0, 4, 10.0)
    with pytest.raises(IonflowInputError, match=r"MDSettings\.temperature must be > 0"):
        dataclasses.replace(job, temperature=-1.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"temperature": 800, "seed": 7, "thermostat": "langevin", "mobile_species": "Na"},
        {"npt_equilibration_ps": 10.0, "barostat": "mtk-isotropic", "pressure_GPa": 1e-4},
        {"full_frame_interval_fs": 50.0, "max_energy_drift_eV_atom": None},
    ],
)
def test_settings_round_trip_through_monty(kwargs):
    from monty.json import MontyDecoder, jsanitize

    settings = MDSettings(**kwargs)
    encoded = jsanitize(settings, strict=True)
    assert encoded["@class"] == "MDSettings"
    assert encoded["@module"] == "ionflow.core.md.settings"
    decoded = MontyDecoder().process_decoded(encoded)
    assert isinstance(decoded, MDSettings)
    assert decoded == settings
    assert MDSettings.from_dict(settings.as_dict()) == settings


def test_error_message_names_the_field_and_value():
    with pytest.raises(IonflowInputError) as info:
        MDSettings(timestep_fs=0)
    assert str(info.value) == "MDSettings.timestep_fs must be > 0 (got 0)"
    with pytest.raises(IonflowInputError) as info:
        MDSettings(timestep_fs=3.0, sample_interval_fs=10.0)
    assert str(info.value) == (
        "MDSettings.sample_interval_fs must be a multiple of timestep_fs = 3 fs (got 10.0)"
    )
    with pytest.raises(IonflowInputError, match="checkpoint_wall_s must be > 0 or None"):
        MDSettings(checkpoint_wall_s=0)
    with pytest.raises(IonflowInputError, match="pressure_GPa must be finite"):
        MDSettings(pressure_GPa=float("inf"))
    with pytest.raises(IonflowInputError, match="npt_equilibration_ps must be 0 with thermostat"):
        MDSettings(thermostat="nve", heating_ps=0, npt_equilibration_ps=1.0)


def test_the_first_unusable_field_is_named():
    # checks run in a fixed order: numbers first, then choices, then integers and intervals
    with pytest.raises(IonflowInputError, match=r"MDSettings\.tdamp_fs"):
        MDSettings(tdamp_fs=-1, thermostat="andersen", seed=-1)
    with pytest.raises(IonflowInputError, match=r"MDSettings\.thermostat"):
        MDSettings(thermostat="andersen", seed=-1)


def test_schedule_of_the_phases():
    from ionflow.core.md.schedule import Schedule

    s = MDSettings(
        500.0, heating_ps=0.01, npt_equilibration_ps=0.02, equilibration_ps=0.01, production_ps=0.05
    )
    plan = Schedule.from_settings(s)
    assert (plan.n_heat, plan.npt_start, plan.eq_start, plan.prod_start, plan.n_total) == (
        10,
        10,
        30,
        40,
        90,
    )
    assert [plan.phase(k) for k in (0, 9, 10, 29, 30, 39, 40, 89)] == [
        "heating",
        "heating",
        "npt",
        "npt",
        "equilibration",
        "equilibration",
        "production",
        "production",
    ]
    assert plan.target(0) == pytest.approx(100.0 + 400.0 / 10)
    assert plan.target(9) == plan.target(10) == 500.0
    assert plan.n_npt_avg == 10
