from __future__ import annotations

import pytest

from ionflow.errors import IonflowInputError
from ionflow.mlip import ModelSpec, parse_model_spec


def test_default_is_pretrained_chgnet():
    spec = parse_model_spec(None)
    assert spec.name == "chgnet"
    assert spec.checkpoint is None
    assert spec.backend == "chgnet"


@pytest.mark.parametrize(
    ("text", "name", "backend"),
    [
        ("chgnet", "chgnet", "chgnet"),
        ("CHGNet", "chgnet", "chgnet"),
        ("sevennet", "sevennet", "sevennet"),
        ("SevenNet-0", "sevennet-0", "sevennet"),
        ("sevennet_l3i5", "sevennet-l3i5", "sevennet"),
    ],
)
def test_names(text, name, backend):
    spec = parse_model_spec(text)
    assert spec.name == name
    assert spec.backend == backend


def test_checkpoint_forms(tmp_path):
    ckpt = tmp_path / "ft.pth.tar"
    ckpt.write_bytes(b"")
    assert parse_model_spec(f"chgnet:{ckpt}").checkpoint == str(ckpt)
    by_path = parse_model_spec(str(ckpt))
    assert by_path.backend == "chgnet"
    assert by_path.checkpoint == str(ckpt)
    mace = parse_model_spec(f"mace:{tmp_path / 'small.model'}")
    assert mace.backend == "mace"
    assert mace.label == "mace:small.model"


def test_calculator_dict_and_json_string():
    d = {"@module": "ase.calculators.emt", "@callable": "EMT", "kwargs": {}}
    spec = parse_model_spec(d)
    assert spec.backend == "calculator"
    assert parse_model_spec('{"@module": "ase.calculators.emt", "@callable": "EMT"}') == spec
    # round trip through as_dict keeps the identity (the model cache keys on it)
    assert parse_model_spec(spec.as_dict()) == spec
    assert hash(spec) == hash(parse_model_spec(spec.as_dict()))


def test_device_override():
    assert parse_model_spec("chgnet", device="cpu").device == "cpu"
    assert isinstance(parse_model_spec(ModelSpec("chgnet")), ModelSpec)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ("nosuchmodel", "Unknown model"),
        ("mace", "MACE needs a model file"),
        ({"@module": "x"}, "needs both"),
        ({"foo": 1}, "needs 'name'"),
        ('{"broken": ', "not"),
        (3.5, "Cannot read a model spec"),
        ({"name": "chgnet", "device": "tpu"}, "device must be"),
        ("/some/dir/weights.bin", "Cannot tell which model family"),
    ],
)
def test_bad_specs(bad, match):
    with pytest.raises(IonflowInputError, match=match):
        parse_model_spec(bad)


def test_default_model_comes_from_the_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("IONFLOW_DEFAULT_MODEL", "sevennet-0")
    spec = parse_model_spec(None)
    assert (spec.name, spec.backend) == ("sevennet-0", "sevennet")
    ckpt = tmp_path / "ft.pth.tar"
    monkeypatch.setenv("IONFLOW_DEFAULT_MODEL", f"chgnet:{ckpt}")
    assert parse_model_spec(None).checkpoint == str(ckpt)
    assert parse_model_spec(None, device="cpu").device == "cpu"
    # a dict written as JSON works as a default too
    monkeypatch.setenv(
        "IONFLOW_DEFAULT_MODEL", '{"@module": "ase.calculators.emt", "@callable": "EMT"}'
    )
    assert parse_model_spec(None).backend == "calculator"


def test_bad_default_model_names_the_setting(monkeypatch):
    monkeypatch.setenv("IONFLOW_DEFAULT_MODEL", "nosuchmodel")
    with pytest.raises(IonflowInputError, match=r"DEFAULT_MODEL setting .*Unknown model"):
        parse_model_spec(None)


def test_device_is_left_to_the_settings_unless_given():
    assert parse_model_spec("chgnet").device is None
    assert "device" not in parse_model_spec("chgnet").as_dict()
    spec = parse_model_spec({"name": "chgnet", "device": "cuda:1"})
    assert spec.device == "cuda:1"
    assert parse_model_spec(spec.as_dict()) == spec
