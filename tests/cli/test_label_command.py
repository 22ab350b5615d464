"""``ionflow label``: teacher and (fake) VASP labels, the extxyz they write, bad input.

Not test_label.py: tests/jobs/test_label.py has that basename (pytest prepend import mode).
"""

from __future__ import annotations

import json

import ase.io
import numpy as np
import pytest

from ionflow.cli.main import main
from ionflow.core.dft.fake_vasp import fake_vasp_command, write_labels_file

EMT = '{"@module": "ase.calculators.emt", "@callable": "EMT"}'

pytestmark = [
    pytest.mark.filterwarnings("ignore:No POTCAR file with matching TITEL"),
    pytest.mark.filterwarnings("ignore:.*unconverged VASP run"),
]


@pytest.fixture
def cu_frames(cu_fcc, tmp_path):
    """Two Cu frames in one extxyz file."""
    from pymatgen.io.ase import AseAtomsAdaptor

    rattled = cu_fcc.copy()
    rattled.perturb(0.05, min_distance=0.02)
    path = tmp_path / "frames.extxyz"
    ase.io.write(path, [AseAtomsAdaptor.get_atoms(s) for s in (cu_fcc, rattled)])
    return path


def test_teacher_labels_to_extxyz(cu_frames, store_dir, tmp_path, capsys):
    from ase.calculators.emt import EMT as EMTCalculator

    output = tmp_path / "labels.extxyz"
    code = main(["label", str(cu_frames), "--labeller", EMT, "--output", str(output), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["n_ok"] == 2
    assert out["labeller"] == "ase.calculators.emt.EMT"
    assert out["labels"][1]["source"]["frame"] == 1
    frames = ase.io.read(output, index=":")
    reference = ase.io.read(cu_frames, index=1)
    reference.calc = EMTCalculator()
    assert frames[1].get_potential_energy() == pytest.approx(reference.get_potential_energy())
    np.testing.assert_allclose(frames[1].get_forces(), reference.get_forces(), atol=1e-8)
    np.testing.assert_allclose(frames[1].get_stress(), reference.get_stress(), atol=1e-8)


def test_vasp_labels_through_custodian_and_the_fake_vasp(cu_frames, store_dir, tmp_path, capsys):
    from pymatgen.io.ase import AseAtomsAdaptor

    entries = []
    for i, atoms in enumerate(ase.io.read(cu_frames, index=":")):
        structure = AseAtomsAdaptor.get_structure(atoms)
        entries.append(
            {
                "species": [s.specie.symbol for s in structure],
                "frac_coords": structure.frac_coords.tolist(),
                "lattice": structure.lattice.matrix.tolist(),
                "energy_eV": -10.0 - i,
                "forces_eV_A": np.zeros((len(structure), 3)).tolist(),
                "stress_GPa": [0.0] * 6,
                "unconverged": i == 1,
            }
        )
    labels_file = write_labels_file(tmp_path / "teacher.json", entries, "tet")
    args = [
        "label", str(cu_frames), "--labeller", "vasp", "--json",
        "--vasp-cmd", fake_vasp_command(labels_file), "--potcar-spec",
        "--custodian-polling", "0.1", "--workdir", str(tmp_path / "runs"),
        "--output", str(tmp_path / "labels.extxyz"),
    ]  # fmt: skip
    code = main(args)
    out = json.loads(capsys.readouterr().out)
    assert code == 1  # one configuration not labelled
    assert out["labeller"] == "vasp:pbe"
    assert out["n_ok"] == 1
    assert out["labels"][0]["energy_eV"] == pytest.approx(-10.0)
    assert out["labels"][0]["n_corrections"] == 1
    assert out["failed"][0]["index"] == 1
    assert len(ase.io.read(tmp_path / "labels.extxyz", index=":")) == 1
    assert len(list((tmp_path / "runs").iterdir())) >= 2  # one directory per static


def test_bad_input_exits_2(store_dir, tmp_path, capsys):
    assert main(["label", str(tmp_path / "missing.cif"), "--labeller", EMT]) == 2
    assert "does not exist" in capsys.readouterr().err
    empty = tmp_path / "empty.extxyz"
    empty.write_text("")
    assert main(["label", str(empty), "--labeller", EMT]) == 2
    capsys.readouterr()
    cif = tmp_path / "cu.cif"
    from pymatgen.core import Lattice, Structure

    Structure(Lattice.cubic(3.6), ["Cu"], [[0, 0, 0]]).to(filename=str(cif))
    code = main(["label", str(cif), "--labeller", str(tmp_path / "missing.pth.tar")])
    assert code == 2
    assert "error" in capsys.readouterr().err
