from __future__ import annotations

import json
import os
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


def test_screen_persists_and_results_reads_it_in_another_process(cu_fcc, tmp_path, store_dir):
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
    assert "Traceback" not in screen.stderr
    res = _run(["results", "--formula", "Cu", "--json"], env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    found = json.loads(res.stdout)
    assert found["n_results"] == 1
    assert found["results"][0]["hops"][0]["barrier_forward_eV"] == pytest.approx(
        hop["barrier_forward_eV"]
    )
    table = _run(["results", "--formula", "Cu"], env=env)
    assert table.returncode == 0, table.stderr[-3000:]
    assert "hops converged" in table.stdout
    none = _run(["results", "--formula", "Li2O"], env=env)
    assert "No hop screens" in none.stdout


def test_results_rejects_a_bad_formula(store_dir, capsys):
    from ionflow.cli.main import main

    assert main(["results", "--formula", "Xx9!"]) == 2
    assert "formula" in capsys.readouterr().err


def test_a_screen_over_max_hops_exits_2_before_any_model(li2mno3, tmp_path, store_dir, capsys):
    """A P1 cell has N² hops for N distinct sites: the cap is applied before any NEB."""
    s = li2mno3.copy()
    for k, i in enumerate(s.indices_from_symbol("Li")):
        s.translate_sites([i], [0.004 * (k + 1), -0.003 * k, 0.002], frac_coords=True)
    path = tmp_path / "p1.cif"
    s.to(filename=str(path))
    never = '{"@module": "ase.calculators.emt", "@callable": "NoSuchCalculator"}'
    args = ["screen", str(path), "--symprec", "0.001", "--max-hops", "20", "--model", never]
    assert main(args) == 2
    assert "64 hops to compute, more than max_hops = 20" in capsys.readouterr().err


def test_per_hop_runs_the_old_procedure_with_the_same_barrier(cu_fcc, tmp_path, store_dir, capsys):
    """--per-hop relaxes each hop's own endpoints; the default relaxes the one vacancy once."""
    path = tmp_path / "Cu.cif"
    cu_fcc.to(filename=str(path))
    base = ["screen", str(path), "--species", "Cu", "--model", EMT, "--supercell-min", "7"]
    docs = {}
    for name, extra in (("shared", []), ("per_hop", ["--per-hop"])):
        assert main([*base, *extra, "--json"]) == 0
        docs[name] = json.loads(capsys.readouterr().out)
    shared, per_hop = docs["shared"], docs["per_hop"]
    assert shared["n_endpoint_relaxations"] == 1  # fcc: one distinct vacancy
    assert per_hop["n_endpoint_relaxations"] == 2 * per_hop["n_hops"]
    assert shared["hops"][0]["band_id"] is not None
    assert shared["hops"][0]["barrier_forward_eV"] == pytest.approx(
        per_hop["hops"][0]["barrier_forward_eV"], abs=0.02
    )
