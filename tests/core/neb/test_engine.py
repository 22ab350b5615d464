from __future__ import annotations

import numpy as np
import pytest
from ase.calculators.emt import EMT
from ase.mep import NEB
from ase.optimize import FIRE

from ionflow.core.errors import IonflowInputError
from ionflow.core.hops import build_vacancy_endpoints, enumerate_hops, interpolate_path
from ionflow.core.neb.checkpoint import BandCheckpoint
from ionflow.core.neb.engine import (
    NebSettings,
    detect_moving_index,
    relax_fixed_cell,
    run_neb,
    run_neb_band,
    unwrap_final,
)
from ionflow.mlip import get_evaluator


@pytest.fixture
def cu_hop(cu_fcc):
    hop = enumerate_hops(cu_fcc, "Cu", symprec=0.1)[0]
    ends = build_vacancy_endpoints(cu_fcc, hop, min_length=7.0)
    a, b = ends.to_ase()
    return a, b, ends.moving_index


def test_cu_vacancy_hop_converges_symmetric(cu_hop, emt_spec):
    a, b, moving = cu_hop
    ev = get_evaluator(emt_spec)
    res = run_neb(a, b, ev, NebSettings(), moving_index=moving, unwrap=False)
    assert res.converged, res.failure_reason
    assert res.failure_reason is None
    assert res.max_force <= 0.05
    # the hop is symmetric: forward and reverse barriers agree; the TS is the middle image
    assert res.barrier_forward == pytest.approx(res.barrier_reverse, abs=5e-3)
    assert res.ts_index == len(res.energies) // 2
    assert 0.4 < res.barrier_forward < 1.2  # EMT Cu vacancy migration (~0.7-0.8 eV)
    assert res.force_calls == res.endpoint_force_calls + res.band_force_calls
    assert res.positions.shape == (len(res.energies), len(a), 3)
    summary = res.summary()
    assert summary["n_images"] == 7
    assert "positions" not in summary


def test_barrier_matches_plain_ase_neb(cu_hop, emt_spec):
    """Same band, same physics: the batched/dynamic machinery must not change the barrier."""
    a, b, _ = cu_hop
    ev = get_evaluator(emt_spec)
    ends = []
    for x in (a, b):
        r = relax_fixed_cell(x, ev, fmax=0.01, max_steps=300)
        ends.append(r)
    images = interpolate_path(ends[0].atoms, ends[1].atoms, n_images=7)
    ours = run_neb_band(images, ev, NebSettings(fmax=0.02), endpoint_results=tuple(ends))
    ref_images = [im.copy() for im in images]
    for im in ref_images:
        im.calc = EMT()
    neb = NEB(ref_images, climb=True, method="improvedtangent")
    FIRE(neb, logfile=None).run(fmax=0.02, steps=1000)
    e = np.array([im.get_potential_energy() for im in ref_images])
    assert ours.converged
    assert ours.barrier_forward == pytest.approx(e.max() - e[0], abs=0.01)


def test_not_converged_gives_reason(cu_hop, emt_spec):
    a, b, moving = cu_hop
    res = run_neb(
        a, b, get_evaluator(emt_spec), NebSettings(max_steps=2), moving_index=moving, unwrap=False
    )
    assert not res.converged
    assert "not converged" in res.failure_reason
    assert "after 2 steps" in res.failure_reason


def test_collapsed_endpoint_is_reported(cu_hop, emt_spec):
    """A moving ion placed far from any minimum slides away during relaxation: reported."""
    a, b, moving = cu_hop
    a = a.copy()
    # put the moving ion 30 % of the way to the vacancy: relaxation slides it back to its site
    a.positions[moving] = 0.7 * a.positions[moving] + 0.3 * b.positions[moving]
    res = run_neb(
        a, b, get_evaluator(emt_spec), NebSettings(max_ion_shift=0.5), moving_index=moving
    )
    assert not res.converged
    assert "moved the mobile ion" in res.failure_reason


def test_input_errors(cu_hop, emt_spec):
    a, b, _ = cu_hop
    ev = get_evaluator(emt_spec)
    with pytest.raises(IonflowInputError, match="atom count"):
        run_neb(a, b[:-1], ev)
    with pytest.raises(IonflowInputError, match="fmax"):
        NebSettings(fmax=0)
    with pytest.raises(IonflowInputError, match="optimizer"):
        NebSettings(optimizer="sgd")
    with pytest.raises(IonflowInputError, match="at least 3"):
        run_neb_band([a, b], ev)


