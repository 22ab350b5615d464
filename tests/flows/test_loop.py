"""FineTuneLoopFlow end to end (EMT teacher, CHGNet student, 4-atom Cu) and its stop rules."""

from __future__ import annotations

from typing import ClassVar

import pytest
from jobflow import JobStore, Response, run_locally
from maggma.stores import MemoryStore

from ionflow.core.errors import IonflowInputError
from ionflow.flows.loop import FineTuneLoopFlow
from ionflow.jobs.finetune import FineTuneMaker
from ionflow.jobs.label import TeacherLabelMaker
from ionflow.jobs.loop import HeldoutConfigsMaker
from ionflow.jobs.md import MLIPMDMaker
from ionflow.schemas.loop import HeldoutMetrics, LoopDoc, RungDoc
from ionflow.store import output_as_dict

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

TINY_MD = {
    "heating_ps": 0.0,
    "equilibration_ps": 0.005,
    "production_ps": 0.04,
    "sample_interval_fs": 2.0,
    "full_frame_interval_fs": 4.0,
    "thermostat": "langevin",
}


def _loop(emt_spec, tmp_path, **kwargs) -> FineTuneLoopFlow:
    return FineTuneLoopFlow(
        temperatures=kwargs.pop("temperatures", (300.0, 600.0)),
        model="chgnet",
        md_maker=MLIPMDMaker(name="loop md", md_settings=TINY_MD),
        n_snapshots=4,
        label_maker=TeacherLabelMaker(model=emt_spec),
        finetune_maker=FineTuneMaker(
            settings={"epochs": 1, "batch_size": 4, "progress": False, "patience": 0},
            model_dir=str(tmp_path / "models"),
        ),
        heldout_maker=HeldoutConfigsMaker(n_configs=4),
        mobile_species="Cu",
        plot_dir=str(tmp_path / "plots"),
        **kwargs,
    )


def _run(flow):
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    run_locally(flow, store=store, ensure_success=True, log=False, raise_immediately=True)
    return store


@pytest.mark.slow
def test_two_rungs_end_to_end(cu_fcc, emt_spec, tmp_path, store_dir):
    flow = _loop(emt_spec, tmp_path).make(cu_fcc)
    store = _run(flow)
    doc = output_as_dict(store, flow.output.uuid)

    assert doc["n_rungs"] == 2
    assert doc["stop_reason"] == "ladder end"
    assert doc["initial_model"] == "chgnet"
    r1, r2 = doc["rungs"]
    assert [r1["temperature_K"], r2["temperature_K"]] == [300.0, 600.0]
    # rung 1 ran the initial model; rung 2 ran the model rung 1 fine-tuned, and started its
    # fine-tune from it
    assert r1["model_before"] == "chgnet"
    assert r1["model_after"].startswith("chgnet:/")
    assert r2["model_before"] == r1["model_after"]
    assert r2["model_after"] != r1["model_after"]
    assert doc["final_model"] == r2["model_after"]
    md2 = output_as_dict(store, r2["job_uuids"]["md"], load=False)
    assert md2["model"].endswith(r1["model_after"].rsplit("/", 1)[-1])
    ft2 = output_as_dict(store, r2["job_uuids"]["finetune"], load=False)
    assert ft2["base_model"] == r1["model_after"]
    # the held-out set is labelled once and never trained on; the dataset grows
    assert r1["heldout_after"]["model"] == r2["heldout_before"]["model"]
    assert r1["heldout_after"]["forces_eV_A"] == pytest.approx(r2["heldout_before"]["forces_eV_A"])
    assert r1["heldout_before"]["n_configs"] == 4 == doc["n_heldout"]
    assert r1["n_selected"] == r2["n_selected"] == 4
    assert r1["n_train_configs"] == 4
    assert r2["n_train_configs"] == 8
    for r in (r1, r2):
        for side in ("heldout_before", "heldout_after"):
            assert r[side]["forces_eV_A"] > 0
            assert r[side]["energy_eV_atom"] >= 0
        assert r["md_n_frames"] > 0
        assert "D_enough_hops" in r  # the hop check travels with D (False: not trustworthy)
    # the per-rung metrics are documents of their own in the store
    metrics = store.query_one({"name": "loop rung metrics rung 2"}, load=True)
    assert metrics["output"]["model_before"] == r1["model_after"]
    # one table row per model (initial, after rung 1, after rung 2) and the plot
    assert [row["rung"] for row in doc["table"]] == [0, 1, 2]
    assert doc["table"][0]["forces_eV_A"] == r1["heldout_before"]["forces_eV_A"]
    assert doc["plot_path"].endswith(".png")
    assert (tmp_path / "plots" / "finetune_loop.png").stat().st_size > 1000
    raw = store.query_one({"name": {"$regex": "after rung 2$"}})
    assert "blob_uuid" in raw["output"]["plot_png_b64"]


