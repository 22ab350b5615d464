"""Tests of ionflow.core.hops.interpolate: IDPP/linear bands with image insertion."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from ase import Atoms

from ionflow.core.errors import IonflowInputError
from ionflow.core.hops import (
    build_vacancy_endpoints,
    enumerate_hops,
    interpolate_path,
    max_neighbour_gap,
)


def _toy_endpoints(hop: float = 2.0, start_x: float = 3.0) -> tuple[Atoms, Atoms]:
    """A 6 Å cubic box of 8 host atoms and a Li moving ``hop`` Å along x."""
    grid = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], float) * 3.0
    positions = np.vstack([[start_x, 1.5, 1.5], grid + 0.2])
    initial = Atoms("Li" + "O8", positions=positions, cell=[6.0] * 3, pbc=True)
    final = initial.copy()
    final.positions[0, 0] += hop
    return initial, final


def test_default_band_has_seven_images_and_exact_endpoints():
    initial, final = _toy_endpoints()
    initial.calc = object()  # anything: the images must come back without calculators
    images = interpolate_path(initial, final)
    assert len(images) == 7
    np.testing.assert_array_equal(images[0].positions, initial.positions)
    np.testing.assert_array_equal(images[-1].positions, final.positions)
    assert all(image.calc is None for image in images)
    assert images[0] is not initial
    assert images[-1] is not final
    # independent copies
    before = [image.positions.copy() for image in images]
    images[3].positions += 1.0
    for k in (2, 4):
        np.testing.assert_array_equal(images[k].positions, before[k])
    np.testing.assert_array_equal(images[0].positions, initial.positions)


def test_linear_band_is_evenly_spaced():
    initial, final = _toy_endpoints()
    images = interpolate_path(initial, final, n_images=5, method="linear")
    path = np.array([image.positions[0] for image in images])
    np.testing.assert_allclose(path[:, 0], 3.0 + np.linspace(0, 2.0, 5))
    np.testing.assert_allclose(path[:, 1:], 1.5)
    assert max_neighbour_gap(images) == pytest.approx(0.5)


@pytest.mark.parametrize("method", ["linear", "idpp"])
def test_long_hop_gets_more_images(method):
    initial, final = _toy_endpoints(hop=4.0, start_x=1.0)
    images = interpolate_path(initial, final, n_images=3, max_gap=1.0, method=method)
    assert len(images) > 3
    assert max_neighbour_gap(images) <= 1.0
    np.testing.assert_array_equal(images[-1].positions, final.positions)


def test_image_count_is_capped_with_a_warning(caplog):
    initial, final = _toy_endpoints(hop=4.0, start_x=1.0)
    with caplog.at_level(logging.WARNING, logger="ionflow.core.hops.interpolate"):
        images = interpolate_path(initial, final, n_images=3, max_gap=0.1, max_images=9)
    assert len(images) == 9
    assert "capped at max_images=9" in caplog.text


def test_hop_leaving_the_cell_is_not_wrapped():
    # Li at x = 5.5 moves +1.5 Å to x = 7.0, outside the 6 Å cell: no image may jump back
    initial, final = _toy_endpoints(hop=1.5, start_x=5.5)
    for method in ("linear", "idpp"):
        images = interpolate_path(initial, final, method=method)
        x = np.array([image.positions[0, 0] for image in images])
        assert np.all(np.diff(x) > 0), method
        assert x[-1] == pytest.approx(7.0)
        assert max_neighbour_gap(images) < 0.5


def test_idpp_on_real_vacancy_endpoints(na_structure):
    (hop,) = enumerate_hops(na_structure, "Na")
    initial, final = build_vacancy_endpoints(na_structure, hop, min_length=8.0).to_ase()
    images = interpolate_path(initial, final)
    assert len(images) == 7
    mover = np.array([image.positions[0] for image in images])
    # the path stays close to the straight Na-Na line and progresses monotonically
    direction = (mover[-1] - mover[0]) / hop.length
    progress = (mover - mover[0]) @ direction
    assert np.all(np.diff(progress) > 0)
    off_line = np.linalg.norm((mover - mover[0]) - np.outer(progress, direction), axis=1)
    assert off_line.max() < 0.5
    # host atoms hardly move in an unrelaxed vacancy hop
    hosts = np.array([image.positions[1:] for image in images])
    assert np.abs(hosts - hosts[0]).max() < 0.3
    assert max_neighbour_gap(images) <= 1.0


def test_idpp_does_not_depend_on_where_the_cell_boundary_is(na_structure):
    # ASE's IDPP runs without the minimum-image convention; interpolate_path centres the hop
    # first, so rigidly translating (and wrapping) the whole system must not change the band
    (hop,) = enumerate_hops(na_structure, "Na")
    initial, final = build_vacancy_endpoints(na_structure, hop, min_length=8.0).to_ase()
    reference = interpolate_path(initial, final)

    shift = initial.cell.cartesian_positions([0.45, 0.8, 0.1]) - initial.positions[0]
    frac = initial.cell.scaled_positions(initial.positions + shift)
    offsets = -np.floor(frac) @ initial.cell.array
    moved_i, moved_f = initial.copy(), final.copy()
    moved_i.positions += shift + offsets
    moved_f.positions += shift + offsets
    moved = interpolate_path(moved_i, moved_f)
    for ref, image in zip(reference, moved):
        np.testing.assert_allclose(image.positions - shift - offsets, ref.positions, atol=1e-6)


def test_max_neighbour_gap():
    initial, final = _toy_endpoints(hop=2.0)
    assert max_neighbour_gap([initial]) == 0.0
    assert max_neighbour_gap([initial, final]) == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_images": 2}, "n_images"),
        ({"n_images": 4.0}, "n_images"),
        ({"method": "spline"}, "method"),
        ({"max_gap": 0.0}, "max_gap"),
        ({"max_gap": float("inf")}, "max_gap"),
        ({"n_images": 9, "max_images": 7}, "max_images"),
    ],
)
def test_bad_arguments(kwargs, match):
    initial, final = _toy_endpoints()
    with pytest.raises(IonflowInputError, match=match):
        interpolate_path(initial, final, **kwargs)


def test_mismatched_endpoints():
    initial, final = _toy_endpoints()
    with pytest.raises(IonflowInputError, match="differ in size"):
        interpolate_path(initial, final[:-1])
    swapped = final.copy()
    swapped.numbers[0] = 11
    with pytest.raises(IonflowInputError, match="same elements"):
        interpolate_path(initial, swapped)
    strained = final.copy()
    strained.set_cell([6.5] * 3)
    with pytest.raises(IonflowInputError, match="same cell"):
        interpolate_path(initial, strained)
