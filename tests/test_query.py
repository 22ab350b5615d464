"""ionflow.query: DataFrames of screens, hops, conductivity and models, with filters."""

from __future__ import annotations

import pytest
from jobflow import JobStore
from maggma.stores import MemoryStore

from ionflow import query
from ionflow.errors import IonflowInputError
from ionflow.store import embedded_store


def _perc(d1, d2, d3):
    return {"1D": d1, "2D": d2, "3D": d3}


def _hop(hop_id, forward, reverse, converged=True):
    return {
        "hop_id": hop_id, "initial": "Li1 (4a)", "final": "Li1 (4a)", "length_A": 3.0,
        "close_approach": False, "barrier_forward_eV": forward, "barrier_reverse_eV": reverse,
        "converged": converged, "failure_reason": None if converged else "not converged",
        "force_calls": 100, "wall_time_s": 10.0,
    }  # fmt: skip


def _screen(formula, model, perc, hops, when, fingerprint=None, species="Li"):
    barriers = [
        max(h["barrier_forward_eV"], h["barrier_reverse_eV"]) for h in hops if h["converged"]
    ]
    out = {
        "formula": formula, "reduced_formula": formula, "species": species, "model": model,
        "n_hops": len(hops), "n_converged": len(barriers), "n_failed": len(hops) - len(barriers),
        "hops": hops, "lowest_barrier_eV": min(barriers) if barriers else None,
        "lowest_barrier_hop": hops[0]["hop_id"], "percolation_barriers_eV": perc,
    }  # fmt: skip
    meta = {"ionflow_fingerprint": fingerprint} if fingerprint else {}
    return {"output": out, "completed_at": when, "metadata": meta, "name": "collect hop screen"}


def _docs():
    docs = [
        _screen("LiFePO4", "chgnet", _perc(0.27, None, None), [_hop("a", 0.27, 0.27)],
                "2026-01-01"),
        _screen(
            "Li10GeP2S12", "chgnet", _perc(0.2, 0.25, 0.3),
            [_hop("b1", 0.2, 0.2), _hop("b2", 0.3, 0.25), _hop("b3", 0.9, 0.8, False)],
            "2026-01-02",
        ),
        _screen("Li2O", "sevennet", _perc(0.45, 0.45, 0.45), [_hop("c", 0.45, 0.45)],
                "2026-01-04", fingerprint="fpC"),
        # the same screen submitted earlier: the newer one wins
        _screen("Li2O", "sevennet", _perc(0.6, 0.6, 0.6), [_hop("c", 0.6, 0.6)],
                "2026-01-03", fingerprint="fpC"),
        _screen("Na3PS4", "chgnet", _perc(0.7, 0.7, 0.7), [_hop("d", 0.7, 0.7)], "2026-01-05",
                species="Na"),
        # documents that are not screens
        {"output": {"formula": "Li2O", "model": "chgnet", "hop_id": "c", "converged": True,
                    "barrier_forward_eV": 0.4, "barrier_reverse_eV": 0.4}, "name": "mlip neb"},
        {"output": None, "name": "fan out hop nebs"},
    ]  # fmt: skip
    for flow, formula, model, ea, sigma in (
        ("flowX", "Li10GeP2S12", "chgnet", 0.22, 12.0),
        ("flowY", "Li2O", "sevennet", 0.5, 0.01),
    ):
        for seed in (0, 1):
            docs.append(
                {"output": {"formula": formula, "model": model, "temperature_K": 800.0,
                            "seed": seed}, "hosts": [flow], "name": "mlip md"}
            )  # fmt: skip
        docs.append(
            {
                "output": {
                    "formula": formula, "mobile_species": "Li", "temperatures_K": [600, 800],
                    "D_cm2_s": [1e-6, 1e-5], "D_err_cm2_s": [1e-7, 1e-6], "fitted": [True, True],
                    "Ea_eV": ea, "Ea_err_eV": 0.02, "D0_cm2_s": 1e-3, "T_extrapolate_K": 300.0,
                    "D_extrapolated_cm2_s": 1e-8, "D_extrapolated_interval_cm2_s": [5e-9, 2e-8],
                    "sigma_mS_cm": sigma, "sigma_interval_mS_cm": [sigma / 2, sigma * 2],
                    "confidence": 0.95, "warnings": ["few hops at 600 K"],
                },
                "hosts": [flow], "name": "arrhenius", "completed_at": "2026-01-06",
            }
        )  # fmt: skip
    docs.append(
        {
            "output": {
                "backend": "chgnet", "model_spec": "chgnet:/m/ft.pth.tar",
                "checkpoint": "/m/ft.pth.tar", "base_model": "chgnet", "best_epoch": 7,
                "epochs_run": 12, "stopped_early": True, "dataset_version": "abc",
                "wall_time_s": 30.0,
                "metrics": {"test": {"energy_mae": 0.01, "force_mae": 0.05},
                            "val": {"energy_mae": 0.02}},
            },
            "name": "fine-tune", "completed_at": "2026-01-07",
        }
    )  # fmt: skip
    for i, doc in enumerate(docs):
        doc.update(uuid=f"u{i:03d}", index=1)
        doc.setdefault("completed_at", "2026-01-01")
        doc.setdefault("metadata", {})
        doc.setdefault("hosts", [])
    return docs


