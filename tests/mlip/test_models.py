from __future__ import annotations

import re
from importlib.util import find_spec

import numpy as np
import pytest
import torch
from ase.build import bulk
from ase.calculators.emt import EMT

from ionflow.errors import IonflowInputError
from ionflow.mlip import ModelLoadError, check_model_spec, get_calculator, get_evaluator


def _rattled(seed=0):
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2)
    atoms.rattle(0.05, seed=seed)
    return atoms


def test_evaluator_is_loaded_once_per_process(emt_spec):
    a = get_evaluator(emt_spec)
    b = get_evaluator(dict(emt_spec))
    assert a is b
    assert get_calculator(emt_spec).evaluator is a


def test_calculator_evaluator_matches_ase(emt_spec):
    ev = get_evaluator(emt_spec)
    atoms = _rattled()
    ref = atoms.copy()
    ref.calc = EMT()
    before = ev.n_evaluations
    pred = ev.evaluate([atoms])[0]
    assert ev.n_evaluations == before + 1
    assert pred.energy == pytest.approx(ref.get_potential_energy())
    np.testing.assert_allclose(pred.forces, ref.get_forces(), atol=1e-10)
    assert pred.stress is None
    with_stress = ev.evaluate([atoms], stress=True)[0]
    np.testing.assert_allclose(with_stress.stress, ref.get_stress(), atol=1e-10)
    # the ASE calculator view gives the same numbers and leaves the input untouched
    atoms.calc = ev.calculator()
    assert atoms.get_potential_energy() == pytest.approx(ref.get_potential_energy())


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    missing = tmp_path / "missing.pth.tar"
    with pytest.raises(
        ModelLoadError, match=re.escape(f"model checkpoint {missing} does not exist")
    ):
        get_evaluator(f"chgnet:{missing}")
    # bad input: the CLI turns it into exit status 2
    with pytest.raises(IonflowInputError):
        get_evaluator(f"chgnet:{missing}")


def test_bad_calculator_module():
    with pytest.raises(ModelLoadError, match="Cannot import"):
        get_evaluator({"@module": "no_such_module_xyz", "@callable": "X"})
    with pytest.raises(ModelLoadError, match="has no attribute"):
        get_evaluator({"@module": "ase.calculators.emt", "@callable": "NoSuchCalc"})


@pytest.mark.slow
def test_chgnet_energy_forces_match_its_ase_calculator():
    """Our batched energy+force path reproduces CHGNetCalculator (which also does stress)."""
    from chgnet.model.dynamics import CHGNetCalculator
    from pymatgen.core import Lattice, Structure
    from pymatgen.io.ase import AseAtomsAdaptor

    s = Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(4.61), ["Li", "O"], [[0.25, 0.25, 0.25], [0, 0, 0]]
    ).get_primitive_structure()
    s.make_supercell(2)
    atoms_list = []
    for seed in range(3):
        at = AseAtomsAdaptor.get_atoms(s)
        at.rattle(0.05, seed=seed)
        atoms_list.append(at)
    ev = get_evaluator("chgnet")
    preds = ev.evaluate(atoms_list)
    calc = CHGNetCalculator(model=ev.model)
    for at, pred in zip(atoms_list, preds):
        ref = at.copy()
        ref.calc = calc
        assert pred.energy == pytest.approx(ref.get_potential_energy(), abs=1e-4)
        np.testing.assert_allclose(pred.forces, ref.get_forces(), atol=1e-4)
    # stress on request, in eV/Å^3 like ASE
    ref = atoms_list[0].copy()
    ref.calc = calc
    np.testing.assert_allclose(
        ev.evaluate(atoms_list[:1], stress=True)[0].stress, ref.get_stress(), atol=1e-5
    )


# ------------------------------------------------------------------ settings as defaults
def test_default_model_and_device_come_from_the_settings(monkeypatch, emt_spec):
    import json

    from ionflow.mlip import CalculatorEvaluator

    monkeypatch.setenv("IONFLOW_DEFAULT_MODEL", json.dumps(emt_spec))
    monkeypatch.setenv("IONFLOW_DEVICE", "cpu")
    ev = get_evaluator()
    assert isinstance(ev, CalculatorEvaluator)
    assert ev.device == "cpu"
    assert get_evaluator(None) is ev
    assert get_evaluator({**emt_spec, "device": "cpu"}) is ev  # the same device, one model
    # the device setting is read when a model is loaded (EMT does not care which it is)
    monkeypatch.setenv("IONFLOW_DEVICE", "cuda")
    on_cuda = get_evaluator(emt_spec)
    assert on_cuda.device == "cuda"
    assert on_cuda is not ev
    assert get_evaluator({**emt_spec, "device": "cpu"}) is ev  # an explicit device wins