def _rung_doc(rung: int, force_mae: float) -> RungDoc:
    def metrics(model, f):
        return HeldoutMetrics(model=model, energy_eV_atom=0.01, forces_eV_A=f, n_configs=4)

    before = "chgnet" if rung == 1 else f"chgnet:/m/rung{rung - 1}.pth.tar"
    after = f"chgnet:/m/rung{rung}.pth.tar"
    return RungDoc(
        rung=rung,
        temperature_K=300.0 * rung,
        model_before=before,
        model_after=after,
        heldout_before=metrics(before, 2 * force_mae),
        heldout_after=metrics(after, force_mae),
        D_cm2_s=1e-6 * rung,
    )


def _decide(loop: FineTuneLoopFlow, cu_fcc, rungs: list[RungDoc]):
    """Run the decision job's body directly (no MD): the next rung's Flow, or the LoopDoc."""
    state = {
        "cell": cu_fcc.as_dict(),
        "heldout_uuid": "h",
        "label_uuids": [f"l{r.rung}" for r in rungs],
        "rung_uuids": [f"r{r.rung}" for r in rungs],
        "previous_model": rungs[-1].model_before,
        "initial_model": "chgnet",
        "formula": "Cu",
        "loop_id": "0123456789",
        "labeller": "EMT",
    }
    maker = loop.rung_maker()
    return maker.make.original(maker, [r.model_dump() for r in rungs], state)


@pytest.mark.parametrize(
    ("kwargs", "n_rungs", "reason"),
    [
        ({"temperatures": (300.0, 600.0, 900.0), "max_iterations": 2}, 2, "iteration cap"),
        ({"stop_force_mae": 0.15}, 1, "error threshold"),
        ({}, 2, "ladder end"),
    ],
)
def test_the_ladder_stops(cu_fcc, emt_spec, tmp_path, kwargs, n_rungs, reason):
    loop = _loop(emt_spec, tmp_path, **kwargs)
    rungs = [_rung_doc(k, force_mae=0.1 / k) for k in range(1, n_rungs + 1)]
    # one rung earlier the ladder goes on
    if n_rungs > 1:
        assert isinstance(_decide(loop, cu_fcc, rungs[:-1]), Response)
    doc = _decide(loop, cu_fcc, rungs)
    assert isinstance(doc, LoopDoc)
    assert doc.stop_reason == reason
    assert doc.n_rungs == n_rungs
    assert doc.final_model == rungs[-1].model_after
    assert [row["forces_eV_A"] for row in doc.table] == pytest.approx(
        [0.2] + [0.1 / k for k in range(1, n_rungs + 1)]
    )
    assert (tmp_path / "plots" / "finetune_loop.png").is_file()


def test_the_next_rung_runs_the_new_model(cu_fcc, emt_spec, tmp_path):
    loop = _loop(emt_spec, tmp_path, temperatures=(300.0, 600.0, 900.0))
    response = _decide(loop, cu_fcc, [_rung_doc(1, 0.1)])
    flow = response.replace
    md = next(j for j in flow.jobs if j.name.startswith("loop md"))
    assert md.maker.model == "chgnet:/m/rung1.pth.tar"
    assert md.function_args[1] == 600.0
    ft = next(j for j in flow.jobs if j.name.startswith("fine-tune"))
    assert ft.maker.settings.base_model == "chgnet:/m/rung1.pth.tar"
    dataset = next(j for j in flow.jobs if j.name.startswith("training dataset"))
    # the dataset takes rung 1's labels (by reference) and this rung's
    assert {ref.uuid for ref in dataset.input_references} >= {"l1"}


def test_bad_settings_fail_when_the_flow_is_built(emt_spec, tmp_path):
    with pytest.raises(IonflowInputError, match="positive"):
        _loop(emt_spec, tmp_path, temperatures=(300.0, -5.0))
    with pytest.raises(IonflowInputError, match="max_iterations"):
        _loop(emt_spec, tmp_path, max_iterations=0)
    with pytest.raises(IonflowInputError, match="stop_force_mae"):
        _loop(emt_spec, tmp_path, stop_force_mae=0.0)
    with pytest.raises(IonflowInputError, match="backend"):
        FineTuneLoopFlow(finetune_maker=FineTuneMaker(backend="nope"))


