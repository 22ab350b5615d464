"""Configurations from NEB bands and MD frames; strained copies."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from ionflow.core.errors import IonflowInputError
from ionflow.core.training import (
    configs_from_band,
    configs_from_frames,
    furthest_point_indices,
    strain_configs,
    structure_fingerprint,
)


def test_every_band_image_becomes_a_configuration():
    cell = np.eye(3) * 5.0
    positions = np.zeros((7, 2, 3))
    positions[:, 1, 0] = np.linspace(1.0, 3.0, 7)
    configs = configs_from_band(positions, [3, 8], cell, source="neb job abc")
    assert len(configs) == 7
    assert [a.info["image"] for a in configs] == list(range(7))
    assert configs[3].positions[1, 0] == pytest.approx(2.0)
    assert configs[0].info["source"] == "neb job abc"
    with pytest.raises(IonflowInputError, match="do not match"):
        configs_from_band(positions, [3], cell)


def test_furthest_point_selection_spreads_out():
    x = np.array([[0.0], [0.1], [0.2], [5.0], [10.0], [10.1]])
    picked = furthest_point_indices(x, 3)
    assert picked[0] == 0
    assert set(picked) == {0, 5, 3}
    assert furthest_point_indices(x, 99) == furthest_point_indices(x, 6)
    with pytest.raises(IonflowInputError):
        furthest_point_indices(np.zeros((0, 2)), 1)


def test_md_frames_selected_on_a_fingerprint():
    rng = np.random.default_rng(0)
    base = bulk("Cu", "fcc", a=3.61, cubic=True)
    frames = []
    for amp in (0.0, 0.01, 0.02, 0.3, 0.31, 0.6):
        atoms = base.copy()
        atoms.positions += rng.normal(0, amp, atoms.positions.shape) if amp else 0
        frames.append(atoms)
    fp = structure_fingerprint(frames[0])
    assert fp.ndim == 1
    assert np.all(np.isfinite(fp))
    chosen = configs_from_frames(frames, 3, source="md 600K")
    frames_idx = [a.info["frame"] for a in chosen]
    assert frames_idx[0] == 0
    assert len(set(frames_idx) & {0, 1, 2}) == 1  # near-duplicates are not picked twice
    assert chosen[0].calc is None
    with pytest.raises(IonflowInputError, match="no frames"):
        configs_from_frames([], 2)


def test_strained_copies():
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True)
    minus, plus = strain_configs(atoms)
    assert minus.cell.lengths()[0] == pytest.approx(3.61 * 0.97)
    assert plus.cell.lengths()[0] == pytest.approx(3.61 * 1.03)
    assert plus.info["strain"] == pytest.approx(0.03)
    assert np.allclose(plus.get_scaled_positions(), atoms.get_scaled_positions())
    with pytest.raises(IonflowInputError, match="fractions"):
        strain_configs(atoms, strains=(3,))
