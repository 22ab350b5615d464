from __future__ import annotations

import json
from pathlib import Path

from ionflow.cli.main import main

EMT = '{"@module": "ase.calculators.emt", "@callable": "EMT"}'


def test_conductivity_command_json_plots_in_a_fresh_run_dir(
    tmp_path, store_dir, monkeypatch, capsys
):
    """Without --plot-dir the PNGs go to <store parent>/runs/<formula>-<time>/, not the cwd."""
    from pymatgen.core import Lattice, Structure

    s = Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.1), ["Cu"], [[0, 0, 0]])
    s.make_supercell([2, 2, 1])
    for i in (0, 5, 10, 15):
        s.replace(i, "Al")
    path = tmp_path / "CuAl.cif"
    s.to(filename=str(path))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    args = ["conductivity", str(path), "--species", "Al", "--model", EMT]
    args += ["--temperatures", "2000", "3000", "--runs", "1", "--time-ps", "1.0"]
    args += ["--heating-ps", "0", "--equilibration-ps", "0.1", "--timestep-fs", "2"]
    args += ["--supercell", "1", "1", "1", "--json"]
    code = main(args)
    cap = capsys.readouterr()
    out = json.loads(cap.out)
    assert code == 0
    assert out["temperatures_K"] == [2000.0, 3000.0]
    assert all(d > 0 for d in out["D_cm2_s"])  # molten: the Al ions diffuse
    assert out["Ea_eV"] is not None
    assert out["fitted"] == [True, True]
    assert out["T_extrapolate_K"] == 300.0
    assert {"sigma_mS_cm", "sigma_interval_mS_cm"} <= set(out)
    assert not list(cwd.iterdir()), "plots written into the current directory"
    (run_dir,) = (store_dir.parent / "runs").glob("AlCu3-*")
    png = run_dir / "AlCu3_arrhenius.png"
    assert png.stat().st_size > 1000
    assert Path(out["plot_paths"]["arrhenius"]) == png
    assert str(run_dir) in cap.err  # where the plots went


def test_new_run_dir_is_fresh_each_time(tmp_path):
    from ionflow.cli.conductivity import new_run_dir

    a = new_run_dir(tmp_path, "Li2O")
    b = new_run_dir(tmp_path, "Li2O")
    assert a != b
    assert a.is_dir()
    assert b.is_dir()
    assert a.name.startswith("Li2O-")