@pytest.fixture(params=["memory", "embedded"])
def store(request, tmp_path):
    if request.param == "memory":
        s = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    else:
        s = embedded_store(tmp_path / "store")
    s.connect()
    s.docs_store.update(_docs(), key=["uuid", "index"])
    return s


def test_screens_one_row_per_screen_newest_first(store):
    df = query.screens(store)
    assert list(df.columns) == query.SCREEN_COLUMNS
    assert list(df["reduced_formula"]) == ["Na3PS4", "Li2O", "Li10GeP2S12", "LiFePO4"]
    li2o = df[df.reduced_formula == "Li2O"].iloc[0]
    assert li2o["percolation_3D_eV"] == 0.45  # the newer of the two with one fingerprint
    assert li2o["fingerprint"] == "fpC"
    assert df[df.reduced_formula == "LiFePO4"]["percolation_3D_eV"].isna().all()


def test_screen_filters(store):
    assert list(query.screens(store, formula="Li4O2")["reduced_formula"]) == ["Li2O"]
    assert set(query.screens(store, elements=["Li", "S"])["reduced_formula"]) == {"Li10GeP2S12"}
    # 'S' must not match 'Si' or 'Sn'; 'P' is in three of them
    assert len(query.screens(store, elements=["P"])) == 3
    assert set(query.screens(store, model="sevennet")["reduced_formula"]) == {"Li2O"}
    low = query.screens(store, max_barrier=0.3)
    assert set(low["reduced_formula"]) == {"LiFePO4", "Li10GeP2S12"}
    three_d = query.screens(store, dimension=3)
    assert set(three_d["reduced_formula"]) == {"Li10GeP2S12", "Li2O", "Na3PS4"}
    assert set(query.screens(store, dimension=2, max_barrier=0.3)["reduced_formula"]) == {
        "Li10GeP2S12"
    }
    with pytest.raises(IonflowInputError, match="dimension"):
        query.screens(store, dimension=4)
    with pytest.raises(IonflowInputError, match="formula"):
        query.screens(store, formula="not a formula!")


def test_funnel_is_one_call_and_joins_conductivity(store):
    df = query.funnel(store)  # 3D percolation barrier <= 0.5 eV, lowest first
    assert list(df["reduced_formula"]) == ["Li10GeP2S12", "Li2O"]
    assert list(df["percolation_3D_eV"]) == [0.3, 0.45]
    assert list(df["Ea_eV"]) == [0.22, 0.5]
    assert df.iloc[0]["sigma_high_mS_cm"] == 24.0
    assert list(query.funnel(store, max_barrier=0.8, elements=["Na"])["reduced_formula"]) == [
        "Na3PS4"
    ]
    assert query.funnel(store, max_barrier=0.1).empty


