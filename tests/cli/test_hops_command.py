from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from ionflow.cli.main import main

LI2MNO3 = Path(__file__).parents[1] / "test_data" / "Li2MnO3_C2m.cif.gz"


def test_hops_json_li2mno3(capsys):
    assert main(["hops", str(LI2MNO3), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [s["wyckoff"] for s in out["sites"]] == ["4h", "2c", "2b"]
    assert len(out["hops"]) == 9
    assert all(h["length_A"] > 2.5 for h in out["hops"])


def test_hops_json_subprocess_stdout_is_one_document():
    """What a user pipes into jq: the console script's stdout parses as JSON, nothing else."""
    ionflow = Path(sys.executable).with_name("ionflow")
    proc = subprocess.run(
        [str(ionflow), "hops", str(LI2MNO3), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(proc.stdout)
    assert doc["formula"] == "Li2MnO3"


def test_hops_json_stdout_survives_prints_during_the_run(monkeypatch, capsys):
    """A library that print()s while the command runs (CHGNet does on load) goes to stderr."""
    import ionflow.core.hops as hops_mod

    original = hops_mod.find_mobile_sites

    def noisy(*args, **kwargs):
        print("CHGNet v0.3.0 initialized with 412,525 parameters")
        return original(*args, **kwargs)

    monkeypatch.setattr(hops_mod, "find_mobile_sites", noisy)
    assert main(["hops", str(LI2MNO3), "--json"]) == 0
    cap = capsys.readouterr()
    assert json.loads(cap.out)["formula"] == "Li2MnO3"
    assert "CHGNet v0.3.0 initialized" in cap.err


def test_hops_table_lifepo4(lifepo4, tmp_path, capsys):
    path = tmp_path / "LiFePO4.cif"
    lifepo4.to(filename=str(path))
    assert main(["hops", str(path)]) == 0
    text = capsys.readouterr().out
    assert "1 distinct Li site" in text
    assert "Li1 (4a) -> Li1 (4a)" in text


def test_hops_table_wyckoff_multiplicity_apart_from_input_cell_count(
    li2o_primitive, tmp_path, capsys
):
    """Li2O primitive cell: Wyckoff 8c (8 per conventional cell), 2 Li in the input cell."""
    path = tmp_path / "Li2O.cif"
    li2o_primitive.to(filename=str(path))
    assert main(["hops", str(path)]) == 0
    text = capsys.readouterr().out
    assert "in input cell" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("Li1 "))
    assert re.match(r"Li1\s+8c\s+8\s+2\s", line), line


def test_hops_reports_the_supercell_of_each_rule(capsys):
    """Li2MnO3 at L = 10 Å: the width rule needs far fewer atoms than diagonal repeats."""
    sizes = {}
    for rule in ("width", "length"):
        assert main(["hops", str(LI2MNO3), "--json", "--supercell-rule", rule]) == 0
        cell = json.loads(capsys.readouterr().out)["supercell"]
        assert cell["rule"] == rule
        assert cell["min_length_A"] == 10.0
        sizes[rule] = cell["n_atoms"]
        if rule == "width":
            assert cell["min_width_A"] >= 10.0
        else:
            assert len(cell["matrix"]) == 3  # diagonal repeats of the input cell
    assert sizes["width"] < sizes["length"]
    assert main(["hops", str(LI2MNO3)]) == 0
    assert re.search(r"NEB supercell: \d+ atoms.*width rule", capsys.readouterr().out)
