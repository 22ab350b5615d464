from __future__ import annotations

import json

import numpy as np
import pytest
from ase import Atoms
from ase.io import write

from ionflow.cli.main import main
from ionflow.core.diffusion.synthetic import gaussian_walk

KB = 8.617333262e-5


def _write_walk(path, D, T, rng, fmt):
    """16 'Li' ions random-walking with diffusivity D in a 10 Å box, wrapped, 2000 frames."""
    pos = gaussian_walk(2000, 16, D, 10.0, rng=rng) + rng.uniform(0, 10, size=(1, 16, 3))
    frames = []
    for k, p in enumerate(pos):
        at = Atoms("Li16", positions=p, cell=[10, 10, 10], pbc=True)
        at.wrap()  # files hold wrapped positions: the reader must unwrap
        at.info["time_fs"] = 10.0 * k
        at.info["temperature_K"] = T
        frames.append(at)
    write(path, frames, format=fmt)


def test_diffusion_command_recovers_arrhenius(tmp_path, capsys):
    rng = np.random.default_rng(7)
    Ea, D0 = 0.25, 1e-3
    files = []
    for T, fmt in ((600.0, "traj"), (800.0, "extxyz"), (1000.0, "traj")):
        path = tmp_path / f"walk_{T:.0f}.{'traj' if fmt == 'traj' else 'xyz'}"
        _write_walk(path, D0 * np.exp(-Ea / (KB * T)), T, rng, fmt)
        files.append(str(path))
    assert main(["diffusion", *files, "--species", "Li", "--segments", "4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [f["T"] for f in out["files"]] == [600.0, 800.0, 1000.0]
    for f in out["files"]:
        true = D0 * np.exp(-Ea / (KB * f["T"]))
        assert f["D_cm2_s"] == pytest.approx(true, rel=0.25)
        assert f["D_err_cm2_s"] > 0
    assert out["Ea_eV"] == pytest.approx(Ea, abs=max(3 * out["Ea_err_eV"], 0.03))
    lo, hi = out["sigma_300K_interval_mS_cm"]
    assert lo < out["sigma_300K_mS_cm"] < hi


def test_diffusion_command_errors(tmp_path, capsys):
    path = tmp_path / "walk.traj"
    _write_walk(path, 1e-5, 800.0, np.random.default_rng(0), "traj")
    assert main(["diffusion", str(path), "--species", "Na"]) == 2
    assert "Na" in capsys.readouterr().err
    assert main(["diffusion", str(path), str(path), "--temperature", "1", "2", "3"]) == 2
    assert "one value per file" in capsys.readouterr().err