def test_hops_one_row_per_hop(store):
    df = query.hops(store)
    assert list(df.columns) == query.HOP_COLUMNS
    assert len(df) == 1 + 3 + 1 + 1  # the older Li2O screen is left out
    b2 = df[df.hop_id == "b2"].iloc[0]
    assert b2["barrier_eV"] == 0.3
    assert b2["reduced_formula"] == "Li10GeP2S12"
    assert set(query.hops(store, converged=False)["hop_id"]) == {"b3"}
    assert set(query.hops(store, max_barrier=0.3)["hop_id"]) == {"a", "b1", "b2"}
    assert set(query.hops(store, formula="LiFePO4")["hop_id"]) == {"a"}


def test_conductivity_rows_with_model_from_the_md_runs(store):
    df = query.conductivity(store)
    assert list(df.columns) == query.CONDUCTIVITY_COLUMNS
    assert dict(zip(df.formula, df.model)) == {"Li10GeP2S12": "chgnet", "Li2O": "sevennet"}
    row = df[df.formula == "Li2O"].iloc[0]
    assert (row.sigma_low_mS_cm, row.sigma_mS_cm, row.sigma_high_mS_cm) == (0.005, 0.01, 0.02)
    assert row.n_warnings == 1
    assert list(query.conductivity(store, model="chgnet")["formula"]) == ["Li10GeP2S12"]
    assert list(query.conductivity(store, max_Ea=0.3)["formula"]) == ["Li10GeP2S12"]
    assert list(query.conductivity(store, min_sigma=1.0)["formula"]) == ["Li10GeP2S12"]
    assert list(query.conductivity(store, elements=["O"])["formula"]) == ["Li2O"]


def test_models_with_metrics(store):
    df = query.models(store)
    assert len(df) == 1
    row = df.iloc[0]
    assert row["model_spec"] == "chgnet:/m/ft.pth.tar"
    assert row["test_force_mae"] == 0.05
    assert row["val_energy_mae"] == 0.02
    assert query.models(store, base_model="mace").empty


def test_empty_store_gives_empty_frames_with_columns(tmp_path):
    s = embedded_store(tmp_path / "empty")
    assert list(query.screens(s).columns) == query.SCREEN_COLUMNS
    assert query.hops(s).empty
    assert query.conductivity(s).empty
    assert list(query.models(s).columns) == query.MODEL_COLUMNS
    assert query.funnel(s).empty


def test_a_real_screen_through_the_default_store(store_dir, cu_fcc, emt_spec):
    from jobflow import run_locally

    from ionflow.flows import ScreenHopsFlow
    from ionflow.jobs import HopEnumerationMaker, MLIPNebMaker
    from ionflow.store import get_store

    flow = ScreenHopsFlow(
        enumeration_maker=HopEnumerationMaker(species="Cu", supercell_min_length=7.0),
        neb_maker=MLIPNebMaker(model=emt_spec, progress=False),
    ).make(cu_fcc)
    run_locally(flow, store=get_store(), log=False, ensure_success=True)
    screens = query.screens()  # the default store: IONFLOW_STORE_DIR
    assert len(screens) == 1
    row = screens.iloc[0]
    assert row["reduced_formula"] == "Cu"
    assert row["percolation_3D_eV"] == pytest.approx(row["lowest_barrier_eV"], abs=0.05)
    hops = query.hops()
    assert list(hops["hop_id"]) == ["Cu1(4a)->Cu1(4a)"]
    assert 0.4 < hops.iloc[0]["barrier_eV"] < 1.2
    assert len(query.funnel(max_barrier=1.2)) == 1
