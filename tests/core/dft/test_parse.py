"""Labels parsed from a VASP directory (emmet TaskDoc) and from its stored dict."""

from __future__ import annotations

import shutil

import pytest

from ionflow.core.dft import kbar_to_gpa_voigt, label_from_task_doc, parse_vasp_dir

# no POTCARs here (POTCAR.spec only): pymatgen says so on every parse
pytestmark = pytest.mark.filterwarnings("ignore:No POTCAR file with matching TITEL")


@pytest.fixture
def pbe_dir(test_data_dir, tmp_path):
    """The reference Li2O PBE static, inputs and outputs in one directory (gzipped)."""
    ref = test_data_dir / "vasp" / "Li2O_pbe_static"
    for sub in ("inputs", "outputs"):
        for path in (ref / sub).iterdir():
            shutil.copy(path, tmp_path)
    return tmp_path


def test_kbar_to_gpa_voigt_flips_the_sign():
    stress = [[-10.0, -3.0, -2.0], [-3.0, -20.0, -1.0], [-2.0, -1.0, -30.0]]
    assert kbar_to_gpa_voigt(stress) == pytest.approx([1.0, 2.0, 3.0, 0.1, 0.2, 0.3])


def test_parse_vasp_dir(pbe_dir):
    label = parse_vasp_dir(pbe_dir, labeller="vasp:pbe")
    assert label.converged
    assert label.failure_reason is None
    assert label.energy_eV == pytest.approx(-14.25)
    assert len(label.forces_eV_A) == len(label.structure) == 3
    assert label.stress_GPa == pytest.approx([0.5, 0.5, 0.5, 0.0, 0.0, 0.0])
    assert label.metadata["incar"]["ENCUT"] == 520
    assert label.metadata["run_type"] == "GGA"
    assert label.corrections == []
    assert label.dir_name


def test_label_from_stored_task_doc_dict(pbe_dir):
    from emmet.core.tasks import TaskDoc

    doc = TaskDoc.from_directory(pbe_dir)
    from_dict = label_from_task_doc(doc.model_dump(), "vasp:pbe")
    from_doc = label_from_task_doc(doc, "vasp:pbe")
    assert from_dict.energy_eV == from_doc.energy_eV
    assert from_dict.structure == from_doc.structure
    assert from_dict.forces_eV_A == from_doc.forces_eV_A


def test_unsuccessful_task_is_not_a_label(pbe_dir):
    from emmet.core.tasks import TaskDoc

    doc = TaskDoc.from_directory(pbe_dir).model_dump()
    doc["state"] = "failed"
    label = label_from_task_doc(doc)
    assert not label.converged
    assert "not successful" in label.failure_reason
