"""Labelling jobs: atomate2 statics checked against reference inputs, custodian with the fake
vasp, unconverged and failed statics reported, the teacher in the same schema."""

from __future__ import annotations

import json
import os
from pathlib import Path

import ase.io
import numpy as np
import pytest
from jobflow import JobStore, run_locally
from maggma.stores import MemoryStore
from pymatgen.core import Lattice, Structure

from ionflow.core.dft.fake_vasp import fake_vasp_command, write_labels_file
from ionflow.core.errors import IonflowInputError
from ionflow.jobs.label import (
    NO_OUTPUT,
    TeacherLabelMaker,
    VaspStaticLabelMaker,
    _teacher_label,
    label_maker,
)
from ionflow.mlip import Prediction
from ionflow.schemas.label import ConfigLabel, LabelSetDoc

# POTCAR.spec only (no POTCARs here): pymatgen warns on every parse; custodian's own warnings
pytestmark = [
    pytest.mark.filterwarnings("ignore:No POTCAR file with matching TITEL"),
    pytest.mark.filterwarnings("ignore:.*unconverged VASP run"),
]


def _atomate2_check_kpoints():
    from atomate2.utils.testing.vasp import _check_kpoints

    return _check_kpoints


_ATOMATE2_CHECK_KPOINTS = _atomate2_check_kpoints()

#: custodian in seconds: poll every 0.1 s instead of 10 s
FAST_CUSTODIAN = {"polling_time_step": 0.1, "monitor_freq": 1}


def _store() -> JobStore:
    return JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})


def _run(flow, tmp_path, monkeypatch) -> tuple[LabelSetDoc, dict]:
    """Run a labelling job in ``tmp_path``; return the label set and the responses."""
    monkeypatch.chdir(tmp_path)
    responses = run_locally(flow, store=_store(), create_folders=True, log=False)
    docs = [
        r[1].output for r in responses.values() if 1 in r and isinstance(r[1].output, LabelSetDoc)
    ]
    assert len(docs) == 1
    return docs[0], responses


def _check_kpoints_grid(ref_path: Path) -> None:
    """atomate2's KPOINTS check, and the grid itself.

    atomate2's ``_check_kpoints`` compares the style and ``num_kpts`` only, which is 0 for
    every automatic grid: a 5x5x5 grid passes for a 10x10x10 reference.
    """
    from atomate2.utils.testing import vasp as testing
    from pymatgen.io.vasp import Kpoints

    _ATOMATE2_CHECK_KPOINTS(ref_path)
    user, ref = testing.zpath("KPOINTS"), testing.zpath(ref_path / "inputs" / "KPOINTS")
    if user.exists() and ref.exists():
        user_kpts, ref_kpts = Kpoints.from_file(user), Kpoints.from_file(ref)
        if list(map(list, user_kpts.kpts)) != list(map(list, ref_kpts.kpts)):
            raise ValueError(
                f"KPOINTS grids are inconsistent: expected {ref_kpts.kpts}, got {user_kpts.kpts}"
            )


@pytest.fixture
def mock_vasp(monkeypatch, test_data_dir):
    """atomate2's reference-file VASP: inputs checked against ``inputs/``, ``outputs/`` copied.

    The KPOINTS check also compares the grid (see :func:`_check_kpoints_grid`).
    """
    from atomate2.utils.testing import vasp as testing

    monkeypatch.setattr(testing, "_check_kpoints", _check_kpoints_grid)
    yield from testing.monkeypatch_vasp(monkeypatch, test_data_dir / "vasp")


# ----------------------------------------------------------------------------- the Maker
def test_maker_validates_its_settings():
    with pytest.raises(IonflowInputError, match="functional"):
        VaspStaticLabelMaker(functional="lda")
    with pytest.raises(IonflowInputError, match="not both"):
        VaspStaticLabelMaker(kpoint_density=100, kspacing=0.2)
    with pytest.raises(IonflowInputError, match="encut"):
        VaspStaticLabelMaker(encut=-1)
    with pytest.raises(ValueError, match="worker"):
        VaspStaticLabelMaker(worker="tpu")
    assert isinstance(label_maker("vasp"), VaspStaticLabelMaker)
    assert label_maker("vasp:r2scan").functional == "r2scan"
    assert label_maker("vasp:r2scan").labeller == "vasp:r2scan"
    assert isinstance(label_maker("sevennet"), TeacherLabelMaker)


