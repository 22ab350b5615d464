"""DiscoveryFlow: pretrained CHGNet screen -> EMT teacher labels -> fine-tune -> rescreen."""

from __future__ import annotations

import dataclasses

import pytest
from jobflow import JobStore, run_locally
from maggma.stores import MemoryStore

from ionflow import query
from ionflow.core.errors import IonflowInputError
from ionflow.flows import ConductivityFlow, DiscoveryFlow, ScreenHopsFlow
from ionflow.flows.discovery import screen_with_finetuned
from ionflow.jobs import FineTuneMaker, HopEnumerationMaker, MLIPNebMaker
from ionflow.jobs.label import TeacherLabelMaker
from ionflow.jobs.md import MLIPMDMaker
from ionflow.mlip import parse_model_spec
from ionflow.store import output_as_dict

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

#: NEB settings that keep a 3-atom band cheap (the test checks the wiring, not the barrier).
_NEB = {"max_steps": 15, "endpoint_max_steps": 15, "fmax": 0.1}


def _store():
    return JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})


def _discovery(emt_spec, model_dir, **kwargs) -> DiscoveryFlow:
    return DiscoveryFlow(
        screen_maker=ScreenHopsFlow(
            enumeration_maker=HopEnumerationMaker(species="Cu", supercell_min_length=3.0),
            neb_maker=MLIPNebMaker(
                model="chgnet", n_images=5, max_gap=10.0, neb_settings=_NEB, progress=False
            ),
        ),
        labeller=TeacherLabelMaker(model=emt_spec),
        finetune_maker=FineTuneMaker(
            settings={"epochs": 1, "batch_size": 4, "progress": False, "patience": 0},
            model_dir=str(model_dir),
        ),
        **kwargs,
    )


@pytest.mark.slow
def test_discovery_flow_end_to_end(cu_fcc, emt_spec, tmp_path):
    store = _store()
    flow = _discovery(emt_spec, tmp_path / "models").make(cu_fcc)
    run_locally(flow, store=store, ensure_success=True, log=False)

    doc = output_as_dict(store, flow.output.uuid)
    assert doc["pretrained_model"] == "chgnet"
    assert doc["finetuned_model"].startswith("chgnet:/")
    assert doc["finetuned_model"] != doc["pretrained_model"]
    assert doc["labeller"]
    assert doc["n_labels"] >= 5  # every band image of the one hop
    assert doc["n_labels_failed"] == 0
    assert set(doc["metrics"]) == {"train", "val", "test"}
    (row,) = doc["hops"]
    assert row["pretrained_forward_eV"] is not None
    assert row["finetuned_forward_eV"] is not None
    assert row["change_forward_eV"] == pytest.approx(
        row["finetuned_forward_eV"] - row["pretrained_forward_eV"]
    )

    # the second screen ran with the fine-tuned model: its summary and its NEB jobs say so
    second = output_as_dict(store, doc["screen_uuids"]["finetuned"])
    assert second["model"] == doc["finetuned_model"]
    first = output_as_dict(store, doc["screen_uuids"]["pretrained"])
    assert first["model"] == "chgnet"
    neb_models = sorted(
        d["output"]["model"]
        for d in store.query({"name": {"$regex": "^mlip neb"}}, properties=["output.model"])
    )
    assert neb_models == sorted(["chgnet", parse_model_spec(doc["finetuned_model"]).label])

    # the fine-tuned model is findable with its metrics and provenance
    models = query.models(store)
    assert list(models["uuid"]) == [doc["model_uuid"]]
    (model,) = models.to_dict("records")
    assert model["model_spec"] == doc["finetuned_model"]
    assert model["test_energy_eV_atom"] == pytest.approx(doc["metrics"]["test"]["energy_eV_atom"])
    assert doc["labeller"] in model["labellers"]
    # the dataset records which NEB jobs its configurations came from
    neb_uuids = {
        d["uuid"] for d in store.query({"name": {"$regex": "^mlip neb"}, "output.model": "chgnet"})
    }
    assert set(model["source_jobs"]) == neb_uuids


def test_the_second_screen_and_md_use_the_finetuned_model(cu_fcc, emt_spec, tmp_path):
    """The job that builds the second half takes the model spec from the FineTuneDoc."""
    md = MLIPMDMaker(model="chgnet")
    maker = _discovery(
        emt_spec,
        tmp_path,
        conductivity_maker=ConductivityFlow(
            temperatures=(800.0,),
            n_runs=1,
            supercell_min_length=None,
            mobile_species="Cu",
            md_maker=md,
        ),
    )
    spec = f"chgnet:{tmp_path / 'model.pth.tar'}"
    response = screen_with_finetuned.original(
        {"model_spec": spec, "checkpoint": str(tmp_path / "model.pth.tar"), "metrics": {}},
        {"labeller": "emt", "n_labels": 5, "n_labels_failed": 0},
        cu_fcc,
        maker,
        enumeration_uuid="enum-uuid",
        first_screen_uuid="first-uuid",
        model_uuid="model-uuid",
    )
    flow = response.replace
    jobs = [j for j, _ in flow.iterflow()]
    makers = [j.maker for j in jobs if j.maker is not None]
    md_makers = [m for m in makers if isinstance(m, MLIPMDMaker)]
    assert md_makers
    assert all(m.model == spec for m in md_makers)
    fan = next(j for j in jobs if j.name == "fan out hop nebs")
    assert fan.function_args[1].model == spec
    assert md.model == "chgnet"  # the caller's Makers are not changed
    assert maker.screen_maker.neb_maker.model == "chgnet"


def test_discovery_refuses_a_finetune_of_another_model(cu_fcc, emt_spec, tmp_path):
    maker = _discovery(emt_spec, tmp_path)
    settings = {**maker.finetune_maker.settings.as_plain_dict(), "base_model": "sevennet"}
    other = dataclasses.replace(maker.finetune_maker, settings=settings)
    with pytest.raises(IonflowInputError, match="base_model"):
        dataclasses.replace(maker, finetune_maker=other).make(cu_fcc)
    with pytest.raises(IonflowInputError, match="labeller"):
        DiscoveryFlow(labeller=FineTuneMaker())


def test_update_maker_kwargs_reaches_the_makers_built_at_run_time(cu_fcc, emt_spec, tmp_path):
    flow = _discovery(emt_spec, tmp_path).make(cu_fcc)
    flow.update_maker_kwargs(
        {"_set": {"settings->epochs": 9}}, dict_mod=True, class_filter=FineTuneMaker
    )
    pipeline = flow.jobs[1]
    assert pipeline.function_args[2].finetune_maker.settings.epochs == 9