# ------------------------------------------------------------------ check_model_spec
def test_check_model_spec_accepts_a_loadable_spec(emt_spec, tmp_path):
    assert check_model_spec("chgnet").backend == "chgnet"
    assert check_model_spec(emt_spec).backend == "calculator"
    ckpt = tmp_path / "ft.pth.tar"
    torch.save({"model": {"state_dict": {"w": torch.zeros(2)}, "model_args": {}}}, ckpt)
    assert check_model_spec(f"chgnet:{ckpt}").checkpoint == str(ckpt)


@pytest.mark.parametrize(
    "content", [b"", b"\x00 not a torch checkpoint", b"PK\x03\x04 truncated zip"]
)
def test_check_model_spec_corrupt_chgnet_checkpoint(tmp_path, content):
    """A checkpoint that cannot be read is named before any work (not inside every job)."""
    ckpt = tmp_path / "ft.pth.tar"
    ckpt.write_bytes(content)
    with pytest.raises(ModelLoadError, match=re.escape(f"cannot read checkpoint {ckpt}")):
        check_model_spec(f"chgnet:{ckpt}")


def test_check_model_spec_missing_checkpoint():
    with pytest.raises(ModelLoadError, match=r"^model checkpoint /nope\.pth\.tar does not exist$"):
        check_model_spec("chgnet:/nope.pth.tar")
    with pytest.raises(ModelLoadError, match=r"model checkpoint /missing\.model does not exist"):
        check_model_spec("mace:/missing.model")


def test_check_model_spec_checkpoint_is_a_directory(tmp_path):
    folder = tmp_path / "ft.pth.tar"
    folder.mkdir()
    with pytest.raises(ModelLoadError, match=re.escape(f"model checkpoint {folder} is not a file")):
        check_model_spec(f"chgnet:{folder}")


@pytest.mark.parametrize(
    ("spec", "package", "match"),
    [
        ("mace:{file}", "mace", r"MACE is not installed: pip install 'ionflow\[mace\]'"),
        ("sevennet", "sevenn", r"SevenNet is not installed: pip install 'ionflow\[sevennet\]'"),
    ],
)
def test_check_model_spec_missing_package(monkeypatch, tmp_path, spec, package, match):
    """A backend whose package is absent names the extra to install."""
    from importlib import util

    model = tmp_path / "small.model"
    model.write_bytes(b"")
    real = util.find_spec
    monkeypatch.setattr(
        util, "find_spec", lambda name, *a: None if name == package else real(name, *a)
    )
    from ionflow.mlip import models

    with pytest.raises(ModelLoadError, match=match):
        check_model_spec(spec.format(file=model))
    # get_evaluator fails the same way on a first load (an empty cache: the model may have been
    # loaded by an earlier test of this process)
    monkeypatch.setattr(models, "_CACHE", {})
    with pytest.raises(ModelLoadError, match=match):
        get_evaluator(spec.format(file=model))


@pytest.mark.skipif(bool(find_spec("mace")), reason="mace-torch is installed here")
def test_mace_spec_without_mace_installed(tmp_path):
    model = tmp_path / "small.model"
    model.write_bytes(b"")
    with pytest.raises(ModelLoadError, match=r"pip install 'ionflow\[mace\]'"):
        check_model_spec(f"mace:{model}")
    # both problems at once are both named
    with pytest.raises(ModelLoadError, match=r"does not exist; MACE is not installed"):
        check_model_spec("mace:/missing.model")


def test_check_model_spec_calculator_module_missing():
    with pytest.raises(ModelLoadError, match=r"Cannot import 'no_such_module_xyz\.calc'"):
        check_model_spec({"@module": "no_such_module_xyz.calc", "@callable": "X"})


@pytest.mark.parametrize(
    ("bad", "match"),
    [("nosuchmodel", "Unknown model"), ("mace", "MACE needs a model file"), (3.5, "Cannot read")],
)
def test_check_model_spec_unparsable(bad, match):
    with pytest.raises(ModelLoadError, match=match):
        check_model_spec(bad)
