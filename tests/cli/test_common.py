from __future__ import annotations

import io
import json
import logging
import warnings

import numpy as np

from ionflow.cli.common import fmt, logging_to_stderr, print_json, warnings_once


def test_print_json_is_strict_json():
    buf = io.StringIO()
    print_json({"D": np.float32(1.5), "err": float("nan"), "T": np.array([600, 800])}, buf)
    assert json.loads(buf.getvalue()) == {"D": 1.5, "err": None, "T": [600, 800]}


def test_fmt():
    assert fmt(0.17925119400024414) == "0.179"
    assert fmt(None) == "-"
    assert fmt(1.23e-7, ".2e") == "1.23e-07"


def test_failed_jobflow_job_is_shown_as_an_error(capsys):
    """run_locally logs a failing job at INFO: the CLI shows it, the traceback with -v only."""
    trace = "Traceback (most recent call last):\n  File 'x.py', line 1\nValueError: boom"
    with logging_to_stderr():
        logging.getLogger("jobflow.managers.local").info(f"mlip md failed with exception:\n{trace}")
        logging.getLogger("jobflow.managers.local").info("Started executing jobs locally")
    err = capsys.readouterr().err
    assert "ERROR" in err
    assert "job mlip md failed: ValueError: boom" in err
    assert "Traceback" not in err
    assert "Started executing" not in err
    with logging_to_stderr(verbose=True):
        logging.getLogger("jobflow.managers.local").info(f"mlip md failed with exception:\n{trace}")
    assert "Traceback" in capsys.readouterr().err


def test_logging_set_up_is_restored():
    root = logging.getLogger()
    handlers, level = list(root.handlers), logging.getLogger("ionflow").level
    with logging_to_stderr(quiet=True):
        assert logging.getLogger("ionflow").level == logging.WARNING
    assert root.handlers == handlers
    assert logging.getLogger("ionflow").level == level


def test_warnings_once_survives_a_filter_reset(capsys):
    """A library that resets the filters cannot bring back the ignored or a shown warning."""
    with logging_to_stderr(), warnings_once():
        for _ in range(3):
            warnings.warn("cd is deprecated, and will be removed", FutureWarning, stacklevel=1)
            warnings.warn("a real problem", UserWarning, stacklevel=1)
            warnings.resetwarnings()
            warnings.simplefilter("always")
    err = capsys.readouterr().err
    assert "cd is deprecated" not in err
    assert err.count("a real problem") == 1
