from __future__ import annotations

import json

import numpy as np
import pytest
from ase import Atoms
from ase.io import write

from ionflow.cli.main import main
from ionflow.core.diffusion.synthetic import gaussian_walk

KB = 8.617333262e-5


def _write_walk(path, D, T, rng, fmt, *, drift_A_per_frame=0.0, n_frames=2000):
    """16 'Li' ions random-walking with diffusivity D in a 10 Å box, wrapped, 10 fs frames.

    With ``drift_A_per_frame``, 16 immobile 'O' atoms are added and every atom (Li and O)
    moves along x by that much per frame: the drift of the whole cell content that a
    framework drift correction removes.
    """
    pos = gaussian_walk(n_frames, 16, D, 10.0, rng=rng) + rng.uniform(0, 10, size=(1, 16, 3))
    frame_pos = rng.uniform(0, 10, size=(16, 3))
    frames = []
    for k, p in enumerate(pos):
        shift = np.array([drift_A_per_frame * k, 0.0, 0.0])
        if drift_A_per_frame:
            at = Atoms(
                "Li16O16", positions=np.vstack([p, frame_pos]) + shift, cell=[10] * 3, pbc=True
            )
        else:
            at = Atoms("Li16", positions=p, cell=[10, 10, 10], pbc=True)
        at.wrap()  # files hold wrapped positions: the reader must unwrap
        at.info["time_fs"] = 10.0 * k
        at.info["temperature_K"] = T
        frames.append(at)
    write(path, frames, format=fmt)


def _walks(tmp_path, temps=(600.0, 800.0, 1000.0), Ea=0.25, D0=1e-3, seed=7):
    rng = np.random.default_rng(seed)
    files = []
    for k, T in enumerate(temps):
        fmt = "traj" if k % 2 == 0 else "extxyz"
        path = tmp_path / f"walk_{T:.0f}.{'traj' if fmt == 'traj' else 'xyz'}"
        _write_walk(path, D0 * np.exp(-Ea / (KB * T)), T, rng, fmt)
        files.append(str(path))
    return files


def test_diffusion_command_recovers_arrhenius(tmp_path, capsys):
    Ea, D0 = 0.25, 1e-3
    files = _walks(tmp_path, Ea=Ea, D0=D0)
    assert main(["diffusion", *files, "--species", "Li", "--segments", "4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [f["T"] for f in out["files"]] == [600.0, 800.0, 1000.0]
    for f in out["files"]:
        true = D0 * np.exp(-Ea / (KB * f["T"]))
        assert f["D_cm2_s"] == pytest.approx(true, rel=0.25)
        assert f["D_err_cm2_s"] > 0
    assert out["Ea_eV"] == pytest.approx(Ea, abs=max(3 * out["Ea_err_eV"], 0.03))
    lo, hi = out["sigma_interval_mS_cm"]
    assert lo < out["sigma_mS_cm"] < hi


def test_diffusion_sigma_keys_name_the_extrapolation_temperature(tmp_path, capsys):
    """σ at --T-extrapolate is ``sigma_mS_cm`` next to ``T_extrapolate_K`` (not '300K')."""
    files = _walks(tmp_path, temps=(600.0, 1000.0))
    assert main(["diffusion", *files, "--T-extrapolate", "400", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["T_extrapolate_K"] == 400.0
    assert out["sigma_mS_cm"] > 0
    assert len(out["sigma_interval_mS_cm"]) == 2
    assert not [k for k in out if "300K" in k]


def test_diffusion_warnings_reach_stderr_in_text_mode(tmp_path, capsys):
    files = _walks(tmp_path, temps=(600.0, 1000.0))
    assert main(["diffusion", *files]) == 0
    cap = capsys.readouterr()
    assert "Ea = " in cap.out
    assert "two temperatures only" in cap.err
    assert cap.err.count("two temperatures only") == 1


def test_diffusion_equilibration_frames_are_left_out(tmp_path, capsys):
    """The first 1000 frames are 10x faster (not equilibrated): skipping them recovers D."""
    rng = np.random.default_rng(11)
    D = 1e-5
    fast = gaussian_walk(1000, 16, 10 * D, 10.0, rng=rng)
    slow = gaussian_walk(1000, 16, D, 10.0, rng=rng) + fast[-1]
    frames = []
    for k, p in enumerate(np.concatenate([fast, slow])):
        at = Atoms("Li16", positions=p, cell=[10, 10, 10], pbc=True)
        at.wrap()
        at.info["time_fs"] = 10.0 * k
        at.info["temperature_K"] = 800.0
        frames.append(at)
    path = tmp_path / "two_phase.traj"
    write(path, frames)
    assert main(["diffusion", str(path), "--json"]) == 0
    everything = json.loads(capsys.readouterr().out)["files"][0]
    assert main(["diffusion", str(path), "--equilibration-frames", "1000", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["files"][0]
    assert row["n_frames"] == 1000
    assert row["equilibration_frames"] == 1000
    assert row["D_cm2_s"] == pytest.approx(D, rel=0.3)
    assert everything["D_cm2_s"] > 2 * D


def test_diffusion_pymatgen_preset(tmp_path, capsys):
    D = 1e-5
    path = tmp_path / "walk.traj"
    _write_walk(path, D, 800.0, np.random.default_rng(3), "traj")
    assert main(["diffusion", str(path), "--preset", "pymatgen_max", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["files"][0]
    assert row["D_cm2_s"] == pytest.approx(D, rel=0.3)
    assert row["preset"] == "pymatgen_max"


def test_diffusion_drift_correction(tmp_path, capsys):
    """A uniform drift of every atom inflates D; --drift-correct removes it."""
    D = 1e-5
    path = tmp_path / "drift.traj"
    # 0.02 Å per 10 fs frame = 20 Å over the run: far beyond the diffusive spread
    _write_walk(path, D, 800.0, np.random.default_rng(5), "traj", drift_A_per_frame=0.02)
    assert main(["diffusion", str(path), "--json"]) == 0
    raw = json.loads(capsys.readouterr().out)["files"][0]
    assert main(["diffusion", str(path), "--drift-correct", "--json"]) == 0
    fixed = json.loads(capsys.readouterr().out)["files"][0]
    assert raw["D_cm2_s"] > 3 * D
    assert fixed["D_cm2_s"] == pytest.approx(D, rel=0.3)
    assert fixed["drift_corrected"] is True


def test_diffusion_drift_correction_needs_framework_atoms(tmp_path, capsys):
    path = tmp_path / "walk.traj"
    _write_walk(path, 1e-5, 800.0, np.random.default_rng(0), "traj", n_frames=200)
    assert main(["diffusion", str(path), "--drift-correct"]) == 2
    assert "framework" in capsys.readouterr().err


def test_diffusion_command_errors(tmp_path, capsys):
    path = tmp_path / "walk.traj"
    _write_walk(path, 1e-5, 800.0, np.random.default_rng(0), "traj", n_frames=200)
    assert main(["diffusion", str(path), "--species", "Na"]) == 2
    assert "Na" in capsys.readouterr().err
    assert main(["diffusion", str(path), str(path), "--temperature", "1", "2", "3"]) == 2
    assert "one value per file" in capsys.readouterr().err