def test_static_maker_composes_atomate2_mp_sets(li2o_primitive, tmp_path):
    from atomate2.vasp.files import write_vasp_input_set
    from atomate2.vasp.jobs.mp import MPGGAStaticMaker, MPMetaGGAStaticMaker
    from pymatgen.io.vasp import Incar, Kpoints

    pbe = VaspStaticLabelMaker(encut=600, kpoint_density=50, incar_updates={"NCORE": 2})
    static = pbe.static_maker()
    assert isinstance(static, MPGGAStaticMaker)
    assert static.stop_children_kwargs == {"handle_unsuccessful": False}
    write_vasp_input_set(li2o_primitive, static.input_set_generator, tmp_path, potcar_spec=True)
    incar = Incar.from_file(tmp_path / "INCAR")
    assert incar["ENCUT"] == 600
    assert incar["NCORE"] == 2
    assert incar["ISMEAR"] == -5  # MP static: tetrahedron
    assert list(Kpoints.from_file(tmp_path / "KPOINTS").kpts[0]) == [7, 7, 7]  # MP: 10x10x10

    scan = VaspStaticLabelMaker(functional="r2scan", kspacing=0.3).static_maker()
    assert isinstance(scan, MPMetaGGAStaticMaker)
    write_vasp_input_set(li2o_primitive, scan.input_set_generator, tmp_path, potcar_spec=True)
    assert Incar.from_file(tmp_path / "INCAR")["KSPACING"] == 0.3
    assert Incar.from_file(tmp_path / "INCAR")["METAGGA"].lower() == "r2scan"


def test_label_jobs_are_routed_and_their_makers_updatable(li2o_primitive):
    from jobflow import Flow

    job = VaspStaticLabelMaker().make([li2o_primitive, li2o_primitive.copy()])
    assert job.name == "vasp label"
    assert job.config.manager_config["_category"] == "cpu"
    flow = Flow([job])
    flow.update_maker_kwargs({"encut": 600}, class_filter=VaspStaticLabelMaker)
    assert job.maker.encut == 600
    assert job.maker.static_maker().input_set_generator.user_incar_settings["ENCUT"] == 600
    teacher = TeacherLabelMaker(model="chgnet").make([li2o_primitive])
    assert teacher.config.manager_config["_category"] == "gpu"
    assert teacher.name == "teacher label (1 configurations)"


# ----------------------------------------------------------------------------- reference files
@pytest.mark.parametrize(
    ("functional", "reference"),
    [("pbe", "Li2O_pbe_static"), ("r2scan", "Li2O_r2scan_static")],
)
def test_reference_inputs_and_outputs(
    functional, reference, mock_vasp, li2o_primitive, tmp_path, monkeypatch
):
    mock_vasp({"vasp label 0 Li2O": reference})
    maker = VaspStaticLabelMaker(functional=functional)
    doc, _ = _run(
        maker.make([li2o_primitive], [{"kind": "neb_image", "image": 3}]), tmp_path, monkeypatch
    )
    assert doc.n_ok == 1
    assert doc.n_failed == 0
    label = doc.labels[0]
    assert label.labeller == f"vasp:{functional}"
    assert label.energy_eV == pytest.approx(-14.25)
    assert label.stress_GPa == pytest.approx([0.5, 0.5, 0.5, 0, 0, 0])
    assert label.stress_vasp_kbar[0][0] == pytest.approx(-5.0)  # vasprun.xml's own value
    assert label.source["kind"] == "neb_image"
    assert label.source["image"] == 3
    assert label.source["index"] == 0
    assert label.source["vasp_job_uuid"]
    assert doc.settings["input_set"] == (
        "MPStaticSet" if functional == "pbe" else "MPScanStaticSet"
    )
    # the label writes to extxyz and reads back
    ase.io.write(tmp_path / "labels.extxyz", doc.to_atoms_list())
    atoms = ase.io.read(tmp_path / "labels.extxyz")
    assert atoms.get_potential_energy() == pytest.approx(-14.25)
    assert atoms.get_forces() == pytest.approx(np.array(label.forces_eV_A))
    assert ConfigLabel.from_atoms(atoms).stress_GPa == pytest.approx(label.stress_GPa)


