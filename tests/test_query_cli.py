"""``ionflow results [screens|hops|conductivity|models|funnel]`` (ionflow.cli.query)."""

from __future__ import annotations

import argparse
import csv
import io
import json

import pytest

from ionflow.cli import query as query_cli
from ionflow.errors import IonflowInputError
from ionflow.store import embedded_store
from test_query import _docs


def results(*argv: str) -> str:
    parser = argparse.ArgumentParser()
    query_cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["results", *argv])
    args.stdout = io.StringIO()
    assert args.run(args) == 0
    return args.stdout.getvalue()


@pytest.fixture
def filled(store_dir):
    store = embedded_store(store_dir)
    store.connect()
    store.docs_store.update(_docs(), key=["uuid", "index"])
    store.close()
    return store_dir


def test_screens_json_and_filters(filled):
    out = json.loads(results("screens", "--json"))
    assert out["kind"] == "screens"
    assert out["n_results"] == 4
    assert out["results"][0]["reduced_formula"] == "Na3PS4"
    assert out["results"][-1]["percolation_3D_eV"] is None  # NaN becomes null
    sevennet = json.loads(results("screens", "--model", "sevennet", "--json"))
    assert [r["reduced_formula"] for r in sevennet["results"]] == ["Li2O"]
    low = json.loads(results("screens", "--dimension", "2", "--max-barrier", "0.3", "--json"))
    assert [r["reduced_formula"] for r in low["results"]] == ["Li10GeP2S12"]


def test_funnel_csv(filled):
    rows = list(csv.DictReader(io.StringIO(results("funnel", "--csv"))))
    assert [r["reduced_formula"] for r in rows] == ["Li10GeP2S12", "Li2O"]
    assert float(rows[0]["sigma_mS_cm"]) == 12.0
    assert "percolation_3D_eV" in rows[0]


def test_text_tables(filled):
    hops = results("hops", "--failed")
    assert "b3" in hops
    assert "b1" not in hops
    assert "1 hops" in hops
    cond = results("conductivity", "--model", "chgnet")
    assert "Li10GeP2S12" in cond
    assert "Li2O " not in cond
    assert "chgnet:/m/ft.pth.tar" in results("models")
    assert "No funnel in the store match" in results("funnel", "--max-barrier", "0.1")
    assert "percolation_2D_eV" in results("funnel", "--dimension", "2", "--max-barrier", "0.3")


def test_without_kind_it_is_the_original_results_command(filled):
    out = json.loads(results("--formula", "Li2O", "--json"))
    assert out["n_results"] == 2  # every stored screen of Li2O, newest first, as before
    assert out["results"][0]["completed_at"] > out["results"][1]["completed_at"]
    assert "hops" in out["results"][0]
    with pytest.raises(IonflowInputError, match="--csv needs a KIND"):
        results("--csv")


def test_limit_and_conflicting_formats(filled):
    out = json.loads(results("hops", "--limit", "2", "--json"))
    assert out["n_results"] == 2
    with pytest.raises(IonflowInputError, match="one of --json and --csv"):
        results("screens", "--json", "--csv")


def test_registered_and_reads_a_v0_1_0_store(tmp_path, monkeypatch, capsys, test_data_dir):
    import tarfile

    from ionflow.cli.main import main

    with tarfile.open(test_data_dir / "store_v0.1.0.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    monkeypatch.setenv("IONFLOW_STORE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("IONFLOW_USE_JOBFLOW_STORE", "never")
    monkeypatch.setenv("IONFLOW_CONFIG_FILE", str(tmp_path / "none.yaml"))
    assert main(["results", "screens", "--json"]) == 0
    screens = json.loads(capsys.readouterr().out)
    assert screens["n_results"] == 1
    assert screens["results"][0]["n_hops"] >= 1
    assert main(["results", "conductivity", "--json"]) == 0
    cond = json.loads(capsys.readouterr().out)
    assert cond["n_results"] == 1
    assert cond["results"][0]["Ea_eV"] is not None
    assert main(["results", "--json"]) == 0  # the original command, unchanged
    assert json.loads(capsys.readouterr().out)["n_results"] == 1
