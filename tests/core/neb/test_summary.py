from __future__ import annotations

import pytest

from ionflow.core.hops import enumerate_hops
from ionflow.core.neb.summary import format_barrier_table, summarize_hops


def test_summary_tolerates_failures(li2mno3):
    hops = enumerate_hops(li2mno3, "Li", symprec=0.1)
    assert len(hops) == 9
    results = {}
    for k, hop in enumerate(hops):
        if k == 0:
            results[hop.hop_id] = None  # the job died: no output at all
        elif k == 1:
            results[hop.hop_id] = {
                "barrier_forward_eV": None,
                "barrier_reverse_eV": None,
                "converged": False,
                "failure_reason": "not converged: max force 0.3",
            }
        else:
            results[hop.hop_id] = {
                "barrier_forward_eV": 0.3 + 0.1 * k,
                "barrier_reverse_eV": 0.35 + 0.1 * k,
                "converged": True,
                "failure_reason": None,
            }
    out = summarize_hops(li2mno3, hops, results)
    assert out["n_failed"] == 2
    assert out["n_converged"] == 7
    assert out["rows"][0]["failure_reason"] == "job produced no output"
    assert out["rows"][1]["failure_reason"].startswith("not converged")
    assert out["lowest_barrier_eV"] == pytest.approx(0.5)
    assert out["lowest_barrier_hop"] == hops[2].hop_id
    assert set(out["percolation_barriers_eV"]) == {"1D", "2D", "3D"}
    table = format_barrier_table(out["rows"])
    assert "FAILED" in table
    assert "Li1 (4h) -> Li1 (4h)" in table


def test_summary_percolation_uses_max_of_forward_and_reverse(li2o_primitive):
    hops = enumerate_hops(li2o_primitive, "Li", symprec=0.1)
    assert len(hops) == 1
    res = {
        hops[0].hop_id: {
            "barrier_forward_eV": 0.2,
            "barrier_reverse_eV": 0.25,
            "converged": True,
            "failure_reason": None,
        }
    }
    out = summarize_hops(li2o_primitive, hops, res)
    # the simple-cubic Li sublattice percolates in 3D through the one hop type
    assert out["percolation_barriers_eV"] == {"1D": 0.25, "2D": 0.25, "3D": 0.25}
