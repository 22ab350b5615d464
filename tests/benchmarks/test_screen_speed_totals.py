"""How benchmarks/screen_speed.py totals a per-hop procedure that ran on a subset (no model)."""

from __future__ import annotations

import pytest


def _units():
    """Three hops A->B, B->A (one band) and A->A; today ran A->B and A->A only."""
    return {
        "new/band/B1": {"members": [["A->B", False], ["B->A", True]], "force_calls": 90},
        "new/band/B2": {"members": [["A->A", False]], "force_calls": 40},
        "today/hop/A->B": {"force_calls": 180, "wall_s": 100.0, "atoms": 10},
        "today/hop/A->A": {"force_calls": 60, "wall_s": 20.0, "atoms": 10},
    }


def test_a_missing_hop_costs_what_its_band_partner_cost(load_benchmark):
    bench = load_benchmark("screen_speed")
    totals = bench.summarize({"units": _units()}, n_hops=3)
    x = totals["today"]["extrapolated"]
    assert x["force_calls"] == pytest.approx(180 + 60 + 180)  # B->A at A->B's cost, not the mean
    assert x["wall_s"] == pytest.approx(100 + 20 + 100)
    assert x["from_hops"] == 2
    assert x["from_partner_hop"] == 1
    assert x["endpoint_relaxations"] == 6


def test_without_a_shared_run_missing_hops_cost_the_mean(load_benchmark):
    bench = load_benchmark("screen_speed")
    units = {k: u for k, u in _units().items() if k.startswith("today/")}
    x = bench.summarize({"units": units}, n_hops=3)["today"]["extrapolated"]
    assert x["force_calls"] == pytest.approx(180 + 60 + 120)
    assert x["from_partner_hop"] == 0
