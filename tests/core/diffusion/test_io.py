"""Reading trajectories written on the fly: ASE .traj, extxyz, XDATCAR, vasprun.xml."""

from __future__ import annotations

import re
from pathlib import Path

import ase.io
import numpy as np
import pytest
from ase import Atoms

from ionflow.core.diffusion import read_trajectory
from ionflow.core.errors import IonflowInputError

LATTICE = np.array([[7.0, 0.0, 0.0], [1.2, 6.5, 0.0], [0.5, -0.8, 8.0]])
N_FRAMES = 40


def _true_trajectory() -> tuple[np.ndarray, np.ndarray]:
    """Unwrapped Cartesian positions of 4 Li (moving far) and 2 S (drifting), (frames, 6, 3)."""
    rng = np.random.default_rng(7)
    li = np.cumsum(rng.normal(scale=0.5, size=(N_FRAMES, 4, 3)), axis=0) + np.array([3.5, 3.0, 4.0])
    drift = np.linspace(0, 1.0, N_FRAMES)[:, None] * np.array([0.3, -0.2, 0.1])
    s = np.array([[1.0, 1.0, 1.0], [5.0, 4.0, 6.0]])[None] + drift[:, None, :]
    return np.concatenate([li, s], axis=1), drift


def _frames(info: dict | None = None, times: bool = False) -> list[Atoms]:
    pos, _ = _true_trajectory()
    frames = []
    for i, p in enumerate(pos):
        atoms = Atoms("Li4S2", positions=p, cell=LATTICE, pbc=True)
        atoms.wrap()
        if info:
            atoms.info.update(info)
        if times:
            atoms.info["time_fs"] = 25.0 * i
        frames.append(atoms)
    return frames


def _check_unwrapped(data, step: int = 1) -> None:
    pos, drift = _true_trajectory()
    li = pos[::step, :4]
    # unwrapped positions differ from the truth only by a lattice translation per ion
    shift = data.positions - li
    np.testing.assert_allclose(shift, np.broadcast_to(shift[0], shift.shape), atol=1e-5)
    frac_shift = shift[0] @ np.linalg.inv(LATTICE)
    np.testing.assert_allclose(frac_shift, np.round(frac_shift), atol=1e-5)
    assert data.n_mobile == 4
    assert data.n_frames == li.shape[0]
    assert data.positions.dtype == np.float64
    assert data.volume_A3 == pytest.approx(abs(np.linalg.det(LATTICE)))
    np.testing.assert_allclose(data.lattice, LATTICE, atol=1e-6)
    np.testing.assert_allclose(data.framework_drift_A, drift[::step] - drift[0], atol=1e-5)
    assert data.mobile_indices.tolist() == [0, 1, 2, 3]


def test_read_traj_with_times(tmp_path: Path):
    path = tmp_path / "md.traj"
    ase.io.write(path, _frames({"temperature_K": 650.0}, times=True))
    data = read_trajectory(path, "Li")
    _check_unwrapped(data)
    assert data.timestep_fs == pytest.approx(25.0)
    assert data.temperature == 650.0
    sub = read_trajectory(path, "Li", index="::2")
    _check_unwrapped(sub, step=2)
    assert sub.timestep_fs == pytest.approx(50.0)
    res = data.diffusion(check_hops=False)
    assert res.temperature == 650.0
    assert res.timestep_fs == pytest.approx(25.0)
    res_d = data.diffusion(drift_correct=True, check_hops=False)
    assert res_d.drift_corrected


def test_read_extxyz_with_timestep(tmp_path: Path):
    path = tmp_path / "md.extxyz"
    ase.io.write(path, _frames({"timestep_fs": 10.0, "temperature_K": 800}))
    data = read_trajectory(path, ["Li+"])
    _check_unwrapped(data)
    assert data.timestep_fs == pytest.approx(10.0)
    assert data.temperature == 800.0
    assert data.species == ("Li",)
    every3 = read_trajectory(path, "Li", index="::3")
    assert every3.timestep_fs == pytest.approx(30.0)
    # a caller's value wins
    assert read_trajectory(path, "Li", timestep_fs=2.0).timestep_fs == 2.0


