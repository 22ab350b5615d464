"""What every command shares: help texts, exit codes, stdout/stderr, logging, model errors."""

from __future__ import annotations

import argparse
import logging
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from ionflow.cli.main import build_parser, main

LI2MNO3 = Path(__file__).parents[1] / "test_data" / "Li2MnO3_C2m.cif.gz"
COMMANDS = [
    "hops", "screen", "neb", "results", "conductivity", "diffusion", "label", "finetune", "submit",
    "discover", "loop", "order",
]  # fmt: skip


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def test_every_command_is_there_and_console_entry_point_is_main():
    from importlib.metadata import entry_points

    assert sorted(_subparsers(build_parser())) == sorted(COMMANDS)
    (ep,) = [e for e in entry_points(group="console_scripts") if e.name == "ionflow"]
    assert ep.value == "ionflow.cli.main:main"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_has_help_and_shows_its_default(command):
    sub = _subparsers(build_parser())[command]
    formatter = sub._get_formatter()
    for action in sub._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = "/".join(action.option_strings) or action.dest
        assert action.help, f"{command} {name}: no help text"
        if action.option_strings:
            text = formatter._get_help_string(action)
            assert "(default" in text, f"{command} {name}: help shows no default: {text!r}"
    assert "default" in sub.format_help()


@pytest.mark.parametrize(
    ("content", "species", "match"),
    [
        (None, "Li", "does not exist"),
        ("this is not a crystal", "Li", "cannot read|Cannot read|could not"),
        ("na", "Li", "no Li"),
    ],
)
def test_bad_input_exit_code_and_message(tmp_path, capsys, na_structure, content, species, match):
    path = tmp_path / "in.cif"
    if content == "na":
        na_structure.to(filename=str(path))
    elif content is not None:
        path.write_text(content)
    assert main(["hops", str(path), "--species", species]) == 2
    err = capsys.readouterr().err
    assert "error" in err
    assert re.search(match, err, flags=re.IGNORECASE), err


def test_closed_stdout_pipe_exits_quietly():
    """``ionflow hops X --json | head -1``: no BrokenPipeError traceback once head exits."""
    ionflow = Path(sys.executable).with_name("ionflow")
    proc = subprocess.Popen(
        [str(ionflow), "hops", str(LI2MNO3), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()  # the reader is gone before the command writes anything
    _, err = proc.communicate(timeout=300)
    assert "Traceback" not in err, err
    assert "BrokenPipe" not in err, err
    assert proc.returncode in (0, 1, 141), err


def test_info_progress_reaches_stderr_unless_quiet(monkeypatch, capsys):
    """A batch job's log (stderr not a TTY) shows ionflow.* INFO lines, --json or not."""
    import ionflow.core.hops as hops_mod

    original = hops_mod.find_mobile_sites

    def chatty(*args, **kwargs):
        logging.getLogger("ionflow.core.hops.test").info("progress: step 3/10")
        logging.getLogger("some.other.library").info("library chatter")
        return original(*args, **kwargs)

    monkeypatch.setattr(hops_mod, "find_mobile_sites", chatty)
    assert main(["hops", str(LI2MNO3), "--json"]) == 0
    err = capsys.readouterr().err
    assert "progress: step 3/10" in err
    assert "library chatter" not in err
    assert main(["-q", "hops", str(LI2MNO3), "--json"]) == 0
    assert "progress: step 3/10" not in capsys.readouterr().err
    assert main(["hops", str(LI2MNO3)]) == 0  # a second call in the process: one line, not two
    assert capsys.readouterr().err.count("progress: step 3/10") == 1


def test_warnings_printed_once_and_jobflow_cd_warning_filtered(monkeypatch, capsys):
    import ionflow.core.hops as hops_mod

    original = hops_mod.find_mobile_sites

    def warn(*args, **kwargs):
        for _ in range(3):
            logging.getLogger("ionflow.jobs.test").warning("too few hops at 600 K")
        for line in (1, 2, 3):  # the same text from three places: one line
            warnings.warn_explicit(
                "occupancy rounded", UserWarning, "somewhere.py", line, module="somewhere"
            )
        warnings.warn("cd is deprecated, use chdir", FutureWarning, stacklevel=1)
        return original(*args, **kwargs)

    monkeypatch.setattr(hops_mod, "find_mobile_sites", warn)
    assert main(["hops", str(LI2MNO3)]) == 0
    err = capsys.readouterr().err
    assert err.count("too few hops at 600 K") == 1, err
    assert err.count("occupancy rounded") == 1, err
    assert "cd is deprecated" not in err


# ------------------------------------------------------------------ models that cannot load
def _model_cases(tmp_path):
    return {
        "missing chgnet checkpoint": ("chgnet:/nope.pth.tar", r"/nope\.pth\.tar"),
        # mace-torch is not installed here: naming the extra is as good as naming the file
        "missing mace model": ("mace:/missing.model", r"/missing\.model|mace-torch|\[mace\]"),
        "mace not installed": (f"mace:{tmp_path / 'x.model'}", r"mace-torch|\[mace\]"),
    }


def _command(command, tmp_path, cu_fcc, model):
    path = tmp_path / "Cu.cif"
    cu_fcc.to(filename=str(path))
    (tmp_path / "x.model").write_bytes(b"not really a model")
    if command == "screen":
        return ["screen", str(path), "--species", "Cu", "--model", model]
    if command == "neb":
        return ["neb", str(path), str(path), "--model", model]
    return ["conductivity", str(path), "--species", "Cu", "--model", model, "--runs", "1"]


@pytest.mark.parametrize(
    "case", ["missing chgnet checkpoint", "missing mace model", "mace not installed"]
)
@pytest.mark.parametrize("command", ["screen", "neb", "conductivity"])
def test_unloadable_model_exits_2_before_any_work(
    command, case, tmp_path, cu_fcc, store_dir, capsys
):
    if command != "screen" and case == "missing mace model":
        pytest.skip("one command per case is enough beyond screen")
    if case.startswith("mace") and _mace_installed():
        pytest.skip("mace-torch is installed here")
    model, match = _model_cases(tmp_path)[case]
    start = time.perf_counter()
    code = main(_command(command, tmp_path, cu_fcc, model))
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err
    assert code == 2, err
    assert re.search(match, err), err
    assert "no output" not in err
    assert elapsed < 20, f"took {elapsed:.0f} s: the model was checked after expensive steps"


def _mace_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("mace") is not None
