"""Labels, checks and the reproducible split of a training set."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from ionflow.core.errors import IonflowInputError
from ionflow.core.training import (
    check_labelled,
    labels_of,
    split_dataset,
    split_indices,
)


def test_split_is_reproducible_and_disjoint():
    a = split_indices(50, seed=3)
    b = split_indices(50, seed=3)
    c = split_indices(50, seed=4)
    assert a == b
    assert a != c
    assert [len(a[k]) for k in ("train", "val", "test")] == [40, 5, 5]
    assert sorted(a["train"] + a["val"] + a["test"]) == list(range(50))


@pytest.mark.parametrize("n", [3, 4, 5, 7, 9])
def test_tiny_sets_keep_every_split_non_empty(n):
    # CHGNet's own int() sizing leaves the validation split of such sets empty
    idx = split_indices(n)
    assert all(len(idx[k]) >= 1 for k in ("train", "val", "test"))
    assert sum(len(v) for v in idx.values()) == n


def test_too_small_or_bad_fractions_raise():
    with pytest.raises(IonflowInputError, match="at least 3"):
        split_indices(2)
    with pytest.raises(IonflowInputError, match="fractions"):
        split_indices(10, (0.8, 0.2))
    with pytest.raises(IonflowInputError, match="fractions"):
        split_indices(10, (0.8, 0.2, 0.0))


def test_split_dataset_returns_the_configurations(cu_dataset):
    split = split_dataset(cu_dataset, seed=1)
    assert split.sizes() == {"train": 4, "val": 1, "test": 1}
    assert split.val[0] is cu_dataset[split.indices["val"][0]]


def test_empty_and_unlabelled_datasets_raise(cu_dataset):
    with pytest.raises(IonflowInputError, match="empty"):
        check_labelled([])
    bare = bulk("Cu", "fcc", a=3.61)
    with pytest.raises(IonflowInputError, match=r"configuration 1 .* no energy"):
        check_labelled([cu_dataset[0], bare])
    with pytest.raises(IonflowInputError, match="empty"):
        split_dataset([])


def test_stress_required_for_efs(cu_dataset, make_emt_configs):
    no_stress = make_emt_configs(3, stress=False)
    assert labels_of(no_stress[0]).stress is None
    with pytest.raises(IonflowInputError, match="no stress"):
        check_labelled(no_stress, require_stress=True)
    labels = check_labelled(cu_dataset, require_stress=True)
    assert labels[0].stress.shape == (6,)
    assert np.isfinite(labels[0].energy)
