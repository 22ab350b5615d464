from __future__ import annotations

import logging

import pytest

from ionflow.core.hops import build_vacancy_endpoints, enumerate_hops
from ionflow.core.neb import NebSettings, run_neb
from ionflow.core.neb import progress as progress_mod
from ionflow.core.neb.progress import BandProgress
from ionflow.mlip import get_evaluator


@pytest.fixture
def cu_hop(cu_fcc):
    hop = enumerate_hops(cu_fcc, "Cu", symprec=0.1)[0]
    ends = build_vacancy_endpoints(cu_fcc, hop, min_length=7.0)
    a, b = ends.to_ase()
    return a, b, ends.moving_index


def test_log_lines_without_a_terminal(cu_hop, emt_spec, caplog, monkeypatch):
    """In a batch job (stderr not a terminal) relaxation and band progress go to the log."""
    monkeypatch.setattr(progress_mod, "stderr_is_tty", lambda: False)
    monkeypatch.setattr(progress_mod, "LOG_EVERY", 2)
    a, b, moving = cu_hop
    with caplog.at_level(logging.INFO, logger="ionflow.core.neb"):
        res = run_neb(
            a, b, get_evaluator(emt_spec), NebSettings(), moving_index=moving, progress=True
        )
    assert res.converged
    text = caplog.text
    for line in (
        "Relaxing initial state (31 atoms",
        "Initial state relaxed after",
        "Relaxing final state",
        "Final state relaxed after",
        "NEB band: 7 images (5 moving), 31 atoms, optimizer ode",
        "NEB step 1: residual",
        "NEB step 3: residual",
        f"NEB converged after {res.n_steps} steps",
    ):
        assert line in text, line
    steps = [r.getMessage() for r in caplog.records if r.getMessage().startswith("NEB step")]
    assert len(steps) < res.n_steps  # throttled, not one line per step
    assert all("barrier estimate" in s and "band force calls" in s for s in steps)
    assert all(r.levelno == logging.INFO for r in caplog.records if "NEB step" in r.getMessage())


def test_unconverged_band_says_why(cu_hop, emt_spec, caplog):
    a, b, moving = cu_hop
    with caplog.at_level(logging.INFO, logger="ionflow.core.neb"):
        run_neb(a, b, get_evaluator(emt_spec), NebSettings(max_steps=2), moving_index=moving)
    assert "NEB stopped (not converged: max force" in caplog.text


def test_terminal_counter_has_no_step_limit_total(monkeypatch, caplog):
    """On a terminal: a counter without a total (no ETA to max_steps), no step log lines."""
    monkeypatch.setattr(progress_mod, "stderr_is_tty", lambda: True)
    seen = []

    class FakeNEB:
        def __init__(self) -> None:
            self.nimages = 5
            self.images = [[0] * 4]
            self.energies = [0.0, 0.2, 0.5, 0.2, 0.1]
            self.n_evaluations = 6

    rep = BandProgress(True, fmax=0.05)
    assert rep.bar is not None
    assert rep.bar.total is None
    with caplog.at_level(logging.INFO, logger="ionflow.core.neb"):
        rep.update(1, 0.7, FakeNEB())
        assert "residual 0.700 / fmax 0.05 eV/Å, barrier 0.500 eV" in rep.bar.postfix
        rep.finish(FakeNEB(), 1, 0.7, "not converged")
    assert "NEB step" not in caplog.text
    assert "NEB stopped (not converged) after 1 steps" in caplog.text

    cb = BandProgress(lambda step, res: seen.append((step, res)), fmax=0.05)
    assert cb.bar is None
    cb.update(4, 0.3, FakeNEB())
    assert seen == [(4, 0.3)]
