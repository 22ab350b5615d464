from __future__ import annotations

import subprocess
import sys
import textwrap

from ionflow.settings import get_settings
from ionflow.store import embedded_store, get_store, jobflow_store_configured


def test_settings_from_env_and_yaml(tmp_path, monkeypatch):
    cfg = tmp_path / "ionflow.yaml"
    cfg.write_text("DEFAULT_MODEL: sevennet\nNEB_FMAX: 0.03\n")
    monkeypatch.setenv("IONFLOW_CONFIG_FILE", str(cfg))
    monkeypatch.setenv("IONFLOW_NEB_FMAX", "0.02")
    s = get_settings()
    assert s.DEFAULT_MODEL == "sevennet"  # from the YAML file
    assert s.NEB_FMAX == 0.02  # the environment wins over the file


def test_embedded_store_is_default_and_persists(store_dir):
    store = get_store()
    assert type(store.docs_store).__name__ == "MontyStore"
    assert "data" in store.additional_stores
    # write in one process ...
    code = textwrap.dedent(
        """
        from jobflow import job, run_locally
        from ionflow.store import get_store

        @job(data=["big"])
        def make_doc():
            return {"formula": "Li2O", "big": list(range(1000))}

        j = make_doc()
        run_locally(j, store=get_store(), log=False)
        print(j.uuid)
        """
    )
    uuid = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    # ... read in another
    store = embedded_store(store_dir)
    store.connect()
    doc = store.query_one({"uuid": uuid})
    assert doc["output"]["formula"] == "Li2O"
    assert "blob_uuid" in doc["output"]["big"]  # the array went to the data store
    full = store.get_output(uuid, load=True)
    assert full["big"][-1] == 999


def test_jobflow_store_takes_over_when_configured(tmp_path, monkeypatch, store_dir):
    monkeypatch.setenv("IONFLOW_USE_JOBFLOW_STORE", "auto")
    monkeypatch.setenv("JOBFLOW_CONFIG_FILE", str(tmp_path / "jobflow.yaml"))
    monkeypatch.delenv("JOBFLOW_JOB_STORE", raising=False)
    assert not jobflow_store_configured()
    (tmp_path / "jobflow.yaml").write_text("JOB_STORE:\n  docs_store:\n    type: MemoryStore\n")
    assert jobflow_store_configured()


def test_a_store_written_by_v0_1_0_is_still_read(tmp_path, monkeypatch, capsys, test_data_dir):
    """Documents written before the Makers were reshaped are read by today's code."""
    import gzip
    import json
    import tarfile

    from ionflow.cli.main import main
    from ionflow.store import output_as_dict

    with tarfile.open(test_data_dir / "store_v0.1.0.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    monkeypatch.setenv("IONFLOW_STORE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("IONFLOW_USE_JOBFLOW_STORE", "never")
    monkeypatch.setenv("IONFLOW_CONFIG_FILE", str(tmp_path / "none.yaml"))
    assert main(["results", "--json"]) == 0
    now = json.loads(capsys.readouterr().out)
    with gzip.open(test_data_dir / "store_v0.1.0_results.json.gz", "rt") as fh:
        then = json.load(fh)
    assert now["n_results"] == then["n_results"] == 1
    (a,), (b,) = now["results"], then["results"]
    for key in ("formula", "species", "lowest_barrier_eV", "percolation_barriers_eV", "n_hops"):
        assert a[key] == b[key]
    assert a["hops"][0]["barrier_forward_eV"] == b["hops"][0]["barrier_forward_eV"]

    # every stored document loads (data-store blobs included), e.g. the Arrhenius fit
    store = embedded_store(tmp_path / "store")
    store.connect()
    (arr,) = list(store.query({"name": "arrhenius"}))
    doc = output_as_dict(store, arr["uuid"])
    assert doc["Ea_eV"] is not None
    assert set(doc["plots_png_b64"]) == {"msd", "arrhenius"}
    for d in store.query({}):
        assert output_as_dict(store, d["uuid"]) is not None
