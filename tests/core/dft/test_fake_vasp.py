"""The fake vasp: fails like VASP first, then writes outputs pymatgen and custodian accept."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure
from pymatgen.io.vasp import Incar, Kpoints, Oszicar, Outcar, Poscar, Vasprun

from ionflow.core.dft import fake_vasp
from ionflow.core.dft.fake_vasp import TET_ERROR, fake_vasp_command, write_labels_file


def _structure() -> Structure:
    # O before Li: pymatgen's input sets sort by electronegativity, so POSCAR order differs
    return Structure(
        Lattice.cubic(4.0), ["O", "Li", "Li"], [[0, 0, 0], [0.25, 0.25, 0.25], [0.75, 0.7, 0.75]]
    )


def _entry(structure: Structure, **extra) -> dict:
    forces = [[0.1 * (i + 1), 0.0, -0.1 * (i + 1)] for i in range(len(structure))]
    return {
        "species": [s.specie.symbol for s in structure],
        "frac_coords": structure.frac_coords.tolist(),
        "lattice": structure.lattice.matrix.tolist(),
        "energy_eV": -12.5,
        "forces_eV_A": forces,
        "stress_GPa": [1.0, 2.0, 3.0, 0.1, 0.2, 0.3],
        **extra,
    }


def _inputs(directory: Path, structure: Structure, ismear: int = 0, kpts=(4, 4, 4)) -> None:
    sorted_structure = structure.get_sorted_structure(key=lambda s: s.specie.symbol)  # Li first
    Poscar(sorted_structure).write_file(directory / "POSCAR")
    Incar({"ISMEAR": ismear, "NELM": 40, "NSW": 0, "ENCUT": 520, "ALGO": "Fast"}).write_file(
        directory / "INCAR"
    )
    Kpoints.gamma_automatic(kpts).write_file(directory / "KPOINTS")


def _run(directory: Path, labels: Path) -> subprocess.CompletedProcess:
    cmd = fake_vasp_command(labels)
    return subprocess.run(cmd, shell=True, cwd=directory, capture_output=True, text=True)


def test_first_run_fails_with_a_vasp_error_custodian_knows(tmp_path):
    from custodian.vasp.handlers import VaspErrorHandler

    structure = _structure()
    labels = write_labels_file(tmp_path / "labels.json", [_entry(structure)], first_run_error="tet")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    _inputs(run_dir, structure)
    first = _run(run_dir, labels)
    assert TET_ERROR in first.stdout
    assert not (run_dir / "vasprun.xml").exists()
    (run_dir / "vasp.out").write_text(first.stdout)
    handler = VaspErrorHandler()
    assert handler.check(str(run_dir))
    assert handler.errors == {"tet"}
    second = _run(run_dir, labels)  # the rerun in the same directory succeeds
    assert second.returncode == 0
    assert (run_dir / "vasprun.xml").exists()


def test_outputs_parse_with_labels_in_poscar_order(tmp_path):
    structure = _structure()
    entry = _entry(structure)
    labels = write_labels_file(tmp_path / "labels.json", [entry], first_run_error=None)
    _inputs(tmp_path, structure)
    assert _run(tmp_path, labels).returncode == 0

    vasprun = Vasprun(tmp_path / "vasprun.xml", parse_potcar_file=False)
    assert vasprun.converged
    assert vasprun.final_energy == pytest.approx(-12.5)
    assert vasprun.parameters["IBRION"] == -1
    # forces follow the POSCAR (Li, Li, O), matched by position to the entry (O, Li, Li)
    poscar = Poscar.from_file(tmp_path / "POSCAR").structure
    forces = np.array(vasprun.ionic_steps[-1]["forces"])
    for i, site in enumerate(poscar):
        j = next(k for k, s in enumerate(structure) if s.distance(site) < 1e-6)
        assert forces[i] == pytest.approx(entry["forces_eV_A"][j])
    # VASP's stress: kBar, positive = compressive (ASE's GPa times -10)
    stress = np.array(vasprun.ionic_steps[-1]["stress"])
    assert stress[0, 0] == pytest.approx(-10.0)
    assert stress[1, 2] == pytest.approx(-1.0)
    assert Oszicar(tmp_path / "OSZICAR").final_energy == pytest.approx(-12.5)
    outcar = Outcar(tmp_path / "OUTCAR")
    assert outcar.final_energy == pytest.approx(-12.5)
    assert outcar.data["nbands"] > 0
    assert Poscar.from_file(tmp_path / "CONTCAR").structure == poscar


@pytest.mark.filterwarnings("ignore:.*unconverged VASP run")
def test_unconverged_entry_runs_nelm_steps(tmp_path):
    structure = _structure()
    labels = write_labels_file(
        tmp_path / "labels.json", [_entry(structure, unconverged=True)], first_run_error=None
    )
    _inputs(tmp_path, structure)
    assert _run(tmp_path, labels).returncode == 0
    vasprun = Vasprun(tmp_path / "vasprun.xml", parse_potcar_file=False)
    assert not vasprun.converged_electronic
    assert len(vasprun.ionic_steps[-1]["electronic_steps"]) == 40


def test_tetrahedron_with_too_few_kpoints_fails_every_time(tmp_path):
    structure = _structure()
    labels = write_labels_file(tmp_path / "labels.json", [_entry(structure)], first_run_error=None)
    _inputs(tmp_path, structure, ismear=-5, kpts=(1, 1, 1))
    assert TET_ERROR in _run(tmp_path, labels).stdout
    assert TET_ERROR in _run(tmp_path, labels).stdout


def test_no_label_for_the_configuration_writes_nothing(tmp_path):
    structure = _structure()
    other = structure.copy()
    other.translate_sites([0], [0.1, 0, 0])
    labels = write_labels_file(tmp_path / "labels.json", [_entry(other)], first_run_error=None)
    _inputs(tmp_path, structure)
    result = _run(tmp_path, labels)
    assert result.returncode == 1
    assert "no label" in result.stdout
    assert not (tmp_path / "vasprun.xml").exists()


def test_a_strained_cell_is_another_configuration(tmp_path):
    structure = _structure()
    strained = structure.copy()
    strained.apply_strain(0.02)  # same fractional coordinates, another cell
    labels = write_labels_file(tmp_path / "labels.json", [_entry(structure)], first_run_error=None)
    _inputs(tmp_path, strained)
    assert _run(tmp_path, labels).returncode == 1


def test_fake_vasp_is_standard_library_only():
    own = {"fake_vasp_files", "ionflow.core.dft.fake_vasp_files"}  # its sibling file
    for path in (
        Path(fake_vasp.__file__),
        Path(fake_vasp.__file__).with_name("fake_vasp_files.py"),
    ):
        modules = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules.add(node.module)
        modules -= own
        assert {m.split(".")[0] for m in modules} <= set(sys.stdlib_module_names) | {"__future__"}


def test_fake_vasp_runs_without_ionflow(tmp_path):
    # as custodian runs it: a script, in an interpreter that cannot import ionflow
    structure = _structure()
    labels = write_labels_file(tmp_path / "labels.json", [_entry(structure)], first_run_error=None)
    _inputs(tmp_path, structure)
    script = Path(fake_vasp.__file__)
    result = subprocess.run(
        [sys.executable, "-S", "-I", str(script), "--labels", str(labels)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "vasprun.xml").exists()
