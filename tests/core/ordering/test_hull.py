"""Hull and E_hull against hand-computed energies; Boltzmann selection."""

from __future__ import annotations

import numpy as np
import pytest

from ionflow.core.errors import IonflowInputError
from ionflow.core.ordering.hull import BOLTZMANN_EV_K, boltzmann_select, convex_hull

# A = NaCl (2 atoms/fu, -8 eV/fu), B = NaBr (2 atoms/fu, -7 eV/fu); cells of 4 fu.
A, B = -8.0, -7.0


def _cell(n_cl: int, e_mix_per_fu: float) -> tuple[str, float]:
    """A 4-fu cell with n_cl Cl, energy = linear mix + e_mix_per_fu per fu."""
    x = (4 - n_cl) / 4
    formula = f"Na4Cl{n_cl}Br{4 - n_cl}" if 0 < n_cl < 4 else ("Na4Cl4" if n_cl else "Na4Br4")
    return formula, 4 * ((1 - x) * A + x * B + e_mix_per_fu)


def test_hand_computed_hull():
    configs = [
        ("A", *_cell(4, 0.0)),
        ("B", *_cell(0, 0.0)),
        ("x25", *_cell(3, -0.05)),  # stable: -0.05 eV/fu
        ("x50a", *_cell(2, -0.04)),  # stable: below the x25-B line at 0.5 (-1/30)
        ("x50b", *_cell(2, 0.02)),
        ("x75", *_cell(1, 0.0)),
    ]
    pts = {p.label: p for p in convex_hull(configs, terminals=["NaCl", "NaBr"])}
    assert pts["x25"].e_form_per_fu == pytest.approx(-0.05)
    assert pts["x25"].e_form_per_atom == pytest.approx(-0.025)
    assert pts["x25"].x == pytest.approx([0.75, 0.25])
    assert pts["x25"].n_fu == pytest.approx(4.0)
    assert pts["x50a"].on_hull
    assert pts["x25"].on_hull
    assert pts["A"].on_hull
    assert pts["B"].on_hull
    assert pts["x50a"].e_hull_per_fu == pytest.approx(0.0, abs=1e-9)
    assert pts["x50b"].e_hull_per_fu == pytest.approx(0.02 + 0.04)  # above the x50a vertex
    # at x = 0.75 the hull is the segment x50a (0.5, -0.04) - B (1, 0): -0.02
    assert pts["x75"].e_hull_per_fu == pytest.approx(0.02)
    assert pts["x75"].e_hull_per_atom == pytest.approx(0.01)
    assert not pts["x75"].on_hull


def test_energies_per_cell_of_different_sizes():
    # the same compound in a 1-fu and a 2-fu cell gives the same formation energy per fu
    pts = convex_hull(
        [
            ("A", "NaCl", A),
            ("B", "Na2Br2", 2 * B),
            ("m1", "Na2ClBr", A + B - 0.1),
            ("m2", "Na4Cl2Br2", 2 * (A + B - 0.1)),
        ],
        terminals=["NaCl", "NaBr"],
    )
    assert pts[2].e_form_per_fu == pytest.approx(pts[3].e_form_per_fu) == pytest.approx(-0.05)


@pytest.mark.parametrize(
    ("configs", "match"),
    [
        ([("A", "NaCl", A)], "no configuration of the end member"),
        ([("A", "NaCl", A), ("B", "NaBr", float("nan"))], "non-finite"),
        ([("A", "NaCl", A), ("B", "NaBr", B), ("C", "KCl", -5.0)], "outside the space"),
    ],
)
def test_hull_bad_input(configs, match):
    with pytest.raises(IonflowInputError, match=match):
        convex_hull(configs, terminals=["NaCl", "NaBr"])


def test_boltzmann_selection_reproducible_and_keeps_lowest():
    rng = np.random.default_rng(1)
    e = rng.uniform(0.0, 0.2, 60)
    groups = [i % 3 for i in range(60)]
    a = boltzmann_select(e, groups, temperature=800, seed=7)
    assert a == boltzmann_select(e, groups, temperature=800, seed=7)
    for g in range(3):
        idx = [i for i in range(60) if groups[i] == g]
        assert min(idx, key=lambda i: e[i]) in a
    # acceptance follows exp(-E/kT): the fraction kept matches its expectation
    many = [len(boltzmann_select(e, groups, seed=s)) for s in range(200)]
    expected = np.exp(-e / (BOLTZMANN_EV_K * 800)).sum()
    assert np.mean(many) == pytest.approx(expected, rel=0.1)
    # a lower temperature keeps fewer
    cold = np.mean([len(boltzmann_select(e, groups, temperature=100, seed=s)) for s in range(50)])
    assert cold < np.mean(many)


def test_boltzmann_select_n():
    e = [0.3, 0.0, 0.001, 0.5, 0.002]
    chosen = boltzmann_select(e, n_select=3, seed=3)
    assert len(chosen) == 3
    assert 1 in chosen
    assert chosen == boltzmann_select(e, n_select=3, seed=3)
    # low-E configurations dominate draws of two from many seeds
    counts = np.zeros(5)
    for s in range(300):
        for i in boltzmann_select(e, n_select=2, seed=s):
            counts[i] += 1
    assert counts[2] > counts[0] > counts[3]
    with pytest.raises(IonflowInputError, match="fewer than"):
        boltzmann_select(e, groups=[0, 1, 2, 3, 4], n_select=2)
    with pytest.raises(IonflowInputError, match="finite"):
        boltzmann_select([-1.0, 0.0])
