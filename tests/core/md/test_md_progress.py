"""Progress of run_md: a tqdm bar on a terminal, periodic INFO log lines elsewhere."""

from __future__ import annotations

import io
import logging
import re
import sys

import pytest

from ionflow.core.md import run_md

PROGRESS_LOGGER = "ionflow.core.md.progress"
LINE = re.compile(
    r"MD 500 K: step (\d+)/(\d+) \(([\d.]+) %\), (\w+), T = \d+ K, E_pot = -?[\d.]+ eV, "
    r"[\d.]+ steps/s"
)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _progress_lines(caplog):
    return [r.getMessage() for r in caplog.records if r.name == PROGRESS_LOGGER]


def test_log_lines_when_stderr_is_not_a_terminal(cual, emt, quick, caplog, monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    caplog.set_level(logging.INFO, logger="ionflow.core.md")
    result = run_md(cual, emt, quick(), progress=True)
    assert result.completed

    lines = _progress_lines(caplog)
    steps = [int(LINE.match(line).group(1)) for line in lines]
    assert all(LINE.match(line).group(2) == "100" for line in lines)  # total: all phases
    assert steps == list(range(5, 101, 5))  # every 5 % of the 100 steps
    assert "equilibration" in lines[0]
    assert "production" in lines[-1]
    assert "step 100/100 (100.0 %)" in lines[-1]
    assert "ETA" in lines[0]
    assert sys.stderr.getvalue() == ""  # no bar written to a file


def test_log_lines_at_least_every_interval(cual, emt, quick, caplog, monkeypatch):
    from ionflow.core.md import progress

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    original = progress.MDProgress.__init__

    def every_step(self, *args, **kwargs):
        original(self, *args, **{**kwargs, "log_fraction": 1.0, "log_interval_s": 0.0})

    monkeypatch.setattr(progress.MDProgress, "__init__", every_step)
    caplog.set_level(logging.INFO, logger=PROGRESS_LOGGER)
    run_md(cual, emt, quick(production_ps=0.02), progress=True)
    assert len(_progress_lines(caplog)) == 30  # 20 + 10 steps, one line each


def test_a_terminal_gets_the_bar_and_no_log_lines(cual, emt, quick, caplog, monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    caplog.set_level(logging.INFO, logger="ionflow.core.md")
    run_md(cual, emt, quick(production_ps=0.02), progress=True)
    assert _progress_lines(caplog) == []
    assert "MD 500 K" in terminal.getvalue()


def test_progress_false_is_silent(cual, emt, quick, caplog, monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    caplog.set_level(logging.INFO, logger="ionflow.core.md")
    run_md(cual, emt, quick(production_ps=0.02), progress=False)
    assert _progress_lines(caplog) == []
    assert any("MD finished" in r.getMessage() for r in caplog.records)


def test_a_resumed_run_counts_from_its_checkpoint(cual, emt, quick, caplog, monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    settings = quick(checkpoint_interval_fs=60.0)
    path = tmp_path / "md.npz"

    def kill(step, atoms):
        if step == 40:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_md(cual, emt, settings, checkpoint_path=path, progress=False, step_callback=kill)
    caplog.set_level(logging.INFO, logger="ionflow.core.md")
    run_md(cual, emt, settings, checkpoint_path=path, progress=True)
    steps = [int(LINE.match(line).group(1)) for line in _progress_lines(caplog)]
    assert steps == list(range(35, 101, 5))  # resumed at step 30 (the checkpoint)