def test_wrong_incar_setting_fails_the_input_check(
    mock_vasp, li2o_primitive, tmp_path, monkeypatch
):
    from atomate2.utils.testing.vasp import fake_run_vasp
    from atomate2.vasp.files import write_vasp_input_set

    reference = Path(__file__).parents[1] / "test_data" / "vasp" / "Li2O_pbe_static"
    wrong = VaspStaticLabelMaker(encut=400)  # the reference (MP) says 520
    run_dir = tmp_path / "direct"
    run_dir.mkdir()
    monkeypatch.chdir(run_dir)
    write_vasp_input_set(li2o_primitive, wrong.static_maker().input_set_generator, potcar_spec=True)
    with pytest.raises(ValueError, match="ENCUT is inconsistent"):
        fake_run_vasp(reference)

    # in a flow: that static fails, the collection reports it and labels nothing
    mock_vasp({"vasp label 0 Li2O": "Li2O_pbe_static"})
    doc, _ = _run(wrong.make([li2o_primitive]), tmp_path, monkeypatch)
    assert doc.n_ok == 0
    assert doc.labels == []
    assert doc.failed[0].failure_reason == NO_OUTPUT


def test_wrong_kpoint_density_fails_the_input_check(
    mock_vasp, li2o_primitive, tmp_path, monkeypatch
):
    from atomate2.utils.testing.vasp import fake_run_vasp
    from atomate2.vasp.files import write_vasp_input_set

    reference = Path(__file__).parents[1] / "test_data" / "vasp" / "Li2O_pbe_static"
    monkeypatch.chdir(tmp_path)
    generator = VaspStaticLabelMaker(kpoint_density=20).static_maker().input_set_generator
    write_vasp_input_set(li2o_primitive, generator, potcar_spec=True)
    with pytest.raises(ValueError, match="KPOINTS grids are inconsistent"):
        fake_run_vasp(reference)


# ------------------------------------------------------------------------ custodian + fake vasp
@pytest.fixture
def cu_configs(cu_fcc) -> list[Structure]:
    rattled = cu_fcc.copy()
    rattled.perturb(0.05, min_distance=0.02)
    strained = cu_fcc.copy()
    strained.apply_strain(0.02)
    return [cu_fcc, rattled, strained]


def _teacher_entries(doc: LabelSetDoc, unconverged: tuple[int, ...] = ()) -> list[dict]:
    """Labels file entries from a teacher's labels (what the fake VASP will 'compute')."""
    return [
        {
            "species": [site.specie.symbol for site in label.structure],
            "frac_coords": label.structure.frac_coords.tolist(),
            "lattice": label.structure.lattice.matrix.tolist(),
            "energy_eV": label.energy_eV,
            "forces_eV_A": label.forces_eV_A,
            "stress_GPa": label.stress_GPa,
            "unconverged": i in unconverged,
        }
        for i, label in enumerate(doc.labels)
    ]


@pytest.fixture
def teacher_doc(cu_configs, emt_spec, tmp_path_factory, monkeypatch) -> LabelSetDoc:
    """EMT teacher labels of the Cu configurations (milliseconds)."""
    doc, _ = _run(
        TeacherLabelMaker(model=emt_spec).make(cu_configs),
        tmp_path_factory.mktemp("teacher"),
        monkeypatch,
    )
    # a made-up offset keeps energies negative (PositiveEnergyErrorHandler), as VASP's are
    for label in doc.labels:
        label.energy_eV -= 20.0
    return doc


def _fake_vasp_maker(labels_file: Path, **run_vasp_kwargs) -> VaspStaticLabelMaker:
    return VaspStaticLabelMaker(
        run_vasp_kwargs={
            "vasp_cmd": fake_vasp_command(labels_file),
            "custodian_kwargs": FAST_CUSTODIAN,
            **run_vasp_kwargs,
        },
        write_input_set_kwargs={"potcar_spec": True},  # POTCAR.spec: no POTCARs needed
    )


