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
