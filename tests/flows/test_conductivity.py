from __future__ import annotations

import numpy as np
import pytest
from jobflow import JobStore, run_locally
from maggma.stores import MemoryStore
from pymatgen.core import Lattice, Structure

from ionflow.core.errors import IonflowInputError
from ionflow.flows import ConductivityFlow
from ionflow.jobs import ArrheniusMaker, DiffusionAnalysisMaker, MLIPMDMaker
from ionflow.schemas.arrays import unpack
from ionflow.store import output_as_dict


def _store():
    return JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})


@pytest.fixture
def cual_structure():
    """Expanded fcc Cu (16 atoms, a = 4.1 Å) with 4 Al: liquid-like on EMT above ~1500 K."""
    s = Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.1), ["Cu"], [[0, 0, 0]])
    s.make_supercell([2, 2, 1])
    for i in (0, 5, 10, 15):
        s.replace(i, "Al")
    return s


def _flow(emt_spec, tmp_path, temperatures=(1500.0, 2000.0, 2500.0), **md):
    settings = {
        "timestep_fs": 2.0,
        "heating_ps": 0.0,
        "equilibration_ps": 0.2,
        "production_ps": 1.0,
        "sample_interval_fs": 10.0,
        **md,
    }
    return ConductivityFlow(
        temperatures=temperatures,
        n_runs=2,
        supercell_min_length=None,
        mobile_species="Al",
        md_maker=MLIPMDMaker(model=emt_spec, md_settings=settings, checkpoint_dir=str(tmp_path)),
        diffusion_maker=DiffusionAnalysisMaker(settings={"n_segments": 2}),
        arrhenius_maker=ArrheniusMaker(plot_dir=str(tmp_path)),
    )


def test_conductivity_flow_end_to_end(cual_structure, emt_spec, tmp_path):
    store = _store()
    flow = _flow(emt_spec, tmp_path).make(cual_structure)
    assert len(flow.jobs) == 3 * 2 + 3 + 1
    md_job = flow.jobs[0]
    assert md_job.config.manager_config["_category"] == "gpu"
    assert flow.jobs[-1].config.manager_config["_category"] == "cpu"
    run_locally(flow, store=store, ensure_success=True, log=False)
    doc = output_as_dict(store, flow.output.uuid)
    assert doc["temperatures_K"] == [1500.0, 2000.0, 2500.0]
    assert all(d is not None and d > 0 for d in doc["D_cm2_s"])
    assert all(doc["fitted"])
    assert np.isfinite(doc["Ea_eV"])
    assert doc["Ea_err_eV"] > 0
    lo, hi = doc["sigma_interval_mS_cm"]
    assert lo < doc["sigma_mS_cm"] < hi
    assert doc["n_mobile"] == 4
    assert doc["charge"] == 3.0  # Al3+
    for kind in ("msd", "arrhenius"):
        assert (tmp_path / doc["plot_paths"][kind].split("/")[-1]).stat().st_size > 1000
    # MD trajectories live in the data store, compact, and come back unwrapped
    md_docs = list(store.query({"name": {"$regex": "^mlip md"}}))
    assert len(md_docs) == 6
    assert "blob_uuid" in md_docs[0]["output"]["trajectory"]
    md = output_as_dict(store, md_docs[0]["uuid"])
    pos = unpack(md["trajectory"]["positions_mobile"])
    assert pos.dtype == np.float32
    assert pos.shape == (md["n_frames"], 4, 3)
    # the species are stored, so frames can become labelled configurations without the input
    assert md["trajectory"]["numbers"] == [site.specie.Z for site in cual_structure]
    # completed runs leave no checkpoint behind (their result is in the store)
    assert not list(tmp_path.glob("md_*.npz"))


def test_failed_runs_are_reported_and_skipped(cual_structure, emt_spec, tmp_path):
    """Runs stopped by a guard are left out with their reason; the flow still finishes."""
    store = _store()
    # nearest neighbours are 2.9 Å apart: a 3 Å distance guard trips at step 0
    flow = _flow(emt_spec, tmp_path, temperatures=(1500.0, 2000.0), min_distance_A=3.0).make(
        cual_structure
    )
    run_locally(flow, store=store, ensure_success=True, log=False)
    doc = output_as_dict(store, flow.output.uuid)
    assert doc["D_cm2_s"] == [None, None]
    assert doc["Ea_eV"] is None
    assert any("no positive diffusivity" in w for w in doc["warnings"])
    diff = [
        output_as_dict(store, d["uuid"], load=False)
        for d in store.query({"name": {"$regex": "^diffusion analysis"}})
    ]
    reasons = [r for d in diff for r in d["failed_runs"]]
    assert len(reasons) == 4
    assert all("closer than 3" in r for r in reasons), reasons
    # a stopped run keeps its checkpoint: a rerun returns the same failure without recomputing
    assert len(list(tmp_path.glob("md_*.npz"))) == 4


def test_bad_flow_settings(emt_spec):
    with pytest.raises(IonflowInputError, match="at least one temperature"):
        ConductivityFlow(temperatures=())
    with pytest.raises(IonflowInputError, match="positive"):
        ConductivityFlow(temperatures=(-5.0,))
    with pytest.raises(IonflowInputError, match="n_runs"):
        ConductivityFlow(n_runs=0)
