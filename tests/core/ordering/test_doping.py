"""Aliovalent doping: charge balance, composition, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pymatgen.core import Lattice, Species, Structure

from ionflow.core.errors import IonflowInputError
from ionflow.core.ordering.doping import (
    aliovalent_substitution,
    integral_multiple,
    net_charge,
    parse_species,
)

LIMGPO4 = Path(__file__).parents[3] / "workflows" / "structures" / "LiMgPO4.cif"


@pytest.fixture
def limgpo4() -> Structure:
    return Structure.from_file(LIMGPO4)


def _amount(structure: Structure, element: str) -> float:
    return float(structure.composition.element_composition[element])


def test_limgpo4_to_li05mg05al05po4(limgpo4):
    r = aliovalent_substitution(limgpo4, host="Mg", dopant="Al3+", fraction=0.5)
    s = r.structure
    assert r.formula == "Li0.5Mg0.5Al0.5P1O4"
    assert (r.n_substituted, r.n_vacancies, r.n_interstitials) == (2.0, 2.0, 0.0)
    assert _amount(s, "Li") == pytest.approx(2.0)
    assert _amount(s, "Al") == pytest.approx(2.0)
    assert _amount(s, "Mg") == pytest.approx(2.0)
    assert abs(net_charge(s)) < 1e-8
    assert not s.is_ordered
    assert len(s) == len(limgpo4)
    assert r.supercell_multiple == 1
    li_occ = {round(site.species.num_atoms, 6) for site in s if "Li" in site.species_string}
    assert li_occ == {0.5}
    assert r.compensation == "vacancy"


def test_quarter_doping_needs_a_supercell(limgpo4):
    r = aliovalent_substitution(limgpo4, host="Mg", dopant="Al", fraction=0.125)
    assert r.dopant == "Al3+"  # the single common oxidation state
    assert r.supercell_multiple == 2  # 0.5 Al over 4 sites: two cells make it integral
    assert r.n_vacancies == pytest.approx(0.5)
    assert abs(net_charge(r.structure)) < 1e-8


def test_anion_doping_f_for_o_by_vacancies(limgpo4):
    o_sites = [i for i, s in enumerate(limgpo4) if s.specie.symbol == "O"][:4]
    r = aliovalent_substitution(limgpo4, host="O", dopant="F-", fraction=0.5, host_sites=o_sites)
    assert r.n_vacancies == pytest.approx(2.0)
    assert _amount(r.structure, "F") == pytest.approx(2.0)
    assert abs(net_charge(r.structure)) < 1e-8


def test_lower_charge_dopant_by_interstitials():
    # LiTi2O4 (Ti 3.5+): Al3+ on Ti lowers the charge; Li+ on empty sites balances it (LATP-like)
    s = Structure(
        Lattice.cubic(6.0),
        ["Li", "Ti", "Ti", "O", "O", "O", "O"],
        [
            [0, 0, 0],
            [0.5, 0.5, 0.5],
            [0.5, 0, 0],
            [0.25, 0.25, 0.25],
            [0.75, 0.75, 0.25],
            [0.25, 0.75, 0.75],
            [0.75, 0.25, 0.75],
        ],
    )
    states = {"Li": 1, "Ti": 3.5, "O": -2}
    r = aliovalent_substitution(
        s,
        host="Ti",
        dopant="Al3+",
        fraction=0.5,
        compensation="interstitial",
        interstitial_sites=[[0, 0.5, 0.5], [0.5, 0.5, 0]],
        oxidation_states=states,
    )
    assert r.n_interstitials == pytest.approx(0.5)
    assert len(r.structure) == len(s) + 2
    assert abs(net_charge(r.structure)) < 1e-8
    with pytest.raises(IonflowInputError, match="vacancies cannot balance"):
        aliovalent_substitution(s, host="Ti", dopant="Al3+", fraction=0.5, oxidation_states=states)
    with pytest.raises(IonflowInputError, match="interstitial sites must be empty"):
        aliovalent_substitution(
            s,
            host="Ti",
            dopant="Al3+",
            fraction=0.5,
            compensation="interstitial",
            interstitial_sites=[[0, 0, 0.02]],
            oxidation_states=states,
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"host": "Mg", "dopant": "Al3+", "fraction": 1.5}, "fraction must be in"),
        ({"host": "Mg", "dopant": "Nb5+", "fraction": 1.0}, "cannot balance"),
        ({"host": "Fe", "dopant": "Al3+", "fraction": 0.5}, "no Fe site"),
        ({"host": "Mg", "dopant": "Al3+", "fraction": 0.3, "max_atoms": 60}, "not representable"),
        ({"host": "Mg", "dopant": "Fe", "fraction": 0.5}, "ambiguous"),
        ({"host": "Mg", "dopant": "Al3+", "fraction": 0.5, "compensation": "x"}, "compensation"),
        (
            {
                "host": "Mg",
                "dopant": "Al3+",
                "fraction": 0.5,
                "oxidation_states": {"Li": 1, "Mg": 2, "P": 5, "O": -1},
            },
            "cannot balance",
        ),
    ],
)
def test_bad_input_is_named(limgpo4, kwargs, match):
    with pytest.raises(IonflowInputError, match=match):
        aliovalent_substitution(limgpo4, **kwargs)


def test_disordered_parent_refused(limgpo4):
    r = aliovalent_substitution(limgpo4, host="Mg", dopant="Al3+", fraction=0.5)
    with pytest.raises(IonflowInputError, match="must be ordered"):
        aliovalent_substitution(r.structure, host="Mg", dopant="Al3+", fraction=0.5)


def test_helpers():
    assert parse_species("Al3+") == Species("Al", 3)
    assert parse_species("F-") == Species("F", -1)
    assert parse_species("O2-") == Species("O", -2)
    with pytest.raises(IonflowInputError):
        parse_species("Xx3+")
    assert integral_multiple([0.5, 1.0], 4) == 2
    assert integral_multiple([1 / 3], 2) is None
    assert integral_multiple([1 / 3, 0.25], 12) == 12
