from __future__ import annotations

import json
import re

import pytest

from ionflow.cli.main import main

EMT = '{"@module": "ase.calculators.emt", "@callable": "EMT"}'


@pytest.fixture
def endpoint_files(cu_fcc, tmp_path):
    """Initial and final vacancy supercells of an fcc Cu hop, the final one wrapped."""
    from pymatgen.io.ase import AseAtomsAdaptor

    from ionflow.core.hops import build_vacancy_endpoints, enumerate_hops

    hop = enumerate_hops(cu_fcc, "Cu", symprec=0.1)[0]
    a, b = build_vacancy_endpoints(cu_fcc, hop, min_length=7.0).to_ase()
    b.wrap()  # files are usually wrapped: ionflow neb must unwrap by minimum image
    paths = []
    for name, at in (("ini", a), ("fin", b)):
        path = tmp_path / f"{name}.vasp"
        AseAtomsAdaptor.get_structure(at).to(filename=str(path))
        paths.append(str(path))
    return paths


def test_neb_command_on_wrapped_endpoint_files(endpoint_files, store_dir, capsys):
    code = main(["neb", *endpoint_files, "--model", EMT, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    row = out["hops"][0]
    assert row["moving_index"] == 0
    assert row["converged"]
    assert 0.4 < row["barrier_forward_eV"] < 1.2


def test_neb_json_stdout_survives_a_model_that_prints_when_loaded(
    endpoint_files, store_dir, monkeypatch, capsys
):
    """CHGNet print()s 'CHGNet v0.3.0 initialized ...' on load: not into the JSON stream."""
    from ase.calculators.emt import EMT as EMTCalculator

    from ionflow.mlip import clear_model_cache

    original = EMTCalculator.__init__

    def noisy_init(self, *args, **kwargs):
        print("CHGNet v0.3.0 initialized with 412,525 parameters")
        original(self, *args, **kwargs)

    monkeypatch.setattr(EMTCalculator, "__init__", noisy_init)
    clear_model_cache()
    try:
        code = main(["neb", *endpoint_files, "--model", EMT, "--json", "--max-steps", "3"])
    finally:
        clear_model_cache()
    cap = capsys.readouterr()
    assert code in (0, 1)
    assert json.loads(cap.out)["hops"][0]["n_steps"] <= 3
    assert "initialized with 412,525 parameters" in cap.err


def test_neb_text_output_has_formatted_numbers(endpoint_files, store_dir, capsys):
    assert main(["neb", *endpoint_files, "--model", EMT]) == 0
    cap = capsys.readouterr()
    assert re.search(r"barrier forward \d+\.\d{3} eV, reverse \d+\.\d{3} eV", cap.out)
    raw = re.findall(r"\d+\.\d{6,}", cap.out + cap.err)
    assert not raw, f"unformatted floats printed: {raw}"


def test_neb_command_continues_from_checkpoint_dir(endpoint_files, tmp_path, store_dir, capsys):
    """--checkpoint-dir: a band cut off by --max-steps is continued by the next call."""
    ckpt = tmp_path / "ckpt"
    base = ["neb", *endpoint_files, "--model", EMT, "--checkpoint-dir", str(ckpt), "--json"]
    assert main([*base, "--max-steps", "2"]) == 1  # unconverged hop: exit status 1
    first = json.loads(capsys.readouterr().out)["hops"][0]
    assert not first["converged"]
    assert len(list(ckpt.glob("*.npz"))) == 1
    assert main(base) == 0
    second = json.loads(capsys.readouterr().out)["hops"][0]
    assert second["converged"]
    assert second["n_steps"] > first["n_steps"] == 2
    assert not list(ckpt.glob("*.npz"))


def test_neb_rejects_mismatched_endpoints(cu_fcc, tmp_path, capsys):
    cu_fcc.to(filename=str(tmp_path / "a.vasp"))
    big = cu_fcc * (2, 1, 1)
    big.to(filename=str(tmp_path / "b.vasp"))
    assert main(["neb", str(tmp_path / "a.vasp"), str(tmp_path / "b.vasp")]) == 2
    assert "differ in atom count" in capsys.readouterr().err


def _endpoints(cu_fcc):
    from ionflow.core.hops import build_vacancy_endpoints, enumerate_hops

    hop = enumerate_hops(cu_fcc, "Cu", symprec=0.1)[0]
    return build_vacancy_endpoints(cu_fcc, hop, min_length=7.0).to_ase()


def _write(atoms, path):
    from pymatgen.io.ase import AseAtomsAdaptor

    AseAtomsAdaptor.get_structure(atoms).to(filename=str(path))
    return str(path)


def test_a_permuted_end_state_gives_the_ordered_barrier(cu_fcc, tmp_path, store_dir, capsys):
    """Files from other tools list atoms in another order: matched, not interpolated across."""
    import numpy as np

    a, b = _endpoints(cu_fcc)
    perm = np.random.default_rng(1).permutation(len(b))
    ini = _write(a, tmp_path / "ini.vasp")
    ordered = _write(b, tmp_path / "fin.vasp")
    permuted = _write(b[perm], tmp_path / "fin_permuted.vasp")
    assert main(["neb", ini, ordered, "--model", EMT, "--json"]) == 0
    first = json.loads(capsys.readouterr().out)["hops"][0]
    assert main(["neb", ini, permuted, "--model", EMT, "--json"]) == 0
    captured = capsys.readouterr()
    second = json.loads(captured.out)["hops"][0]
    assert "reordered" in captured.err
    assert second["barrier_forward_eV"] == pytest.approx(first["barrier_forward_eV"], abs=1e-6)
    assert second["moving_index"] == first["moving_index"] == 0


def test_ambiguous_or_identical_endpoints_exit_2_before_any_model(
    cu_fcc, tmp_path, store_dir, capsys
):
    import time

    import numpy as np

    a, b = _endpoints(cu_fcc)
    c = b.copy()
    i = 5
    j = int(np.argsort(c.get_distances(i, list(range(len(c))), mic=True))[1])
    vec = c.get_distance(i, j, mic=True, vector=True)
    perp = np.cross(vec, [0, 0, 1])
    perp = 0.05 * perp / np.linalg.norm(perp)
    c.positions[i] = c.positions[i] + 0.5 * vec + perp  # two atoms meet halfway: who is who?
    c.positions[j] = c.positions[i] - 2 * perp
    perm = np.random.default_rng(1).permutation(len(c))
    ini = _write(a, tmp_path / "ini.vasp")
    ambiguous = _write(c[perm], tmp_path / "ambiguous.vasp")
    # a model that cannot even be imported: reaching it would be a different error
    never = '{"@module": "ase.calculators.emt", "@callable": "NoSuchCalculator"}'
    start = time.perf_counter()
    assert main(["neb", ini, ambiguous, "--model", never]) == 2
    err = capsys.readouterr().err
    assert "Cannot tell which atom" in err
    assert re.search(r"Cu atoms \d+ and \d+", err)
    assert main(["neb", ini, ini, "--model", EMT]) == 2
    assert "identical" in capsys.readouterr().err
    assert time.perf_counter() - start < 10
