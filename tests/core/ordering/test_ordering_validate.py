"""Bad input named before anything expensive: occupancies, charges, the ordering count."""

from __future__ import annotations

import pytest
from pymatgen.core import Lattice, Structure

from ionflow.core.errors import IonflowInputError
from ionflow.core.ordering import (
    check_cif_occupancies,
    find_integral_supercell,
    order_structure,
    oxidation_decorated,
    plan_ordering,
)


@pytest.mark.parametrize(
    "rows",
    [
        "Li1 Li 0 0 0 1.3\nCl1 Cl 0.5 0.5 0.5 1",
        "Li1 Li 0 0 0 0.6(1)\nNa1 Na 0 0 0 0.6\nCl1 Cl 0.5 0.5 0.5 1",
    ],
)
def test_occupancy_above_one_in_a_cif(p1_cif, rows):
    with pytest.raises(IonflowInputError, match="occupancies above 1"):
        check_cif_occupancies(p1_cif(rows))


def test_a_good_cif_passes(p1_cif):
    check_cif_occupancies(p1_cif("Li1 Li 0 0 0 0.5\nNa1 Na 0 0 0 0.5\nCl1 Cl 0.5 0.5 0.5 1"))


def _rocksalt(cation: dict) -> Structure:
    return Structure(Lattice.cubic(4.0), [cation, "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def test_charge_that_cannot_balance_is_named():
    with pytest.raises(IonflowInputError, match="no charge-balanced oxidation states"):
        oxidation_decorated(_rocksalt({"Li": 0.5}))
    with pytest.raises(IonflowInputError, match="do not balance"):
        oxidation_decorated(_rocksalt({"Li": 0.5, "Na": 0.5}), {"Li": 1, "Na": 2, "Cl": -1})
    with pytest.raises(IonflowInputError, match="missing for Na"):
        oxidation_decorated(_rocksalt({"Li": 0.5, "Na": 0.5}), {"Li": 1, "Cl": -1})


def test_guessed_and_given_oxidation_states():
    s = oxidation_decorated(_rocksalt({"Li": 0.5, "Mg": 0.25}))
    assert {sp.symbol: sp.oxi_state for sp in s.composition} == {"Li": 1, "Mg": 2, "Cl": -1}


def _limgof(n: int = 2) -> Structure:
    s = Structure(
        Lattice.cubic(4.0),
        [{"Li": 0.5, "Mg": 0.5}, {"O": 0.5, "F": 0.5}],
        [[0, 0, 0], [0.5, 0.5, 0.5]],
    )
    s.make_supercell([n, n, n])
    return s


def test_too_many_orderings_is_an_error_naming_the_count():
    with pytest.raises(IonflowInputError, match=r"at least [\d,]+ symmetry-distinct orderings"):
        plan_ordering(_limgof(2), max_orderings=3)
    # the exact count (shry) when the lower bound is below the cap
    with pytest.raises(IonflowInputError, match=r"exactly 52 symmetry-distinct"):
        plan_ordering(_limgof(2), max_orderings=50, enumerator="shry")


def test_every_bad_input_stops_before_any_model(monkeypatch):
    import ionflow.mlip

    def boom(*_a, **_k):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(ionflow.mlip, "get_evaluator", boom)
    for structure, kwargs in [
        (_rocksalt({"Li": 0.5}), {}),
        (_rocksalt({"Li": 1 / 3, "Na": 2 / 3}), {"max_atoms": 4}),
        (_limgof(2), {"max_orderings": 3}),
    ]:
        with pytest.raises(IonflowInputError):
            order_structure(structure, model="chgnet", **kwargs)


def test_plan_of_an_ordered_structure():
    s = _rocksalt({"Li": 1.0})
    plan = plan_ordering(s)
    assert plan.supercell.size == 1
    assert find_integral_supercell(s).n_atoms == 2
