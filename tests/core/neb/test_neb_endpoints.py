from __future__ import annotations

import time

import numpy as np
import pytest
from ase.build import bulk
from ase.geometry import find_mic

from ionflow.core.errors import IonflowInputError
from ionflow.core.hops import build_vacancy_endpoints, enumerate_hops
from ionflow.core.neb import NebSettings, match_endpoints, run_neb
from ionflow.mlip import get_evaluator


@pytest.fixture
def cu_hop(cu_fcc):
    hop = enumerate_hops(cu_fcc, "Cu", symprec=0.1)[0]
    ends = build_vacancy_endpoints(cu_fcc, hop, min_length=7.0)
    a, b = ends.to_ase()
    return a, b, ends.moving_index


@pytest.fixture
def shuffle(cu_hop):
    """A permutation that moves the mobile ion and many other rows (a fixed seed)."""
    _, b, moving = cu_hop
    perm = np.random.default_rng(7).permutation(len(b))
    assert perm[moving] != moving
    assert (perm != np.arange(len(b))).sum() > len(b) // 2
    return perm


def _vacancy_removed_at_other_index():
    """What generic tools write: the vacancy is deleted from the supercell at another index.

    Supercell atom 0 (site A) hops into the vacancy at site B = atom 3 (a nearest neighbour).
    The initial state deletes atom 3, the final state deletes atom 0, so in the given order
    atoms 0, 1, 2 of the two states are different atoms (a cyclic shift).
    """
    cell = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2)
    initial = cell.copy()
    del initial[3]
    final_as_written = cell.copy()
    del final_as_written[0]
    final_ordered = initial.copy()
    final_ordered.positions[0] = cell.positions[3]
    return initial, final_as_written, final_ordered


def test_permuted_final_is_reordered_and_unwrapped(cu_hop, shuffle):
    a, b, moving = cu_hop
    shuffled = b[shuffle]
    shuffled.wrap()
    t0 = time.perf_counter()
    matched, found, report = match_endpoints(a, shuffled)
    assert time.perf_counter() - t0 < 1.0
    assert found == moving
    assert report.reordered
    assert report.moving == [moving]
    assert report.hop_length == pytest.approx(
        np.linalg.norm(b.positions[moving] - a.positions[moving])
    )
    assert report.swap_margin > 1.0
    np.testing.assert_allclose(matched.positions, b.positions, atol=1e-10)
    assert list(matched.numbers) == list(a.numbers)
    # permutation[i] is the given final index of initial atom i
    np.testing.assert_array_equal(shuffle[report.permutation], np.arange(len(a)))


def test_ordered_final_is_kept_as_given(cu_hop):
    """A correctly ordered pair is only unwrapped (exactly as unwrap_final does)."""
    a, b, moving = cu_hop
    wrapped = b.copy()
    wrapped.wrap()
    matched, found, report = match_endpoints(a, wrapped)
    assert not report.reordered
    assert found == moving
    disp, _ = find_mic(wrapped.positions - a.positions, a.cell, pbc=a.pbc)
    np.testing.assert_array_equal(matched.positions, a.positions + disp)
    np.testing.assert_array_equal(report.permutation, np.arange(len(a)))


def test_vacancy_removed_at_other_index_is_matched():
    initial, written, ordered = _vacancy_removed_at_other_index()
    matched, found, report = match_endpoints(initial, written)
    assert report.reordered
    assert found == 0
    assert report.moving == [0]
    np.testing.assert_array_equal(matched.positions, ordered.positions)


def test_structures_in_structures_out(cu_hop, shuffle):
    from pymatgen.io.ase import AseAtomsAdaptor

    a, b, moving = cu_hop
    sa = AseAtomsAdaptor.get_structure(a)
    sb = AseAtomsAdaptor.get_structure(b[shuffle])
    matched, found, _ = match_endpoints(sa, sb)
    assert type(matched).__name__ == "Structure"
    assert found == moving
    np.testing.assert_allclose(matched.cart_coords, b.positions, atol=1e-8)


