"""MACE settings refusals (no mace-torch needed: these run in every environment)."""

from __future__ import annotations

import pytest

from ionflow.core.errors import IonflowInputError
from ionflow.core.training import FineTuneSettings, MACEFineTuneSettings, get_backend
from ionflow.core.training.mace_backend import _train_args


def test_defaults_are_deng2025():
    s = MACEFineTuneSettings()
    assert (s.mode, s.learning_rate, s.patience, s.epochs) == ("scratch", 0.01, 20, 500)
    assert s.base_model == "mace-scratch"
    assert get_backend("mace").settings_class is MACEFineTuneSettings


def test_multihead_needs_a_local_replay_file(tmp_path):
    with pytest.raises(IonflowInputError, match="silently falls back to naive"):
        MACEFineTuneSettings(foundation=str(tmp_path / "f.model"))
    with pytest.raises(IonflowInputError, match="silently falls back to naive"):
        MACEFineTuneSettings(mode="multihead", foundation=str(tmp_path / "f.model"))
    naive = MACEFineTuneSettings(mode="naive", foundation=f"mace:{tmp_path / 'f.model'}")
    assert naive.foundation == str(tmp_path / "f.model")  # "mace:PATH" accepted
    assert naive.base_model == f"mace:{tmp_path / 'f.model'}"


@pytest.mark.parametrize("name", ["small", "medium", "large", "mp", "medium-mpa-0"])
def test_named_foundations_that_download_are_refused(name, tmp_path):
    with pytest.raises(IonflowInputError, match="downloading"):
        MACEFineTuneSettings(foundation=name, replay=str(tmp_path / "r.xyz"))
    with pytest.raises(IonflowInputError, match="downloading"):
        MACEFineTuneSettings(foundation=str(tmp_path / "f.model"), replay=name)


def test_other_refusals(tmp_path):
    with pytest.raises(IonflowInputError, match="needs a foundation"):
        MACEFineTuneSettings(mode="naive")
    with pytest.raises(IonflowInputError, match="takes no foundation"):
        MACEFineTuneSettings(mode="scratch", foundation=str(tmp_path / "f.model"))
    with pytest.raises(IonflowInputError, match="only used by multihead"):
        MACEFineTuneSettings(mode="naive", foundation="f.model", replay="r.xyz")
    with pytest.raises(IonflowInputError, match="MACE optimizers"):
        MACEFineTuneSettings(optimizer="RAdam")
    with pytest.raises(IonflowInputError, match="CHGNet options"):
        MACEFineTuneSettings(freeze=("mlp",))
    with pytest.raises(IonflowInputError, match="not found"):
        MACEFineTuneSettings(
            foundation=str(tmp_path / "f.model"), replay=str(tmp_path / "r.xyz")
        ).check_files()


def test_plain_settings_are_refused_by_the_mace_backend(tmp_path):
    with pytest.raises(IonflowInputError, match="MACEFineTuneSettings"):
        get_backend("mace").train([], [], [], FineTuneSettings(), tmp_path)


def test_forced_multihead_defaults_are_overridden(tmp_path):
    (tmp_path / "f.model").write_text("x")
    s = MACEFineTuneSettings(foundation=str(tmp_path / "f.model"), replay="r.xyz")
    files = {k: tmp_path / f"{k}.xyz" for k in ("train", "val", "replay")}
    args = _train_args(s, tmp_path, files, "cpu")
    assert "--force_mh_ft_lr=True" in args  # else MACE sets lr 1e-4 and EMA
    assert "--multiheads_finetuning=True" in args
    assert f"--pt_train_file={files['replay']}" in args
    assert "--lr=0.01" in args
    assert "--patience=20" in args
    assert "--ema" not in args
    naive = MACEFineTuneSettings(mode="naive", foundation=str(tmp_path / "f.model"))
    args = _train_args(naive, tmp_path, files, "cpu")
    assert "--multiheads_finetuning=False" in args  # naive because asked, never by fallback
    assert not any(a.startswith("--pt_train_file") for a in args)


def test_an_interpreter_without_mace_is_refused_before_training(tmp_path):
    from ionflow.core.training.mace_backend import check_mace_python

    with pytest.raises(IonflowInputError, match="cannot run the MACE interpreter"):
        check_mace_python(str(tmp_path / "no-python"))
    settings = MACEFineTuneSettings(python=str(tmp_path / "no-python"), epochs=1)
    from ase.build import bulk
    from ase.calculators.singlepoint import SinglePointCalculator

    configs = []
    for _ in range(3):
        atoms = bulk("Cu", "fcc", a=3.61, cubic=True)
        atoms.calc = SinglePointCalculator(atoms, energy=-1.0, forces=[[0.0] * 3] * 4)
        configs.append(atoms)
    with pytest.raises(IonflowInputError, match="MACE interpreter"):
        get_backend("mace").train(configs[:1], configs[1:2], configs[2:], settings, tmp_path / "o")
    assert not (tmp_path / "o").exists()  # nothing written