def test_custodian_corrects_the_first_failure_and_labels_are_parsed(
    cu_configs, teacher_doc, tmp_path, monkeypatch
):
    from pymatgen.io.vasp import Incar

    labels_file = write_labels_file(tmp_path / "labels.json", _teacher_entries(teacher_doc), "tet")
    doc, _ = _run(_fake_vasp_maker(labels_file).make(cu_configs), tmp_path, monkeypatch)
    assert doc.n_ok == 3
    assert doc.n_failed == 0
    assert doc.n_corrections == 3  # one tetrahedron error per static, fixed by custodian
    for vasp, teacher in zip(doc.labels, teacher_doc.labels):
        correction = vasp.corrections[0]
        assert correction["errors"] == ["tet"]
        assert correction["handler"] == "VaspErrorHandler"
        assert correction["actions"][0]["action"] == {"_set": {"ISMEAR": 0, "SIGMA": 0.05}}
        # the rerun's labels are the teacher's (same schema, same numbers)
        assert vasp.energy_eV == pytest.approx(teacher.energy_eV, abs=1e-6)
        assert vasp.stress_GPa == pytest.approx(teacher.stress_GPa, abs=1e-6)
        assert vasp.structure == teacher.structure
        np.testing.assert_allclose(vasp.forces_eV_A, teacher.forces_eV_A, atol=1e-6)
        run_dir = Path(vasp.dir_name.split(":")[-1])
        assert Incar.from_file(run_dir / "INCAR.gz")["ISMEAR"] == 0
        assert (run_dir / "custodian.json.gz").exists()


def test_unconverged_static_is_reported_not_labelled(
    cu_configs, teacher_doc, tmp_path, monkeypatch
):
    from custodian.vasp.handlers import VaspErrorHandler

    entries = _teacher_entries(teacher_doc, unconverged=(1,))
    labels_file = write_labels_file(tmp_path / "labels.json", entries, "tet")
    maker = _fake_vasp_maker(labels_file, handlers=[VaspErrorHandler()])
    doc, _ = _run(maker.make(cu_configs), tmp_path, monkeypatch)
    assert doc.n_ok == 2
    assert [label.source["index"] for label in doc.labels] == [0, 2]
    (failed,) = doc.failed
    assert failed.source["index"] == 1
    assert not failed.converged
    assert "electronic SCF not converged" in failed.failure_reason
    assert failed.corrections  # the tetrahedron correction is still on record

    # a dataset of this set and the teacher's holds the 2 converged VASP labels, not 3
    from ionflow.core.training import read_extxyz
    from ionflow.jobs.finetune import DatasetMaker

    dataset = DatasetMaker().make.original(DatasetMaker(), [doc, teacher_doc])
    assert dataset.n_configs == 2 + teacher_doc.n_ok
    stored = read_extxyz(dataset.dataset.extxyz, text=True)
    assert [a.get_potential_energy() for a in stored[:2]] == pytest.approx(
        [doc.labels[0].energy_eV, doc.labels[1].energy_eV]
    )
    assert dataset.provenance["labellers"] == ["vasp:pbe", teacher_doc.labeller]


def test_custodian_giving_up_is_reported(cu_configs, teacher_doc, tmp_path, monkeypatch):
    # default handlers: UnconvergedErrorHandler retries, then custodian raises; the static dies
    entries = _teacher_entries(teacher_doc, unconverged=(2,))
    labels_file = write_labels_file(tmp_path / "labels.json", entries, None)
    doc, _ = _run(_fake_vasp_maker(labels_file).make(cu_configs), tmp_path, monkeypatch)
    assert doc.n_ok == 2
    assert doc.failed[0].source["index"] == 2
    assert doc.failed[0].failure_reason == NO_OUTPUT
    assert doc.failed[0].energy_eV is None


def test_configuration_without_teacher_label_fails_alone(
    cu_configs, teacher_doc, tmp_path, monkeypatch
):
    entries = _teacher_entries(teacher_doc)[:2]  # the fake has nothing for the third
    labels_file = write_labels_file(tmp_path / "labels.json", entries, None)
    doc, _ = _run(_fake_vasp_maker(labels_file).make(cu_configs), tmp_path, monkeypatch)
    assert doc.n_ok == 2
    assert doc.failed[0].source["index"] == 2