def test_ambiguous_assignment_names_the_atoms(cu_hop, shuffle):
    """Two neighbours both displaced to near their common midpoint: either could be either."""
    a, b, moving = cu_hop
    dist = a.get_all_distances(mic=True)
    p = next(i for i in range(len(a)) if i != moving and dist[moving, i] > 3.0)
    q = next(int(j) for j in np.argsort(dist[p])[1:] if j != moving and dist[moving, j] > 3.0)
    vec = a.get_distance(p, q, mic=True, vector=True)
    mid = a.positions[p] + vec / 2
    perp = np.cross(vec, [1.0, 0.0, 0.0])
    if np.linalg.norm(perp) < 1e-6:
        perp = np.cross(vec, [0.0, 1.0, 0.0])
    perp /= np.linalg.norm(perp)
    bad = b.copy()
    bad.positions[p] = mid + 0.8 * perp
    bad.positions[q] = mid - 0.8 * perp
    ev = get_evaluator({"@module": "ase.calculators.emt", "@callable": "EMT"})
    calls = ev.n_evaluations  # the evaluator is shared by the whole process
    t0 = time.perf_counter()
    with pytest.raises(IonflowInputError, match="Cannot tell which atom") as err:
        run_neb(a, bad[shuffle], ev, moving_index=moving)
    assert time.perf_counter() - t0 < 1.0
    assert ev.n_evaluations == calls  # decided before any model evaluation
    i, k = sorted((p, q))
    assert f"Cu atoms {i} and {k}" in str(err.value)


def test_identical_endpoints_are_refused_before_any_model_call(cu_hop, emt_spec, shuffle):
    a, _, _ = cu_hop
    ev = get_evaluator(emt_spec)
    calls = ev.n_evaluations  # the evaluator is shared by the whole process
    for final, unwrap in ((a.copy(), True), (a[shuffle], True), (a.copy(), False)):
        with pytest.raises(IonflowInputError, match="initial and final states are identical"):
            run_neb(a, final, ev, unwrap=unwrap)
    with pytest.raises(IonflowInputError, match="identical"):
        match_endpoints(a, a.copy())
    assert ev.n_evaluations == calls


def test_species_counts_and_cells_must_agree(cu_hop):
    a, b, _ = cu_hop
    with pytest.raises(IonflowInputError, match=r"initial Cu31 \(31 atoms\), final Cu30"):
        match_endpoints(a, b[:-1])
    other = b.copy()
    other.symbols[3] = "Ni"
    with pytest.raises(IonflowInputError, match="Cu 31 vs 30, Ni 0 vs 1"):
        match_endpoints(a, other)
    strained = b.copy()
    strained.set_cell(b.cell[:] * 1.01, scale_atoms=False)
    with pytest.raises(IonflowInputError, match="share one cell"):
        match_endpoints(a, strained)


def test_permuted_final_gives_the_same_barrier(cu_hop, emt_spec, shuffle):
    a, b, moving = cu_hop
    shuffled = b[shuffle]
    shuffled.wrap()
    ordered = run_neb(a, b, get_evaluator(emt_spec), NebSettings(), moving_index=moving)
    permuted = run_neb(a, shuffled, get_evaluator(emt_spec), NebSettings(), moving_index=moving)
    assert ordered.converged, ordered.failure_reason
    assert permuted.converged, permuted.failure_reason
    # same band up to round-off (wrapping the shuffled file changed the last bits)
    assert permuted.barrier_forward == pytest.approx(ordered.barrier_forward, abs=1e-9)
    assert permuted.barrier_reverse == pytest.approx(ordered.barrier_reverse, abs=1e-9)
    assert permuted.n_steps == ordered.n_steps
    assert permuted.force_calls == ordered.force_calls
    np.testing.assert_allclose(permuted.positions, ordered.positions, atol=1e-8)


def test_vacancy_removed_at_other_index_gives_the_same_barrier(emt_spec):
    initial, written, ordered = _vacancy_removed_at_other_index()
    s = NebSettings(fmax=0.1)
    ref = run_neb(initial, ordered, get_evaluator(emt_spec), s, moving_index=0)
    got = run_neb(initial, written, get_evaluator(emt_spec), s, moving_index=0)
    assert ref.converged, ref.failure_reason
    assert 0.4 < ref.barrier_forward < 1.2
    assert got.barrier_forward == ref.barrier_forward
    assert got.force_calls == ref.force_calls
