"""Makers in jobflow's own shape: ``job.maker`` is the Maker and ``update_maker_kwargs`` works."""

from __future__ import annotations

import json

import pytest
from jobflow import Flow, JobStore, run_locally
from maggma.stores import MemoryStore
from monty.json import MontyDecoder
from pymatgen.core import Lattice, Structure

from ionflow.core.errors import IonflowInputError
from ionflow.core.md import MDSettings
from ionflow.core.neb.engine import NebSettings
from ionflow.flows import ConductivityFlow, ScreenHopsFlow
from ionflow.jobs import (
    ArrheniusMaker,
    DiffusionAnalysisMaker,
    HopEnumerationMaker,
    MLIPMDMaker,
    MLIPNebMaker,
)


def _store():
    return JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})


def _neb_docs(store):
    return [d["output"] for d in store.query({"name": {"$regex": "^mlip neb"}})]


def _screen(emt_spec):
    return ScreenHopsFlow(
        enumeration_maker=HopEnumerationMaker(species="Cu", supercell_min_length=7.0),
        neb_maker=MLIPNebMaker(model=emt_spec, max_gap=10.0),
    )


def test_job_maker_is_the_maker(cu_fcc, emt_spec):
    maker = MLIPNebMaker(model=emt_spec)
    job = maker.make(cu_fcc, cu_fcc, hop={"hop_id": "A->B"})
    assert isinstance(job.maker, MLIPNebMaker)
    assert job.name == "mlip neb A->B"
    assert maker.name == "mlip neb"  # naming a job never renames the shared Maker
    enum = HopEnumerationMaker(species="Cu").make(cu_fcc)
    assert isinstance(enum.maker, HopEnumerationMaker)


def test_update_maker_kwargs_reaches_the_neb_jobs_of_a_screen(cu_fcc, emt_spec):
    """The NEB jobs a screen makes at run time use the updated fmax and image count."""
    store = _store()
    flow = _screen(emt_spec).make(cu_fcc)
    flow.update_maker_kwargs(
        {"_set": {"n_images": 5, "neb_settings->fmax": 0.2}},
        dict_mod=True,
        class_filter=MLIPNebMaker,
    )
    run_locally(flow, store=store, ensure_success=True, log=False)
    (neb,) = _neb_docs(store)
    assert neb["n_images"] == 5
    assert neb["settings"]["fmax"] == 0.2
    assert neb["max_force_eV_A"] <= 0.2

    # the default flow runs 7 images to 0.05 eV/Å: the update above changed what ran
    store = _store()
    flow = _screen(emt_spec).make(cu_fcc)
    run_locally(flow, store=store, ensure_success=True, log=False)
    (neb,) = _neb_docs(store)
    assert neb["n_images"] == 7
    assert neb["settings"]["fmax"] == 0.05


def test_update_by_name_filter_and_plain_keys(cu_fcc, emt_spec):
    store = _store()
    flow = _screen(emt_spec).make(cu_fcc)
    flow.update_maker_kwargs({"n_images": 4}, name_filter="mlip neb")
    flow.update_maker_kwargs({"n_images": 9}, name_filter="no such maker")
    flow.update_maker_kwargs({"symprec": 0.05}, class_filter=HopEnumerationMaker)
    assert flow.jobs[0].maker.symprec == 0.05
    run_locally(flow, store=store, ensure_success=True, log=False)
    (neb,) = _neb_docs(store)
    assert neb["n_images"] == 4


@pytest.fixture
def cual():
    s = Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.1), ["Cu"], [[0, 0, 0]])
    s.make_supercell([2, 2, 1])
    for i in (0, 5, 10, 15):
        s.replace(i, "Al")
    return s


def test_update_maker_kwargs_reaches_the_md_jobs(cual, emt_spec, tmp_path):
    md = MDSettings(timestep_fs=2.0, heating_ps=0.0, equilibration_ps=0.1, production_ps=0.4)
    flow = ConductivityFlow(
        temperatures=(2000.0, 3000.0),
        n_runs=1,
        supercell_min_length=None,
        mobile_species="Al",
        md_maker=MLIPMDMaker(model=emt_spec, md_settings=md, checkpoint_dir=str(tmp_path)),
    ).make(cual)
    flow.update_maker_kwargs(
        {"_set": {"md_settings->production_ps": 0.2, "md_settings->sample_interval_fs": 20.0}},
        dict_mod=True,
        class_filter=MLIPMDMaker,
    )
    store = _store()
    run_locally(flow, store=store, ensure_success=True, log=False)
    runs = [d["output"] for d in store.query({"name": {"$regex": "^mlip md"}})]
    assert len(runs) == 2
    for run in runs:
        assert run["settings"]["production_ps"] == 0.2
        assert run["settings"]["sample_interval_fs"] == 20.0
        assert run["settings"]["mobile_species"] == "Al"  # the flow's setting survives
        assert run["n_frames"] in (10, 11)  # 200 fs / 20 fs (+ the first frame)
    names = sorted(d["name"] for d in store.query({"name": {"$regex": "^mlip md"}}))
    assert names == ["mlip md 2000K seed0", "mlip md 3000K seed0"]


