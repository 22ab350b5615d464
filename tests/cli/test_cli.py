from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ionflow.cli.main import main

EMT = '{"@module": "ase.calculators.emt", "@callable": "EMT"}'


def _run(args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "ionflow.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_hops_json_li2mno3(test_data_dir, capsys):
    assert main(["hops", str(test_data_dir / "Li2MnO3_C2m.cif.gz"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [s["wyckoff"] for s in out["sites"]] == ["4h", "2c", "2b"]
    assert len(out["hops"]) == 9
    assert all(h["length_A"] > 2.5 for h in out["hops"])


def test_hops_table_lifepo4(lifepo4, tmp_path, capsys):
    path = tmp_path / "LiFePO4.cif"
    lifepo4.to(filename=str(path))
    assert main(["hops", str(path)]) == 0
    text = capsys.readouterr().out
    assert "1 distinct Li site" in text
    assert "Li1 (4a) -> Li1 (4a)" in text


@pytest.mark.parametrize(
    ("content", "species", "match"),
    [
        (None, "Li", "does not exist"),
        ("this is not a crystal", "Li", "cannot read|Cannot read|could not"),
        ("na", "Li", "no Li"),
    ],
)
def test_bad_input_exit_code_and_message(tmp_path, capsys, na_structure, content, species, match):
    path = tmp_path / "in.cif"
    if content == "na":
        na_structure.to(filename=str(path))
    elif content is not None:
        path.write_text(content)
    assert main(["hops", str(path), "--species", species]) == 2
    err = capsys.readouterr().err
    assert "error" in err
    import re

    assert re.search(match, err, flags=re.IGNORECASE), err


def test_screen_persists_and_results_reads_it_in_another_process(cu_fcc, tmp_path, store_dir):
    import os

    path = tmp_path / "Cu.cif"
    cu_fcc.to(filename=str(path))
    env = dict(os.environ)
    screen = _run(
        ["screen", str(path), "--species", "Cu", "--model", EMT, "--supercell-min", "7", "--json"],
        env=env,
    )
    assert screen.returncode == 0, screen.stderr[-3000:]
    doc = json.loads(screen.stdout)
    hop = doc["hops"][0]
    assert hop["converged"] is True
    assert {"barrier_forward_eV", "barrier_reverse_eV", "converged"} <= set(hop)
    res = _run(["results", "--formula", "Cu", "--json"], env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    found = json.loads(res.stdout)
    assert found["n_results"] == 1
    assert found["results"][0]["hops"][0]["barrier_forward_eV"] == pytest.approx(
        hop["barrier_forward_eV"]
    )
    none = _run(["results", "--formula", "Li2O"], env=env)
    assert "No hop screens" in none.stdout


def test_neb_command_on_wrapped_endpoint_files(cu_fcc, tmp_path, store_dir, capsys):
    from pymatgen.io.ase import AseAtomsAdaptor

    from ionflow.core.hops import build_vacancy_endpoints, enumerate_hops

    hop = enumerate_hops(cu_fcc, "Cu", symprec=0.1)[0]
    ends = build_vacancy_endpoints(cu_fcc, hop, min_length=7.0)
    a, b = ends.to_ase()
    b.wrap()  # files are usually wrapped: ionflow neb must unwrap by minimum image
    for name, at in (("ini", a), ("fin", b)):
        AseAtomsAdaptor.get_structure(at).to(filename=str(tmp_path / f"{name}.vasp"))
    code = main(
        [
            "neb",
            str(tmp_path / "ini.vasp"),
            str(tmp_path / "fin.vasp"),
            "--model",
            EMT,
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    row = out["hops"][0]
    assert row["moving_index"] == 0
    assert row["converged"]
    assert 0.4 < row["barrier_forward_eV"] < 1.2


def test_neb_command_continues_from_checkpoint_dir(cu_fcc, tmp_path, store_dir, capsys):
    """--checkpoint-dir: a band cut off by --max-steps is continued by the next call."""
    from pymatgen.io.ase import AseAtomsAdaptor

    from ionflow.core.hops import build_vacancy_endpoints, enumerate_hops

    hop = enumerate_hops(cu_fcc, "Cu", symprec=0.1)[0]
    a, b = build_vacancy_endpoints(cu_fcc, hop, min_length=7.0).to_ase()
    for name, at in (("ini", a), ("fin", b)):
        AseAtomsAdaptor.get_structure(at).to(filename=str(tmp_path / f"{name}.vasp"))
    ckpt = tmp_path / "ckpt"
    base = ["neb", str(tmp_path / "ini.vasp"), str(tmp_path / "fin.vasp"), "--model", EMT]
    base += ["--checkpoint-dir", str(ckpt), "--json"]
    assert main([*base, "--max-steps", "2"]) == 1  # unconverged hop: exit status 1
    first = json.loads(capsys.readouterr().out)["hops"][0]
    assert not first["converged"]
    assert len(list(ckpt.glob("*.npz"))) == 1
    assert main(base) == 0
    second = json.loads(capsys.readouterr().out)["hops"][0]
    assert second["converged"]
    assert second["n_steps"] > first["n_steps"] == 2
    assert not list(ckpt.glob("*.npz"))


def test_neb_rejects_mismatched_endpoints(cu_fcc, tmp_path, capsys):
    cu_fcc.to(filename=str(tmp_path / "a.vasp"))
    big = cu_fcc * (2, 1, 1)
    big.to(filename=str(tmp_path / "b.vasp"))
    assert main(["neb", str(tmp_path / "a.vasp"), str(tmp_path / "b.vasp")]) == 2
    assert "same vacancy supercell" in capsys.readouterr().err


def test_conductivity_command_json(tmp_path, store_dir, capsys):
    from pymatgen.core import Lattice, Structure

    s = Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.1), ["Cu"], [[0, 0, 0]])
    s.make_supercell([2, 2, 1])
    for i in (0, 5, 10, 15):
        s.replace(i, "Al")
    path = tmp_path / "CuAl.cif"
    s.to(filename=str(path))
    args = ["conductivity", str(path), "--species", "Al", "--model", EMT]
    args += ["--temperatures", "2000", "3000", "--runs", "1", "--time-ps", "1.0"]
    args += ["--heating-ps", "0", "--equilibration-ps", "0.1", "--timestep-fs", "2"]
    args += ["--supercell", "1", "1", "1", "--plot-dir", str(tmp_path), "--json"]
    code = main(args)
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["temperatures_K"] == [2000.0, 3000.0]
    assert all(d > 0 for d in out["D_cm2_s"])  # molten: the Al ions diffuse
    assert out["Ea_eV"] is not None
    assert out["fitted"] == [True, True]
    assert (tmp_path / "AlCu3_arrhenius.png").stat().st_size > 1000
