"""A band that passes below both endpoints is flagged: the hop is not elementary (issue 15)."""

from __future__ import annotations

import numpy as np
import pytest
from jobflow import Flow, job, run_locally

from ionflow.core.neb.result import INTERMEDIATE_MINIMUM_EV, NebResult
from ionflow.flows.screen import collect_hop_screen
from ionflow.jobs import HopEnumerationMaker
from ionflow.schemas.neb import NebDoc

# the Li3N 1b -> 1b self-hop at band step 71 (CHGNet, 36 atoms): the 1b vacancy decays
LI3N_SELF_HOP = [0.0, -0.553, -0.2074, 0.1219, -0.2073, -0.5521, 0.0]


def _result(energies):
    n = len(energies)
    return NebResult(
        energies=list(energies),
        positions=np.zeros((n, 1, 3)),
        numbers=np.array([3]),
        cell=np.eye(3),
        barrier_forward=max(energies) - energies[0],
        barrier_reverse=max(energies) - energies[-1],
        ts_index=int(np.argmax(energies)),
        converged=True,
        n_steps=1,
        force_calls=1,
        endpoint_force_calls=0,
        band_force_calls=1,
        max_force=0.0,
        wall_time_s=0.0,
    )


@pytest.mark.parametrize(
    ("energies", "depth"),
    [
        (LI3N_SELF_HOP, 0.553),
        ([0.0, 0.2, 0.5, 0.2, 0.1], 0.0),  # an ordinary asymmetric hop
        ([0.3, 0.1, 0.25, 0.0], 0.0),  # downhill into the lower endpoint: elementary
        ([0.3, 0.1, 0.25, 0.2], 0.1),  # a basin below both ends
        ([0.0, float("nan"), 0.0], 0.0),
    ],
)
def test_intermediate_minimum_is_the_depth_below_the_lower_endpoint(energies, depth):
    res = _result(energies)
    assert res.intermediate_minimum == pytest.approx(depth, abs=1e-9)
    assert res.summary()["intermediate_minimum_eV"] == pytest.approx(depth, abs=1e-9)


@job
def _band_doc(depth: float):
    return NebDoc(
        hop_id="Cu1(4a)->Cu1(4a)",
        model="m",
        barrier_forward_eV=0.0,
        barrier_reverse_eV=0.0,
        converged=True,
        n_images=7,
        relative_energies_eV=LI3N_SELF_HOP,
        intermediate_minimum_eV=depth,
    ).model_dump()


@pytest.mark.parametrize("depth", [0.553, INTERMEDIATE_MINIMUM_EV / 2])
def test_the_screen_warns_of_a_band_that_is_not_elementary(cu_fcc, depth):
    enum = HopEnumerationMaker(species="Cu", supercell_min_length=7.0).make(cu_fcc)
    band = _band_doc(depth)
    collect = collect_hop_screen(enum.output, [band.output], model="m")
    responses = run_locally(Flow([enum, band, collect]), log=False, ensure_success=True)
    warnings = responses[collect.uuid][1].output.warnings
    flagged = [w for w in warnings if "intermediate minimum" in w]
    if depth > INTERMEDIATE_MINIMUM_EV:
        (line,) = flagged
        assert "Cu1(4a)->Cu1(4a)" in line
        assert "0.553 eV" in line
    else:
        assert flagged == []