def test_read_xdatcar_needs_timestep(tmp_path: Path):
    path = tmp_path / "XDATCAR"
    ase.io.write(path, _frames(), format="vasp-xdatcar")
    with pytest.raises(IonflowInputError, match="timestep_fs"):
        read_trajectory(path, "Li")
    data = read_trajectory(path, "Li", timestep_fs=2.0, temperature=600)
    _check_unwrapped(data)
    assert data.timestep_fs == 2.0
    assert data.temperature == 600.0
    unknown = read_trajectory(path, "Li", require_timestep=False)
    assert unknown.timestep_fs is None
    with pytest.raises(IonflowInputError, match="timestep_fs"):
        unknown.diffusion()


def _vasprun_template() -> Path:
    import ase

    path = Path(ase.__file__).parent / "test" / "testdata" / "vasp" / "vasprun_pstress.xml"
    if not path.is_file():
        pytest.skip(f"no vasprun.xml template shipped with ase at {path}")
    return path


def test_read_vasprun_md(tmp_path: Path):
    """A 6-step 'MD' vasprun.xml built from ase's test vasprun (2 C atoms, POTIM, TEBEG)."""
    text = _vasprun_template().read_text()
    text = re.sub(r'(<i name="POTIM">)\s*[\d.]+', r"\g<1>      2.00000000", text)
    text = re.sub(r'(<i name="TEBEG">)\s*[\d.]+', r"\g<1>    700.00000000", text)
    text = re.sub(r'(<i name="TEEND">)\s*[\d.]+', r"\g<1>    700.00000000", text)
    start, end = text.index("<calculation>"), text.index("</calculation>") + len("</calculation>")
    calc = text[start:end]
    pos_block = re.search(r'(<structure>.*?<varray name="positions" >)(.*?)(</varray>)', calc, re.S)
    assert pos_block is not None
    frac = np.array([[0.0, 0.0, 0.0], [0.25, 0.25, 0.25]])
    calcs, truth = [], []
    for i in range(6):
        f = frac + np.array([[0.23 * i, 0.0, 0.0], [0.0, 0.0, 0.0]])  # atom 0 crosses the boundary
        truth.append(f.copy())
        wrapped = f % 1.0
        rows = "".join(f"\n    <v> {a:.8f} {b:.8f} {c:.8f} </v>" for a, b, c in wrapped)
        calcs.append(calc[: pos_block.start(2)] + rows + "\n   " + calc[pos_block.end(2) :])
    path = tmp_path / "vasprun.xml"
    path.write_text(text[:start] + "\n".join(calcs) + text[end:])
    data = read_trajectory(path, "C")
    assert data.n_frames == 6
    assert data.timestep_fs == pytest.approx(2.0)
    assert data.temperature == pytest.approx(700.0)
    lat = data.lattice
    assert np.ptp(np.array(truth)[:, 0, 0]) > 1.0  # it did cross the cell boundary
    expected = np.array(truth) @ lat
    shift = data.positions - expected
    np.testing.assert_allclose(shift, np.broadcast_to(shift[0], shift.shape), atol=1e-6)


def test_read_errors(tmp_path: Path):
    path = tmp_path / "md.extxyz"
    ase.io.write(path, _frames({"timestep_fs": 10.0}))
    with pytest.raises(IonflowInputError, match="species Na not found"):
        read_trajectory(path, "Na")
    with pytest.raises(IonflowInputError, match="single frame"):
        read_trajectory(path, "Li", index="0")
    with pytest.raises(FileNotFoundError, match="no trajectory file"):
        read_trajectory(tmp_path / "missing.traj", "Li")
    junk = tmp_path / "junk.traj"
    junk.write_bytes(b"this is not a trajectory\x00\x01")
    with pytest.raises(IonflowInputError, match="could not read"):
        read_trajectory(junk, "Li")
    with pytest.raises(IonflowInputError, match="timestep_fs must be > 0"):
        read_trajectory(path, "Li", timestep_fs=-1.0)
    molecule = tmp_path / "mol.xyz"
    ase.io.write(molecule, [Atoms("Li2", positions=[[0, 0, 0], [0, 0, 2.0 + i]]) for i in range(3)])
    with pytest.raises(IonflowInputError, match="periodic"):
        read_trajectory(molecule, "Li", timestep_fs=1.0)
