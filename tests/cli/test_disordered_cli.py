"""``ionflow conductivity`` and ``ionflow screen`` on partially occupied structures."""

from __future__ import annotations

import json

import pytest
from pymatgen.core import Lattice, Structure

from ionflow.cli.main import main

EMT = '{"@module": "ase.calculators.emt", "@callable": "EMT"}'


def _cual(path):
    """fcc Cu, 16 sites, 8 of them Cu/Al 50 % (EMT handles both; Al is the mobile ion)."""
    s = Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.1), ["Cu"], [[0, 0, 0]])
    s.make_supercell([2, 2, 1])
    for i in (0, 2, 5, 7, 8, 10, 13, 15):
        s.replace(i, {"Cu": 0.5, "Al": 0.5})
    s.to(filename=str(path))
    return path


def _run(args, capsys):
    code = main(args)
    return code, capsys.readouterr()


@pytest.mark.parametrize("command", ["conductivity", "screen"])
def test_over_occupied_site_exits_2(command, p1_cif, store_dir, capsys):
    path = p1_cif("Li1 Li 0 0 0 0.7\nNa1 Na 0 0 0 0.6\nCl1 Cl 0.5 0.5 0.5 1", "bad.cif")
    code, cap = _run([command, str(path), "--model", EMT], capsys)
    assert code == 2
    assert "occupancies above 1" in cap.err


def test_no_integral_supercell_exits_2_before_the_model(tmp_path, store_dir, capsys):
    coords = [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0.5, 0.5]]
    s = Structure(Lattice.cubic(4.2), [{"Li+": 1 / 7}, {"Li+": 6 / 7}, "Cl-"], coords)
    path = tmp_path / "sevenths.cif"
    s.to(filename=str(path))
    code, cap = _run(["conductivity", str(path), "--max-atoms", "8", "--model", EMT], capsys)
    assert code == 2
    assert "supercell" in cap.err
    assert not store_dir.exists() or not any(store_dir.rglob("*.json*"))  # nothing ran


def test_too_many_orderings_and_bad_oxidation_states_exit_2(tmp_path, store_dir, capsys):
    path = _cual(tmp_path / "CuAl.cif")
    args = ["screen", str(path), "--species", "Al", "--model", EMT]
    code, cap = _run([*args, "--max-orderings", "1", "--oxidation-states", "Cu=0", "Al=0"], capsys)
    assert code == 2
    assert "cap of 1" in cap.err
    code, cap = _run([*args, "--oxidation-states", "Cu:0"], capsys)
    assert code == 2
    assert "EL=CHARGE" in cap.err
    code, cap = _run(args, capsys)  # metals: no oxidation states balance by guessing
    assert code == 2
    assert "oxidation states" in cap.err


def test_screen_of_a_disordered_input_caps_hops_and_points_to_md(tmp_path, store_dir, capsys):
    path = _cual(tmp_path / "CuAl.cif")
    args = ["screen", str(path), "--species", "Al", "--model", EMT, "--top-k", "1"]
    args += ["--oxidation-states", "Cu=0", "Al=0", "--max-hops", "0"]
    code, cap = _run(args, capsys)
    assert code == 2
    assert "ionflow conductivity" in cap.err
    assert "max_hops = 0" in cap.err


def test_conductivity_of_a_disordered_input_end_to_end(tmp_path, store_dir, capsys):
    path = _cual(tmp_path / "CuAl.cif")
    args = ["conductivity", str(path), "--species", "Al", "--model", EMT]
    args += ["--temperatures", "2000", "3000", "--runs", "1", "--time-ps", "0.4"]
    args += ["--heating-ps", "0", "--equilibration-ps", "0.05", "--timestep-fs", "2"]
    args += ["--supercell", "1", "1", "1", "--orderings", "2", "--top-k", "2"]
    args += ["--oxidation-states", "Cu=0", "Al=0", "--plot-dir", str(tmp_path / "plots")]
    code, cap = _run([*args, "--json"], capsys)
    out = json.loads(cap.out)
    assert code == 0
    assert out["n_orderings"] == 2
    assert out["orderings"][0]["index"] == 0
    assert all(o["Ea_eV"] is not None for o in out["orderings"])
    assert out["Ea_eV"] is not None
    assert len(out["D_cm2_s"]) == 2
    assert "disordered: ordering first" in cap.err
