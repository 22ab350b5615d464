"""``ionflow order``: the table, pure JSON, exit status 2 on every bad input before any model."""

from __future__ import annotations

import json
import re

import pytest
from pymatgen.core import Lattice, Structure
from pymatgen.io.cif import CifWriter

from ionflow.cli.main import main

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")


def _write(tmp_path, species: list, name: str = "in.cif", shape=(2, 2, 1)) -> str:
    s = Structure(Lattice.cubic(4.0), species, [[0, 0, 0], [0.5, 0.5, 0.5]])
    s.make_supercell(list(shape))
    path = tmp_path / name
    CifWriter(s).write_file(path)
    return str(path)


@pytest.fixture
def limgof(tmp_path) -> str:
    return _write(tmp_path, [{"Li": 0.5, "Mg": 0.5}, {"O": 0.5, "F": 0.5}])


def test_json_is_pure_and_ranked(store_dir, limgof, capsys):
    assert main(["order", limgof, "--model", "none", "--top-k", "3", "--json"]) == 0
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert doc["formula"] == "LiMgOF"
    assert doc["energy_source"] == "ewald"
    assert doc["n_distinct"] == doc["n_enumerated"] >= 3
    energies = [o["energy_per_atom_eV"] for o in doc["orderings"]]
    assert len(energies) == 3
    assert energies == sorted(energies)
    assert doc["orderings"][0]["structure"]["@class"] == "Structure"
    assert store_dir.exists()  # the job went through the store


def test_table(store_dir, limgof, capsys):
    assert main(["order", limgof, "--model", "none", "--top-k", "2"]) == 0
    out = capsys.readouterr().out
    assert "symmetry-distinct" in out
    assert "E rel (meV/atom)" in out
    assert "space group" in out


@pytest.mark.parametrize(
    ("case", "options", "match"),
    [
        ("occupancy", [], "occupancies above 1"),
        ("charge", [], "no charge-balanced oxidation states"),
        ("charge-given", ["--oxidation-states", "Li=1", "Mg=1", "O=-2", "F=-1"], "do not bal"),
        ("integral", ["--max-atoms", "5"], "no supercell of at most 5 atoms"),
        ("cap", ["--max-orderings", "2"], "symmetry-distinct orderings .* more than the cap of 2"),
        ("supercell", ["--supercell", "1", "1", "3"], "fractional atoms"),
        ("oxidation-syntax", ["--oxidation-states", "Li:1"], "EL=CHARGE"),
        ("top-k", ["--top-k", "0"], "must be >= 1"),
        ("enumlib", ["--enumerator", "enumlib"], "enum.x"),
    ],
)
def test_bad_input_exits_2_before_any_model(
    store_dir, tmp_path, p1_cif, capsys, monkeypatch, case, options, match
):
    import ionflow.mlip
    import ionflow.mlip.models

    def no_model(*_a, **_k):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(ionflow.mlip, "get_evaluator", no_model)
    monkeypatch.setattr(ionflow.mlip.models, "get_evaluator", no_model)
    if case == "occupancy":
        path = str(p1_cif("Li1 Li 0 0 0 0.7\nNa1 Na 0 0 0 0.5\nCl1 Cl 0.5 0.5 0.5 1", "occ.cif"))
    elif case == "charge":
        path = _write(tmp_path, [{"Li": 0.5}, "Cl"])
    elif case == "integral":
        path = _write(tmp_path, [{"Li": 1 / 3, "Na": 2 / 3}, "Cl"], shape=(1, 1, 1))
    elif case == "supercell":  # one half-occupied site: 1.5 atoms in 3 cells
        path = _write(tmp_path, [{"Li": 0.5, "Mg": 0.5}, {"O": 0.5, "F": 0.5}], shape=(1, 1, 1))
    else:  # 5 distinct orderings in the 2x2x1 cell
        path = _write(tmp_path, [{"Li": 0.5, "Mg": 0.5}, {"O": 0.5, "F": 0.5}])
    assert main(["order", path, "--model", "chgnet", *options]) == 2
    err = capsys.readouterr().err
    assert "ionflow order: error:" in err

    assert re.search(match, err), err
