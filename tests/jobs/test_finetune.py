"""The fine-tuning jobs end to end: NEB band images -> teacher labels -> dataset -> CHGNet."""

from __future__ import annotations

import pytest
from jobflow import Flow, JobStore, run_locally
from maggma.stores import MemoryStore

from ionflow.core.errors import IonflowInputError
from ionflow.core.training import FineTuneSettings, read_extxyz
from ionflow.flows import ScreenHopsFlow
from ionflow.jobs import (
    DatasetMaker,
    FineTuneMaker,
    HopEnumerationMaker,
    MLIPNebMaker,
    TrainingConfigsMaker,
)
from ionflow.jobs.label import TeacherLabelMaker

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _store():
    return JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})


@pytest.fixture(scope="module")
def neb_doc():
    """One EMT NEB of a Cu vacancy hop in the 4-atom cell (3 atoms, 7 images: fast to train on)."""
    from pymatgen.core import Lattice, Structure

    cu = Structure.from_spacegroup("Fm-3m", Lattice.cubic(3.61), ["Cu"], [[0, 0, 0]])
    emt = {"@module": "ase.calculators.emt", "@callable": "EMT"}
    store = _store()
    flow = ScreenHopsFlow(
        enumeration_maker=HopEnumerationMaker(species="Cu", supercell_min_length=3.0),
        neb_maker=MLIPNebMaker(model=emt, max_gap=10.0, progress=False),
    ).make(cu)
    run_locally(flow, store=store, ensure_success=True, log=False)
    (doc,) = store.query({"name": {"$regex": "^mlip neb"}}, load=True)
    return doc


@pytest.mark.slow
def test_band_images_to_a_finetuned_model(neb_doc, emt_spec, tmp_path):
    configs = TrainingConfigsMaker(strains=(-0.03, 0.03)).make(
        [neb_doc["output"]], neb_uuids=[neb_doc["uuid"]]
    )
    labels = TeacherLabelMaker(model=emt_spec).make(
        configs.output.structures, configs.output.sources
    )
    dataset = DatasetMaker(seed=1).make(labels.output, sources=[neb_doc["uuid"]])
    finetune = FineTuneMaker(
        settings={"epochs": 1, "batch_size": 4, "progress": False}, model_dir=str(tmp_path)
    ).make(dataset.output)
    store = _store()
    run_locally(
        Flow([configs, labels, dataset, finetune]), store=store, ensure_success=True, log=False
    )

    cfg = store.get_output(configs.uuid)
    assert cfg["n_configs"] == 7 + 2  # every band image, and the strained initial state
    assert {s["kind"] for s in cfg["sources"]} == {"neb_image", "strained"}
    assert cfg["sources"][0]["job_uuid"] == neb_doc["uuid"]

    ds = store.get_output(dataset.uuid, load=True)
    assert ds["n_configs"] == 9
    assert ds["has_stress"]
    assert ds["provenance"]["labellers"]
    assert ds["provenance"]["jobs"] == [neb_doc["uuid"]]
    assert all(len(v) >= 1 for v in ds["split_indices"].values())
    assert len(read_extxyz(ds["dataset"]["extxyz"], text=True)) == 9
    # the extxyz text is in the data store, not in the task document
    raw = store.query_one({"uuid": dataset.uuid})
    assert "blob_uuid" in raw["output"]["dataset"]

    doc = store.get_output(finetune.uuid, load=True)
    assert doc["model_spec"].startswith("chgnet:/")
    assert doc["dataset_version"] == ds["version"]
    assert doc["epochs_run"] == 1
    assert doc["curve_png"].endswith(".png")
    assert doc["provenance"]["split_indices"] == ds["split_indices"]
    assert set(doc["metrics"]) == {"train", "val", "test"}

    from ionflow.mlip import get_evaluator

    ase_atoms = read_extxyz(ds["dataset"]["extxyz"], text=True)[0]
    assert get_evaluator(doc["model_spec"]).evaluate([ase_atoms])[0].energy != pytest.approx(
        get_evaluator("chgnet").evaluate([ase_atoms])[0].energy, abs=1e-4
    )


def test_makers_check_their_knobs_when_built():
    maker = FineTuneMaker(settings={"epochs": 3})
    assert isinstance(maker.settings, FineTuneSettings)
    assert maker.settings.optimizer == "RAdam"
    assert maker.worker == "gpu"
    with pytest.raises(IonflowInputError, match="unknown fine-tuning backend"):
        FineTuneMaker(backend="nequip")
    with pytest.raises(IonflowInputError, match="learning_rate"):
        FineTuneMaker(settings={"learning_rate": -1})
    with pytest.raises(IonflowInputError, match="fractions"):
        DatasetMaker(fractions=(1.0, 0.0, 0.0))
    with pytest.raises(IonflowInputError, match="strains"):
        TrainingConfigsMaker(strains=(3.0,))


def test_update_maker_kwargs_reaches_the_finetune_job():
    job = FineTuneMaker().make("dataset.extxyz")
    flow = Flow([job])
    flow.update_maker_kwargs(
        {"_set": {"settings->epochs": 7}}, dict_mod=True, class_filter=FineTuneMaker
    )
    assert job.maker.settings.epochs == 7


def test_empty_or_unlabelled_datasets_fail_clearly(tmp_path):
    from ase.build import bulk
    from ase.io import write

    empty = tmp_path / "empty.extxyz"
    empty.write_text("")
    unlabelled = tmp_path / "unlabelled.extxyz"
    write(unlabelled, [bulk("Cu", "fcc", a=3.61)] * 3, format="extxyz")
    maker = FineTuneMaker(model_dir=str(tmp_path / "models"))
    for path, match in ((empty, "empty"), (unlabelled, "no energy")):
        with pytest.raises(IonflowInputError, match=match):
            maker.make.original(maker, str(path))
    with pytest.raises(IonflowInputError, match="dataset must be"):
        maker.make.original(maker, 42)
    assert not (tmp_path / "models").exists()  # nothing written
    with pytest.raises(IonflowInputError, match="empty"):
        DatasetMaker().make.original(DatasetMaker(), str(empty))


def test_a_neb_job_that_died_gives_no_configurations_and_stops_nothing(neb_doc):
    maker = TrainingConfigsMaker()
    doc = maker.make.original(
        maker, [None, neb_doc["output"]], neb_uuids=["dead-uuid", neb_doc["uuid"]]
    )
    assert doc.n_configs == neb_doc["output"]["n_images"]
    assert {s["job_uuid"] for s in doc.sources} == {neb_doc["uuid"]}
    with pytest.raises(IonflowInputError, match="no configurations"):
        maker.make.original(maker, [None], neb_uuids=["dead-uuid"])


def test_dict_settings_become_the_backends_own_settings():
    """A dict names the chosen backend's knobs (MACE: mode, foundation, ...), not CHGNet's."""
    from ionflow.core.training.mace_backend import MACEFineTuneSettings

    maker = FineTuneMaker(backend="mace", settings={"mode": "scratch", "epochs": 3})
    assert isinstance(maker.settings, MACEFineTuneSettings)
    assert (maker.settings.mode, maker.settings.epochs) == ("scratch", 3)
    with pytest.raises(TypeError):
        FineTuneMaker(backend="chgnet", settings={"mode": "scratch"})
