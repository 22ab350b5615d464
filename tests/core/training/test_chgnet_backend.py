"""CHGNet fine-tuning: a 2-epoch run whose checkpoint loads everywhere; conventions; bad input."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator

from ionflow.core.errors import IonflowInputError
from ionflow.core.training import (
    FineTuneSettings,
    get_backend,
    load_chgnet_checkpoint,
    split_dataset,
)

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::UserWarning")]


@pytest.fixture(scope="module")
def finetuned(tmp_path_factory, make_emt_configs):
    """A 2-epoch fine-tune of pretrained CHGNet on EMT-labelled Cu (seconds)."""
    configs = make_emt_configs(6)
    split = split_dataset(configs, seed=0)
    out = tmp_path_factory.mktemp("ft")
    settings = FineTuneSettings(epochs=2, batch_size=2, progress=False)
    result = get_backend("chgnet").train(split.train, split.val, split.test, settings, out)
    return result, configs


def test_finetune_writes_a_checkpoint_every_maker_can_load(finetuned):
    import torch

    from ionflow.mlip import get_evaluator

    result, configs = finetuned
    assert result.checkpoint.is_file()
    assert result.model_spec == f"chgnet:{result.checkpoint}"
    assert result.checkpoint.is_absolute()
    assert result.epochs_run == 2
    assert len(result.history["train_loss"]) == 2
    assert len(result.history["val_energy_eV_atom"]) == 2
    assert set(result.metrics) == {"train", "val", "test"}
    assert set(result.metrics["test"]) == {"energy_eV_atom", "forces_eV_A", "stress_GPa"}
    assert result.curve_png is not None
    assert result.curve_png.read_bytes()[:4] == b"\x89PNG"
    # plain tensors and values only: loadable without arbitrary unpickling
    state = torch.load(result.checkpoint, weights_only=True)
    assert state["ionflow"]["settings"]["optimizer"] == "RAdam"
    pretrained = get_evaluator("chgnet").evaluate([configs[0]])[0].energy
    tuned = get_evaluator(result.model_spec).evaluate([configs[0]])[0].energy
    assert abs(tuned - pretrained) > 1e-3
    assert load_chgnet_checkpoint(result.checkpoint) is not None


def test_labels_of_the_model_itself_give_zero_error(tmp_path):
    """Energies per atom and the stress sign/unit reach CHGNet's trainer correctly."""
    from ionflow.mlip import get_evaluator

    model = get_evaluator("chgnet")
    rng = np.random.default_rng(1)
    configs = []
    for i in range(3):
        atoms = bulk("Li", "bcc", a=3.44 * (1 + 0.02 * i), cubic=True)
        atoms.positions += rng.normal(0, 0.05, atoms.positions.shape)
        pred = model.evaluate([atoms], stress=True)[0]
        assert np.abs(pred.stress[:3]).max() > 1e-3  # a stress worth checking
        atoms.calc = SinglePointCalculator(
            atoms, energy=pred.energy, forces=pred.forces, stress=pred.stress
        )
        configs.append(atoms)
    split = split_dataset(configs)
    settings = FineTuneSettings(epochs=1, batch_size=1, learning_rate=1e-12, progress=False)
    result = get_backend("chgnet").train(split.train, split.val, split.test, settings, tmp_path)
    for split_metrics in result.metrics.values():
        assert split_metrics["energy_eV_atom"] < 1e-4
        assert split_metrics["forces_eV_A"] < 1e-4
        assert split_metrics["stress_GPa"] < 1e-3


def test_early_stopping(tmp_path, monkeypatch, make_emt_configs):
    from chgnet.trainer import Trainer

    monkeypatch.setattr(
        Trainer, "_validate", lambda self, loader, **kw: {"e": 1.0, "f": 1.0, "s": 1.0}
    )
    split = split_dataset(make_emt_configs(3))
    settings = FineTuneSettings(epochs=5, patience=1, batch_size=2, progress=False)
    result = get_backend("chgnet").train(split.train, split.val, split.test, settings, tmp_path)
    assert result.epochs_run == 2
    assert result.best_epoch == 0
    assert result.stopped_early


