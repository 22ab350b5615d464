"""Symmetrically distinct sites of the mobile species."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from ionflow.core.errors import IonflowInputError
from ionflow.core.hops.validate import element_symbol, normalize_species, validate_structure

if TYPE_CHECKING:
    from pymatgen.core import Structure

__all__ = ["MobileSite", "find_mobile_sites"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MobileSite:
    """One symmetrically distinct site of the mobile species.

    Parameters
    ----------
    label
        ``"Li1"``, ``"Li2"``, ... numbered in order of first appearance in the structure.
    species
        Element symbol of the mobile species (no oxidation state).
    wyckoff
        Wyckoff symbol, e.g. ``"4h"``: the letter from spglib and the multiplicity of the
        conventional (standardised) cell, whatever cell was given (a primitive C2/m cell
        still gives ``"4h"``, unlike pymatgen's ``wyckoff_symbols`` which count the given
        cell).
    multiplicity
        Number of equivalent sites in the *given* cell (``len(equivalent_indices)``).
    wyckoff_multiplicity
        The number of the Wyckoff symbol (conventional cell); differs from ``multiplicity``
        for primitive cells or supercells.
    index
        Index of the representative (lowest-index) site in the given structure.
    frac_coords
        Fractional coordinates of the representative site, as stored in the structure.
    equivalent_indices
        Indices of all sites of the given structure equivalent to this one.
    """

    label: str
    species: str
    wyckoff: str
    multiplicity: int
    wyckoff_multiplicity: int
    index: int
    frac_coords: tuple[float, float, float]
    equivalent_indices: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict of the fields (no ``@module``/``@class`` keys)."""
        return {
            "label": self.label,
            "species": self.species,
            "wyckoff": self.wyckoff,
            "multiplicity": self.multiplicity,
            "wyckoff_multiplicity": self.wyckoff_multiplicity,
            "index": self.index,
            "frac_coords": list(self.frac_coords),
            "equivalent_indices": list(self.equivalent_indices),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MobileSite:
        """Rebuild a site from :meth:`as_dict` output."""
        frac = tuple(float(x) for x in d["frac_coords"])
        return cls(
            label=str(d["label"]),
            species=str(d["species"]),
            wyckoff=str(d["wyckoff"]),
            multiplicity=int(d["multiplicity"]),
            wyckoff_multiplicity=int(d["wyckoff_multiplicity"]),
            index=int(d["index"]),
            frac_coords=(frac[0], frac[1], frac[2]),
            equivalent_indices=tuple(int(i) for i in d["equivalent_indices"]),
        )


def find_mobile_sites(
    structure: Structure,
    species: str = "Li",
    symprec: float = 0.01,
    angle_tolerance: float = 5.0,
) -> list[MobileSite]:
    """Find the symmetrically distinct sites of the mobile species.

    The structure is validated first (:func:`validate_structure`), then symmetrized with
    pymatgen's ``SpacegroupAnalyzer(...).get_symmetrized_structure()``.

    Parameters
    ----------
    structure
        An ordered structure, with or without oxidation states.
    species
        The mobile species (``"Li"``, ``"Na"``, ``"Li+"``, ...).
    symprec
        Distance tolerance (Å) of the symmetry search. Slightly distorted structures may
        need a looser value (pymatgen's test LiFePO4 is P2_1/c at 0.01 and Pnma at 0.1).
    angle_tolerance
        Angle tolerance (degrees) of the symmetry search.

    Returns
    -------
    list[MobileSite]
        One entry per distinct site, in order of first appearance, labelled ``Li1``, ``Li2``...

    Raises
    ------
    IonflowInputError
        For invalid structures (see :func:`validate_structure`) or a failed symmetry search.
    """
    symbol = normalize_species(species)
    validate_structure(structure, symbol)
    try:
        analyzer = SpacegroupAnalyzer(structure, symprec=symprec, angle_tolerance=angle_tolerance)
        symmetrized = analyzer.get_symmetrized_structure()
        dataset = analyzer.get_symmetry_dataset()
        # sites per conventional cell / sites per given cell (spglib's standardised lattice)
        cells_ratio = abs(float(np.linalg.det(np.asarray(dataset.std_lattice)))) / abs(
            float(structure.volume)
        )
    except Exception as exc:
        raise IonflowInputError(
            f"symmetry analysis failed (symprec={symprec}, angle_tolerance={angle_tolerance}): "
            f"{exc}; try another symprec"
        ) from exc

    orbits = sorted(symmetrized.equivalent_indices, key=min)
    sites: list[MobileSite] = []
    for indices in orbits:
        ordered = tuple(sorted(int(i) for i in indices))
        rep = ordered[0]
        if element_symbol(structure[rep].specie) != symbol:
            continue
        # pymatgen's wyckoff_symbols count the sites of the given cell ("2h" in a primitive
        # C2/m cell); the Wyckoff multiplicity refers to the conventional cell ("4h").
        letter = str(symmetrized.wyckoff_letters[rep])
        wyckoff_multiplicity = max(1, round(len(ordered) * cells_ratio))
        frac = structure[rep].frac_coords
        sites.append(
            MobileSite(
                label=f"{symbol}{len(sites) + 1}",
                species=symbol,
                wyckoff=f"{wyckoff_multiplicity}{letter}",
                multiplicity=len(ordered),
                wyckoff_multiplicity=wyckoff_multiplicity,
                index=rep,
                frac_coords=(float(frac[0]), float(frac[1]), float(frac[2])),
                equivalent_indices=ordered,
            )
        )
    logger.info(
        "%s: space group %s, %d distinct %s site(s): %s",
        structure.composition.reduced_formula,
        analyzer.get_space_group_symbol(),
        len(sites),
        symbol,
        ", ".join(f"{s.label}({s.wyckoff})" for s in sites),
    )
    return sites
