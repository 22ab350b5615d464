"""Tests of ionflow.core.hops.validate: each bad input gives its own clear error."""

from __future__ import annotations

import pytest
from pymatgen.core import Lattice, Structure

from ionflow.core.errors import IonflowInputError
from ionflow.core.hops import enumerate_hops, find_mobile_sites, normalize_species
from ionflow.core.hops.validate import validate_structure


@pytest.mark.parametrize(
    ("given", "expected"),
    [("Li", "Li"), ("Li+", "Li"), ("Li1+", "Li"), ("Li+1", "Li"), ("na", "Na"), ("Mg2+", "Mg")],
)
def test_normalize_species(given, expected):
    assert normalize_species(given) == expected


@pytest.mark.parametrize("bad", ["Xx", "", "1Li", "Lithium", "Li++2"])
def test_invalid_species_symbol(li2mno3, bad):
    with pytest.raises(IonflowInputError, match="not an element symbol"):
        validate_structure(li2mno3, bad)


def test_valid_structures_pass(li2mno3, lifepo4, na_structure):
    validate_structure(li2mno3)
    validate_structure(lifepo4, "Li+")
    validate_structure(na_structure, "Na")


def test_no_mobile_species_lists_present_elements(na_structure):
    with pytest.raises(IonflowInputError, match=r"no Li site; elements present: Cl, Na"):
        validate_structure(na_structure, "Li")
    with pytest.raises(IonflowInputError, match="no Li site"):
        enumerate_hops(na_structure, "Li")


def test_partial_occupancy_is_rejected(na_structure):
    disordered = na_structure.copy()
    disordered.replace(0, {"Na": 0.5, "K": 0.5})
    with pytest.raises(
        IonflowInputError, match=r"disordered.*site 0.*OrderDisorderedStructureTransformation"
    ):
        validate_structure(disordered, "Na")
    with pytest.raises(IonflowInputError, match="must be ordered first"):
        find_mobile_sites(disordered, "Na")


def test_vacancy_partial_occupancy_is_rejected(li2mno3):
    disordered = li2mno3.copy()
    disordered.replace(5, {"Li": 0.75})
    with pytest.raises(IonflowInputError, match=r"site 5.*Li:0\.75"):
        validate_structure(disordered)


def test_overlapping_atoms_named_with_distance():
    structure = Structure(
        Lattice.cubic(5.0), ["Li", "O", "O"], [[0, 0, 0], [0.05, 0, 0], [0.5, 0.5, 0.5]]
    )
    with pytest.raises(IonflowInputError, match=r"overlap: site 0 \(Li\) and site 1 \(O\).*0\.250"):
        validate_structure(structure)
    with pytest.raises(IonflowInputError, match="overlap"):
        enumerate_hops(structure)


def test_overlap_across_the_periodic_boundary():
    structure = Structure(Lattice.cubic(5.0), ["Li", "O"], [[0.01, 0.5, 0.5], [0.97, 0.5, 0.5]])
    with pytest.raises(IonflowInputError, match=r"0\.200 Å apart"):
        validate_structure(structure)
    validate_structure(structure, min_distance=0.1)  # the threshold is configurable
