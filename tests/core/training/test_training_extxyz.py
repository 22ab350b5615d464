"""extxyz import/export keeps energy, forces, stress and provenance."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from ionflow.core.errors import IonflowInputError
from ionflow.core.training import read_extxyz, write_extxyz


def test_round_trip_keeps_labels_and_provenance(cu_dataset, tmp_path):
    path = tmp_path / "set.extxyz"
    text = write_extxyz(cu_dataset, path)
    assert path.read_text() == text
    back = read_extxyz(path)
    assert len(back) == len(cu_dataset)
    for a, b in zip(cu_dataset, back):
        assert np.isclose(a.get_potential_energy(), b.get_potential_energy())
        assert np.allclose(a.get_forces(), b.get_forces())
        assert np.allclose(a.get_stress(), b.get_stress())
        assert b.info["labeller"] == "emt"
        assert b.info["source"] == a.info["source"]
    assert len(read_extxyz(text, text=True)) == len(cu_dataset)


def test_bad_files_raise_clear_errors(tmp_path, cu_dataset):
    with pytest.raises(IonflowInputError, match="not found"):
        read_extxyz(tmp_path / "missing.extxyz")
    empty = tmp_path / "empty.extxyz"
    empty.write_text("")
    with pytest.raises(IonflowInputError, match="empty"):
        read_extxyz(empty)
    garbage = tmp_path / "garbage.extxyz"
    garbage.write_text("this is not\nan extxyz file\n")
    with pytest.raises(IonflowInputError, match="cannot read"):
        read_extxyz(garbage)
    unlabelled = tmp_path / "unlabelled.extxyz"
    from ase.io import write

    write(unlabelled, [bulk("Cu", "fcc", a=3.61)], format="extxyz")
    with pytest.raises(IonflowInputError, match="no energy"):
        read_extxyz(unlabelled)
    with pytest.raises(IonflowInputError, match="empty"):
        write_extxyz([])