def test_unwrap_and_moving_index(cu_hop):
    a, b, moving = cu_hop
    wrapped = b.copy()
    wrapped.wrap()
    un = unwrap_final(a, wrapped)
    d = np.linalg.norm(un.positions - a.positions, axis=1)
    assert d.max() == pytest.approx(np.linalg.norm(b.positions[moving] - a.positions[moving]))
    assert detect_moving_index(a, wrapped) == moving


@pytest.mark.parametrize("optimizer", ["fire", "ode"])
def test_optimizers_agree(cu_hop, emt_spec, optimizer):
    a, b, moving = cu_hop
    res = run_neb(
        a,
        b,
        get_evaluator(emt_spec),
        NebSettings(optimizer=optimizer),
        moving_index=moving,
        unwrap=False,
    )
    assert res.converged, res.failure_reason
    assert 0.4 < res.barrier_forward < 1.2


def test_checkpoint_continues_an_interrupted_band(cu_hop, emt_spec, tmp_path):
    """A band stopped at its step limit continues from its checkpoint to the same barrier."""
    a, b, moving = cu_hop
    ev = get_evaluator(emt_spec)
    full = run_neb(a, b, ev, NebSettings(), moving_index=moving, unwrap=False)
    assert full.converged
    assert full.n_steps > 4

    ckpt = tmp_path / "hop.npz"
    first = run_neb(
        a,
        b,
        ev,
        NebSettings(max_steps=3),
        moving_index=moving,
        unwrap=False,
        checkpoint=ckpt,
        checkpoint_every=2,
    )
    assert not first.converged
    assert ckpt.is_file()
    saved = BandCheckpoint.load(ckpt)
    assert saved.n_steps == 3
    assert saved.residual == pytest.approx(first.max_force)
    assert saved.barrier_estimate == pytest.approx(first.barrier_forward)
    calls_before = ev.n_evaluations
    second = run_neb(a, b, ev, NebSettings(), moving_index=moving, unwrap=False, checkpoint=ckpt)
    assert second.converged, second.failure_reason
    # endpoints were not relaxed again: every new call went to the band
    assert second.endpoint_force_calls == first.endpoint_force_calls
    assert ev.n_evaluations - calls_before == second.band_force_calls - first.band_force_calls
    # counters continue; the barrier is that of the uninterrupted run
    assert second.n_steps > first.n_steps == 3
    assert second.wall_time_s > first.wall_time_s
    assert second.barrier_forward == pytest.approx(full.barrier_forward, abs=0.01)


def test_checkpoint_of_another_calculation_is_refused_and_kept(cu_hop, emt_spec, tmp_path):
    a, b, moving = cu_hop
    ev = get_evaluator(emt_spec)
    ckpt = tmp_path / "hop.npz"
    run_neb(a, b, ev, NebSettings(max_steps=1), moving_index=moving, unwrap=False, checkpoint=ckpt)
    saved = ckpt.read_bytes()
    with pytest.raises(IonflowInputError, match="different calculation"):
        run_neb(
            a,
            b,
            ev,
            NebSettings(spring_constant=0.5),
            moving_index=moving,
            unwrap=False,
            checkpoint=ckpt,
        )
    assert ckpt.read_bytes() == saved
    ckpt.write_bytes(b"not a checkpoint")
    with pytest.raises(IonflowInputError, match="Cannot read NEB checkpoint"):
        run_neb(a, b, ev, NebSettings(), moving_index=moving, unwrap=False, checkpoint=ckpt)


def test_checkpoint_at_step_limit_reports_unconverged(cu_hop, emt_spec, tmp_path):
    """Continuing a band whose step budget is spent costs one evaluation and says so."""
    a, b, moving = cu_hop
    ev = get_evaluator(emt_spec)
    ckpt = tmp_path / "hop.npz"
    s = NebSettings(max_steps=2)
    run_neb(a, b, ev, s, moving_index=moving, unwrap=False, checkpoint=ckpt)
    again = run_neb(a, b, ev, s, moving_index=moving, unwrap=False, checkpoint=ckpt)
    assert not again.converged
    assert "after 2 steps" in again.failure_reason
