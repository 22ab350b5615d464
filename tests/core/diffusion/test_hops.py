"""Hop counting and the hop criterion, alone and inside diffusion_coefficient."""

from __future__ import annotations

import numpy as np
import pytest

from ionflow.core.diffusion import HopCheck, count_hops, diffusion_coefficient, enough_hops
from ionflow.core.diffusion.hops import _hop_verdict
from ionflow.core.diffusion.synthetic import hopping_walk
from ionflow.core.errors import IonflowInputError


def test_count_hops_on_scripted_path():
    pos = np.zeros((40, 2, 3))
    # ion 0: jumps 2.5 Å along x at frames 10, 20 and back at 30; small vibration
    pos[10:, 0, 0] += 2.5
    pos[20:, 0, 1] += 2.5
    pos[30:, 0, 1] -= 2.5
    pos[:, :, 2] += 0.3 * np.sin(np.arange(40))[:, None]  # vibration below the threshold
    assert count_hops(pos, 1.5).tolist() == [3, 0]
    # a half-way excursion (1.0 Å) is not a hop
    pos[5:8, 1, 0] = 1.0
    assert count_hops(pos, 1.5).tolist() == [3, 0]
    # chunking does not change the count
    assert count_hops(pos, 1.5, chunk_frames=3).tolist() == [3, 0]
    # smoothing keeps real jumps
    assert count_hops(pos, 1.5, smooth_frames=3).tolist() == [3, 0]


def test_count_hops_matches_hopping_walk_rate():
    rng = np.random.default_rng(1)
    d = 1e-5  # 0.1 Å²/ps, a = 2.5 Å -> rate 6 D / a² = 0.096 /ps
    pos = hopping_walk(5000, 20, d, 100.0, rng=rng, hop_length_A=2.5, vibration_A=0.1)
    expected = 0.096 * 500 * 20
    assert count_hops(pos, 1.5).sum() == pytest.approx(expected, rel=0.1)


def test_enough_hops_verdicts():
    rng = np.random.default_rng(3)
    rare = hopping_walk(500, 4, 1e-7, 100.0, rng=rng)
    verdict = enough_hops(rare)
    assert not verdict
    assert "hop events" in verdict.reason
    assert "not trustworthy" in verdict.reason
    busy = hopping_walk(2000, 16, 2e-5, 100.0, rng=rng)
    ok = enough_hops(busy)
    assert ok
    assert ok.reason.startswith("ok")
    assert ok.n_hops > 100
    res = diffusion_coefficient(busy, 100.0, n_segments=2)
    assert res.enough_hops is True
    assert res.hop_count == ok.n_hops
    res_rare = diffusion_coefficient(rare, 100.0)
    assert res_rare.enough_hops is False
    assert "need" in res_rare.hops_reason


def test_hop_check_inside_the_analysis_uses_its_thresholds():
    rng = np.random.default_rng(5)
    pos = hopping_walk(1500, 8, 1e-5, 100.0, rng=rng, hop_length_A=2.5)
    strict = diffusion_coefficient(pos, 100.0, min_hops=10_000)
    lax = diffusion_coefficient(pos, 100.0, min_hops=1, min_msd_hop_ratio=0.0)
    assert strict.enough_hops is False
    assert "need >= 10000" in strict.hops_reason
    assert lax.enough_hops is True
    assert strict.hop_count == lax.hop_count == int(count_hops(pos, 1.5).sum())
    unchecked = diffusion_coefficient(pos, 100.0, check_hops=False)
    assert unchecked.hop_count is None
    assert unchecked.enough_hops is None


def test_hop_verdict_wording():
    ok = _hop_verdict(30, 10, 10.0, hop_length_A=2.0, min_hops=20, min_msd_hop_ratio=2.0)
    assert isinstance(ok, HopCheck)
    assert ok
    assert ok.hops_per_ion == 3.0
    assert ok.msd_hop_ratio == 2.5
    bad = _hop_verdict(3, 10, 1.0, hop_length_A=2.0, min_hops=20, min_msd_hop_ratio=2.0)
    assert not bad
    assert bad.reason.startswith("only 3 hop events detected (need >= 20); MSD")
    assert bad.reason.endswith("D is not trustworthy, run longer or hotter")


def test_count_hops_errors():
    pos = np.zeros((10, 2, 3))
    with pytest.raises(IonflowInputError, match="threshold_A"):
        count_hops(pos, 0.0)
    with pytest.raises(IonflowInputError, match="smooth_frames"):
        count_hops(pos, 1.5, smooth_frames=10)