def test_bad_input_is_refused_before_training(tmp_path, make_emt_configs):
    backend = get_backend("chgnet")
    configs = make_emt_configs(3)
    settings = FineTuneSettings(epochs=1, progress=False)
    with pytest.raises(IonflowInputError, match="empty"):
        backend.train([], [], [], settings, tmp_path)
    with pytest.raises(IonflowInputError, match="validation"):
        backend.train(configs, [], [], settings, tmp_path)
    with pytest.raises(IonflowInputError, match="no stress"):
        backend.train(make_emt_configs(3, stress=False), configs[:1], [], settings, tmp_path)
    frozen = FineTuneSettings(epochs=1, freeze=("no_such_layer",), progress=False)
    with pytest.raises(IonflowInputError, match="no_such_layer"):
        backend.train(configs[:2], configs[2:], [], frozen, tmp_path)
    not_chgnet = FineTuneSettings(epochs=1, base_model="sevennet", progress=False)
    with pytest.raises(IonflowInputError, match="CHGNet"):
        backend.train(configs[:2], configs[2:], [], not_chgnet, tmp_path)
    with pytest.raises(IonflowInputError, match="unknown fine-tuning backend"):
        get_backend("nequip")
    with pytest.raises(IonflowInputError, match="optimizer"):
        FineTuneSettings(optimizer="LBFGS")


def test_missing_or_corrupt_checkpoints(tmp_path):
    import torch

    from ionflow.mlip import ModelLoadError, get_evaluator

    missing = tmp_path / "missing.pth.tar"
    with pytest.raises(ModelLoadError, match=f"not found: {missing}"):
        load_chgnet_checkpoint(missing)
    corrupt = tmp_path / "corrupt.pth.tar"
    corrupt.write_bytes(b"not a torch file")
    with pytest.raises(ModelLoadError, match=f"cannot read checkpoint {corrupt}"):
        load_chgnet_checkpoint(corrupt)
    not_chgnet = tmp_path / "other.pth.tar"
    torch.save({"weights": torch.zeros(3)}, not_chgnet)
    with pytest.raises(ModelLoadError, match="not a CHGNet checkpoint"):
        load_chgnet_checkpoint(not_chgnet)
    # a file that needs arbitrary unpickling is refused, not executed
    pickled = tmp_path / "pickled.pth.tar"
    torch.save({"model": _Opaque()}, pickled)
    with pytest.raises(ModelLoadError, match="weights_only=True"):
        load_chgnet_checkpoint(pickled)
    for path in (corrupt, missing, pickled):  # the model layer reads specs the same way
        with pytest.raises(ModelLoadError, match=str(path.name)):
            get_evaluator(f"chgnet:{path}")
    assert issubclass(ModelLoadError, IonflowInputError)  # exit status 2 on the CLI


class _Opaque:
    """An object torch can pickle but not load with ``weights_only=True``."""


def test_model_specs_load_checkpoints_without_unpickling(tmp_path, monkeypatch):
    from chgnet.model import CHGNet

    from ionflow.mlip import clear_model_cache, get_evaluator
    from ionflow.mlip.checkpoint import read_checkpoint

    model = CHGNet.load(verbose=False, use_device="cpu")
    path = tmp_path / "model.pth.tar"
    import torch

    torch.save({"model": model.as_dict()}, path)
    assert set(read_checkpoint(path)) == {"model"}

    def refuse(*args, **kwargs):
        raise AssertionError("CHGNet.from_file unpickles with weights_only=False")

    monkeypatch.setattr(CHGNet, "from_file", refuse)
    clear_model_cache()
    try:
        evaluator = get_evaluator(f"chgnet:{path}")
        assert evaluator.model.state_dict().keys() == model.state_dict().keys()
    finally:
        clear_model_cache()