def test_makers_round_trip_through_json(emt_spec):
    """A Maker (and its typed settings) survives serialisation, as in a FireWorks spec."""
    for maker in (
        MLIPNebMaker(model=emt_spec, neb_settings=NebSettings(fmax=0.1, optimizer="fire")),
        MLIPMDMaker(model="chgnet", md_settings={"production_ps": 5.0}),
        HopEnumerationMaker(species="Na"),
        DiffusionAnalysisMaker(settings={"n_segments": 4, "dims": (2,)}),
        ArrheniusMaker(T_extrapolate=350.0),
    ):
        back = MontyDecoder().process_decoded(json.loads(json.dumps(maker.as_dict())))
        assert back == maker


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: MLIPNebMaker(neb_settings={"fmax": -1}), "fmax"),
        (lambda: MLIPNebMaker(neb_settings={"no_such_knob": 1}), "no_such_knob"),
        (lambda: MLIPNebMaker(n_images=2), "n_images"),
        (lambda: MLIPMDMaker(md_settings={"timestep_fs": 50}), "timestep_fs"),
        (lambda: HopEnumerationMaker(species="Xx"), "Xx"),
        (lambda: DiffusionAnalysisMaker(settings={"fit_window": (0.8, 0.2)}), "fit_window"),
        (lambda: ArrheniusMaker(T_extrapolate=0), "T_extrapolate"),
        (lambda: MLIPNebMaker(worker="tpu"), "worker"),
    ],
)
def test_a_bad_knob_fails_when_the_maker_is_built(build, match):
    with pytest.raises((IonflowInputError, TypeError, ValueError), match=match):
        build()


def test_worker_kinds(cu_fcc, emt_spec):
    flow = _screen(emt_spec).make(cu_fcc)
    enum, fan = flow.jobs
    assert enum.config.manager_config["_category"] == "cpu"
    assert fan.config.manager_config["_category"] == "cpu"
    neb = MLIPNebMaker(model=emt_spec).make(cu_fcc, cu_fcc)
    assert neb.config.manager_config["_category"] == "gpu"
    override = MLIPNebMaker(model=emt_spec, worker="cpu").make(cu_fcc, cu_fcc)
    assert override.config.manager_config["_category"] == "cpu"


def test_defaults_come_from_the_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("IONFLOW_CONFIG_FILE", str(tmp_path / "none.yaml"))
    monkeypatch.setenv("IONFLOW_DEFAULT_MODEL", "sevennet")
    monkeypatch.setenv("IONFLOW_NEB_FMAX", "0.03")
    monkeypatch.setenv("IONFLOW_SUPERCELL_MIN_LENGTH", "12")
    assert MLIPNebMaker().model == "sevennet"
    assert MLIPNebMaker().neb_settings.fmax == 0.03
    assert MLIPMDMaker().model == "sevennet"
    assert HopEnumerationMaker().supercell_min_length == 12.0
    flow = ScreenHopsFlow()
    assert isinstance(flow.make(Structure(Lattice.cubic(3), ["Li"], [[0, 0, 0]])), Flow)


def test_model_fields_are_checked_and_normalised_when_built(emt_spec, tmp_path):
    """One rule for every Maker with a model: a spec dict, a string path, a known worker."""
    import pytest

    from ionflow.errors import IonflowInputError
    from ionflow.jobs import MLIPMDMaker, MLIPNebMaker
    from ionflow.jobs.vacancy import VacancyRelaxMaker
    from ionflow.mlip import parse_model_spec

    for cls in (MLIPMDMaker, MLIPNebMaker, VacancyRelaxMaker):
        maker = cls(model=parse_model_spec(emt_spec), checkpoint_dir=tmp_path)
        assert isinstance(maker.model, dict)
        assert maker.checkpoint_dir == str(tmp_path)
        with pytest.raises(ValueError, match="worker"):
            cls(model=emt_spec, worker="tpu")
        with pytest.raises(IonflowInputError):
            cls(model="no-such-model")