# ----------------------------------------------------------------------------- the teacher
def test_teacher_labels_match_the_model(cu_configs, emt_spec, tmp_path, monkeypatch):
    from ase import units
    from ase.calculators.emt import EMT
    from pymatgen.io.ase import AseAtomsAdaptor

    maker = TeacherLabelMaker(model=emt_spec, batch_size=2)
    assert maker.worker == "gpu"
    sources = [{"kind": "md_frame", "frame": 10 * i} for i in range(3)]
    doc, _ = _run(maker.make(cu_configs, sources), tmp_path, monkeypatch)
    assert doc.n_ok == 3
    assert doc.labeller == "ase.calculators.emt.EMT"
    atoms = AseAtomsAdaptor.get_atoms(cu_configs[1])
    atoms.calc = EMT()
    label = doc.labels[1]
    assert label.energy_eV == pytest.approx(atoms.get_potential_energy())
    np.testing.assert_allclose(label.forces_eV_A, atoms.get_forces(), atol=1e-12)
    assert label.stress_GPa == pytest.approx((atoms.get_stress() / units.GPa).tolist())
    assert label.source == {"kind": "md_frame", "frame": 10, "index": 1}
    assert label.to_atoms().get_stress() == pytest.approx(atoms.get_stress())


def test_teacher_reports_non_finite_output(cu_fcc):
    bad = Prediction(energy=float("nan"), forces=np.zeros((4, 3)), stress=np.zeros(6))
    label = _teacher_label(cu_fcc, bad, "x", {"kind": "user", "index": 0})
    assert not label.ok
    assert "non-finite" in label.failure_reason
    error = _teacher_label(cu_fcc, RuntimeError("boom"), "x", {"index": 0})
    assert "boom" in error.failure_reason


def test_labellers_refuse_an_empty_list_and_a_missing_teacher(tmp_path):
    with pytest.raises(IonflowInputError, match="empty"):
        TeacherLabelMaker.make.original(TeacherLabelMaker(model="chgnet"), [])
    with pytest.raises(IonflowInputError, match="empty"):
        VaspStaticLabelMaker.make.original(VaspStaticLabelMaker(), [])
    missing = TeacherLabelMaker(model=str(tmp_path / "missing.pth.tar"))
    structure = Structure(Lattice.cubic(3.0), ["Cu"], [[0, 0, 0]])
    with pytest.raises(IonflowInputError, match="cannot be loaded"):
        TeacherLabelMaker.make.original(missing, [structure])


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:No tensor product accelerator")
def test_sevennet_teacher(li2o_primitive, tmp_path, monkeypatch):
    pytest.importorskip("sevenn")
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
    rattled = li2o_primitive.copy()
    rattled.perturb(0.05)
    doc, _ = _run(
        TeacherLabelMaker(model="sevennet").make([li2o_primitive, rattled]), tmp_path, monkeypatch
    )
    assert doc.n_ok == 2
    assert doc.labeller.startswith("sevennet")
    assert all(label.energy_eV < 0 for label in doc.labels)
    assert np.abs(doc.labels[0].forces_eV_A).max() < 0.05  # symmetric cell: no forces
    stored = json.loads(doc.model_dump_json())  # plain JSON, and back
    assert LabelSetDoc.model_validate(stored).labels[1].energy_eV == doc.labels[1].energy_eV


# ----------------------------------------------------------------------------- the schema
def test_label_set_keeps_failures_out_of_labels(cu_fcc):
    good = ConfigLabel(
        structure=cu_fcc,
        energy_eV=-1.0,
        forces_eV_A=[[0.0, 0.0, 0.0]] * 4,
        stress_GPa=np.diag([1.0, 2.0, 3.0]).tolist(),  # 3x3 is stored as Voigt
        converged=True,
        labeller="x",
    )
    assert good.stress_GPa == [1.0, 2.0, 3.0, 0.0, 0.0, 0.0]
    assert good.stress_vasp_kbar == [[-10.0, -0.0, -0.0], [-0.0, -20.0, -0.0], [-0.0, -0.0, -30.0]]
    assert good.energy_per_atom_eV == pytest.approx(-0.25)
    unconverged = good.model_copy(update={"converged": False})
    doc = LabelSetDoc(labeller="x", labels=[good, unconverged])  # even if put in labels
    assert (doc.n_ok, doc.n_failed) == (1, 1)
    assert doc.failed[0].failure_reason == "not converged"
    with pytest.raises(ValueError, match="forces_eV_A"):
        ConfigLabel(structure=cu_fcc, forces_eV_A=[[0.0, 0.0, 0.0]], converged=True, labeller="x")
    with pytest.raises(ValueError, match="Voigt"):
        ConfigLabel(structure=cu_fcc, stress_GPa=[1.0, 2.0], converged=True, labeller="x")
