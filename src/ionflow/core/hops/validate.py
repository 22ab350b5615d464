"""Checks that a structure can be screened for hops of a mobile species."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
from pymatgen.core import Element

from ionflow.core.errors import IonflowInputError

if TYPE_CHECKING:
    from pymatgen.core import Structure

__all__ = ["element_symbol", "normalize_species", "validate_structure"]

_SPECIES_RE = re.compile(r"^\s*([A-Za-z]{1,3})\s*(?:\d*[+-]|[+-]\d*)?\s*$")


def normalize_species(species: str) -> str:
    """Return the element symbol of a species string.

    Parameters
    ----------
    species
        An element symbol, optionally with an oxidation state: ``"Li"``, ``"Li+"``,
        ``"Na1+"``, ``"Mg2+"``, ``"Li+1"``. Case is normalised (``"li"`` -> ``"Li"``).

    Returns
    -------
    str
        The element symbol, e.g. ``"Li"``.

    Raises
    ------
    IonflowInputError
        If the string is not an element symbol.
    """
    if not isinstance(species, str):
        raise IonflowInputError(f"mobile species must be a string such as 'Li', got {species!r}")
    match = _SPECIES_RE.match(species)
    symbol = match.group(1).capitalize() if match else ""
    if not symbol or not Element.is_valid_symbol(symbol):
        raise IonflowInputError(
            f"mobile species {species!r} is not an element symbol (expected e.g. 'Li', 'Na', 'Li+')"
        )
    return symbol


def element_symbol(specie: object) -> str:
    """Return the element symbol of a pymatgen ``Element``/``Species`` (oxidation state dropped)."""
    element = getattr(specie, "element", None)
    if element is not None:  # Species
        return str(element.symbol)
    return str(getattr(specie, "symbol", specie))


def _disordered_site_description(structure: Structure) -> str:
    for index, site in enumerate(structure):
        if not site.is_ordered:
            occupancy = ", ".join(
                f"{element_symbol(sp)}:{occ:.3g}" for sp, occ in site.species.items()
            )
            return f"site {index} at {np.round(site.frac_coords, 4).tolist()} ({occupancy})"
    return "a site"  # pragma: no cover - only called for disordered structures


def _check_occupancies(structure: Structure, tol: float = 1e-3) -> None:
    for index, site in enumerate(structure):
        total = float(site.species.num_atoms)
        if total > 1.0 + tol:
            occupancy = ", ".join(
                f"{element_symbol(sp)}:{occ:.3g}" for sp, occ in site.species.items()
            )
            raise IonflowInputError(
                f"site {index} at {np.round(site.frac_coords, 4).tolist()} has a total "
                f"occupancy of {total:.3g} ({occupancy}), above 1: fix the occupancies"
            )


def validate_structure(
    structure: Structure,
    species: str = "Li",
    min_distance: float = 0.5,
    *,
    allow_disordered: bool = False,
) -> None:
    """Check that ``structure`` can be used to enumerate hops of ``species``.

    Parameters
    ----------
    structure
        The crystal structure (with or without oxidation states).
    species
        The mobile species, an element symbol; an oxidation state (``"Li+"``) is ignored.
    min_distance
        Two atoms (periodic images included) closer than this many Å are an error.
    allow_disordered
        Accept partial occupancies (for the flows that order the structure first); a site
        whose occupancies sum above 1 is still an error. Partially occupied sites may sit
        close together (split sites), so only fully occupied sites are checked for overlap.

    Raises
    ------
    IonflowInputError
        If ``species`` is not an element symbol, the structure holds no site of that element
        (the message lists the elements present), the structure is disordered (partial
        occupancy; order it first), or two atoms overlap (the message names both sites and
        their distance).
    """
    symbol = normalize_species(species)
    if len(structure) == 0:
        raise IonflowInputError("the structure has no sites")

    if not structure.is_ordered and allow_disordered:
        _check_occupancies(structure)
    elif not structure.is_ordered:
        raise IonflowInputError(
            "the structure is disordered (partial occupancy at "
            f"{_disordered_site_description(structure)}); it must be ordered first, e.g. with "
            "pymatgen's OrderDisorderedStructureTransformation or enumlib "
            "(EnumerateStructureTransformation), and each ordering screened separately"
        )

    present = sorted({element_symbol(sp) for sp in structure.composition.elements})
    if symbol not in present:
        raise IonflowInputError(
            f"the structure ({structure.composition.reduced_formula}) has no {symbol} site; "
            f"elements present: {', '.join(present)}"
        )

    if min_distance > 0 and not structure.is_ordered:
        full = [i for i, site in enumerate(structure) if site.species.num_atoms > 1 - 1e-6]
        structure = structure.copy()
        structure.remove_sites(sorted(set(range(len(structure))) - set(full)))
    if min_distance > 0 and len(structure):
        centers, neighbors, _images, distances = structure.get_neighbor_list(
            r=float(min_distance), exclude_self=True
        )
        close = distances < min_distance
        if np.any(close):
            k = int(np.argmin(np.where(close, distances, np.inf)))
            i, j = int(centers[k]), int(neighbors[k])
            raise IonflowInputError(
                f"atoms overlap: site {i} ({structure[i].species_string}) and site {j} "
                f"({structure[j].species_string}) are {distances[k]:.3f} Å apart (periodic "
                f"images included), closer than min_distance={min_distance} Å"
            )
