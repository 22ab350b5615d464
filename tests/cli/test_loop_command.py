"""``ionflow loop``: one rung end to end on the embedded store; bad input exits 2 before MD."""

from __future__ import annotations

import json
import re

import pytest

from ionflow.cli.main import main

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

EMT = '{"@module": "ase.calculators.emt", "@callable": "EMT"}'
TINY = ["--heating-ps", "0", "--equilibration-ps", "0.01", "--md-ps", "0.06"]
TINY += ["--frame-interval-fs", "10", "--snapshots", "3", "--heldout", "3", "--epochs", "1"]
TINY += ["--batch-size", "2", "--threads", "1"]


@pytest.fixture
def cu_file(tmp_path, cu_fcc):
    path = tmp_path / "Cu.cif"
    cu_fcc.to(filename=str(path))
    return path


@pytest.mark.slow
def test_one_rung_json(cu_file, tmp_path, store_dir, capsys):
    args = ["loop", str(cu_file), "--species", "Cu", "--labeller", EMT, "--temperatures", "300"]
    args += [*TINY, "--model-dir", str(tmp_path / "models"), "--plot-dir", str(tmp_path / "p")]
    code = main([*args, "--json"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    out = json.loads(cap.out)
    assert out["n_rungs"] == 1
    assert out["stop_reason"] == "ladder end"
    assert out["final_model"].startswith(f"chgnet:{tmp_path / 'models'}")
    assert [row["rung"] for row in out["table"]] == [0, 1]
    assert out["rungs"][0]["n_selected"] == 3
    assert out["rungs"][0]["heldout_after"]["n_configs"] == 3
    assert "plot_png_b64" not in out
    assert (tmp_path / "p" / "finetune_loop.png").is_file()


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--temperatures", "300", "-5"], "positive"),
        (["--labeller", "no-such-model"], "no-such-model|unknown|Unknown"),
        (["--backend", "nope"], "backend"),
        (["--md-ps", "0"], "md-ps"),
        (["--max-iterations", "0"], "max_iterations"),
        (["--species", "Na"], "Na"),
        (["--epochs", "0"], "epochs"),
    ],
)
def test_bad_input_exits_2_before_any_md(cu_file, store_dir, monkeypatch, capsys, extra, match):
    import ionflow.cli.loop as loop_cli

    def no_run(flow):
        raise AssertionError("the flow ran despite bad input")

    monkeypatch.setattr(loop_cli, "run_on_store", no_run)
    args = ["loop", str(cu_file), "--species", "Cu", "--labeller", EMT]
    # later options win: the bad value replaces the good one
    assert main([*args, *extra]) == 2
    err = capsys.readouterr().err
    assert "error" in err
    assert re.search(match, err), err


def test_missing_structure_exits_2(tmp_path, store_dir, capsys):
    assert main(["loop", str(tmp_path / "none.cif"), "--labeller", EMT]) == 2
    assert "error" in capsys.readouterr().err