def test_md_keeps_full_frames_and_the_mobile_species(emt_spec, tmp_path):
    loop = _loop(emt_spec, tmp_path)
    assert loop.md_maker.md_settings.store_full_frames
    assert loop.md_maker.md_settings.mobile_species == "Cu"
    rung = loop.rung_maker()
    assert rung.temperatures == (300.0, 600.0)
    assert rung.select_maker.n_snapshots == 4


def _emt(tag: str) -> str:
    import json

    return json.dumps(
        {"@module": "ase.calculators.emt", "@callable": "EMT", "kwargs": {"tag": tag}}
    )


class _RecordingBackend:
    """A registry backend that 'trains' instantly: the model it returns is EMT tagged by call."""

    name = "recording"
    calls: ClassVar[list[tuple[str, int]]] = []

    def train(self, train, val, test, settings, out_dir):
        from pathlib import Path

        from ionflow.core.training import FineTuneResult

        type(self).calls.append((settings.base_model, len(train) + len(val) + len(test)))
        spec = _emt(f"after-{len(type(self).calls)}")
        return FineTuneResult(
            backend=self.name,
            checkpoint=Path(out_dir) / "model",
            model_spec=spec,
            metrics={"test": {"forces_eV_A": 0.0}},
            history={},
            best_epoch=0,
            epochs_run=1,
            stopped_early=False,
        )


def test_any_registered_backend_and_committee_selection(cu_fcc, tmp_path, store_dir, monkeypatch):
    """The loop names a backend, never a model family: a registered stand-in drives two rungs."""
    from ionflow.core.training import backend as registry

    monkeypatch.setitem(registry._BACKENDS, "recording", _RecordingBackend)
    monkeypatch.setattr(_RecordingBackend, "calls", [])
    initial = _emt("initial")
    flow = FineTuneLoopFlow(
        temperatures=(300.0, 600.0),
        model=initial,
        md_maker=MLIPMDMaker(name="loop md", md_settings=TINY_MD),
        n_snapshots=3,
        disagreement=True,
        label_maker=TeacherLabelMaker(model=_emt("teacher")),
        finetune_maker=FineTuneMaker(backend="recording", model_dir=str(tmp_path / "m")),
        heldout_maker=HeldoutConfigsMaker(n_configs=3),
        mobile_species="Cu",
        plot_dir=str(tmp_path / "plots"),
    ).make(cu_fcc)
    store = _run(flow)
    doc = output_as_dict(store, flow.output.uuid)
    r1, r2 = doc["rungs"]
    assert doc["backend"] == "recording"
    # each fine-tune started from the model of its rung, on the growing dataset
    assert _RecordingBackend.calls == [(initial, 3), (_emt("after-1"), 6)]
    assert r1["model_after"] == r2["model_before"] == _emt("after-1")
    assert doc["final_model"] == _emt("after-2")
    # rung 1 has no previous model: furthest point; rung 2 asks the two-model committee
    assert r1["selection"] == "furthest-point"
    assert r2["selection"] == "disagreement"
    select2 = output_as_dict(store, r2["job_uuids"]["select"])
    assert all(s["selection"] == "disagreement" for s in select2["sources"])
    assert all("force_disagreement_eV_A" in s for s in select2["sources"])
    # EMT with a tag is EMT: same errors before and after
    assert r1["heldout_after"]["forces_eV_A"] == pytest.approx(r1["heldout_before"]["forces_eV_A"])


def test_continued_settings_move_the_base_and_a_foundation(tmp_path):
    from ionflow.core.training import FineTuneSettings
    from ionflow.core.training.mace_backend import MACEFineTuneSettings
    from ionflow.flows.loop import continued_settings

    chgnet = continued_settings(FineTuneSettings(epochs=3), "chgnet:/m/a.pth.tar")
    assert chgnet.base_model == "chgnet:/m/a.pth.tar"
    assert chgnet.epochs == 3
    mace = MACEFineTuneSettings(foundation="/f/found.model", replay="/f/replay.xyz")
    assert mace.mode == "multihead"
    moved = continued_settings(mace, "mace:/m/rung1.model")
    assert moved.foundation == "/m/rung1.model"
    assert moved.base_model == "mace:/m/rung1.model"
    assert moved.replay == "/f/replay.xyz"
    assert moved.mode == "multihead"
