"""Checks of a disordered structure before anything expensive: occupancies, charges, counts.

Every check raises :class:`~ionflow.errors.IonflowInputError` with a message naming the problem
(the site, the species, the count), so that ``ionflow order`` exits with status 2 before any
enumeration or model call.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pymatgen.core import Composition, DummySpecies, Species

from ionflow.core.errors import IonflowInputError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pymatgen.core import Structure

__all__ = [
    "OCCUPANCY_TOL",
    "SiteGroup",
    "check_cif_occupancies",
    "check_occupancies",
    "count_bounds",
    "label_orbits",
    "oxidation_decorated",
    "site_groups",
]

logger = logging.getLogger(__name__)

#: How far from an integer an amount of atoms may be (CIFs write 1/3 as 0.333).
OCCUPANCY_TOL = 0.05

#: The pseudo species that marks a vacancy on a partially occupied site.
VACANCY = DummySpecies("X", 0)


@dataclass(frozen=True)
class SiteGroup:
    """Sites sharing one partial occupancy, ordered together.

    Attributes
    ----------
    indices
        Site indices in the structure.
    amounts
        Atoms of each species (and ``"vacancy"``) per cell over the group (not rounded).
    label
        ``"Li:0.75"``-style description, for messages.
    """

    indices: tuple[int, ...]
    amounts: dict[str, float]
    label: str


def check_occupancies(structure: Structure, tol: float = 1e-3) -> None:
    """Refuse sites whose occupancies sum to more than 1 or are negative.

    Parameters
    ----------
    structure
        Possibly disordered structure.
    tol
        Allowed excess over 1.

    Raises
    ------
    IonflowInputError
        Naming the first offending sites.
    """
    bad = []
    for i, site in enumerate(structure):
        occupancies = list(site.species.values())
        total = sum(occupancies)
        if total > 1 + tol or min(occupancies) < 0:
            bad.append(f"site {i} ({site.species.formula}) sums to {total:.3f}")
    if bad:
        raise IonflowInputError(
            "occupancies above 1 (or negative) on "
            + "; ".join(bad[:5])
            + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        )


def check_cif_occupancies(path: str | Path, tol: float = 0.01) -> None:
    """Refuse a CIF whose atoms sharing a position have occupancies summing above 1.

    pymatgen's CIF reader rescales or drops such sites, so this is checked on the file itself.

    Parameters
    ----------
    path
        The CIF (other formats are not checked).
    tol
        Allowed excess over 1.

    Raises
    ------
    IonflowInputError
        Naming the atom-site labels and their total occupancy.
    """
    path = Path(path)
    if ".cif" not in path.name.lower() or not path.is_file():
        return
    from pymatgen.io.cif import CifFile

    try:
        blocks = CifFile.from_file(path).data.values()
    except Exception:
        return
    for block in blocks:
        data = block.data
        if "_atom_site_occupancy" not in data or "_atom_site_fract_x" not in data:
            continue
        labels = data.get("_atom_site_label") or data.get("_atom_site_type_symbol")
        totals: dict[tuple[float, ...], list] = {}
        rows = zip(
            labels,
            data["_atom_site_fract_x"],
            data["_atom_site_fract_y"],
            data["_atom_site_fract_z"],
            data["_atom_site_occupancy"],
        )
        for label, x, y, z, occ in rows:
            try:
                xyz = tuple(round(_cif_float(v) % 1.0, 3) % 1.0 for v in (x, y, z))
                value = _cif_float(occ)
            except ValueError:
                continue
            entry = totals.setdefault(xyz, [0.0, []])
            entry[0] += value
            entry[1].append(label)
        bad = [f"{'+'.join(lab)} = {tot:.3f}" for tot, lab in totals.values() if tot > 1 + tol]
        if bad:
            raise IonflowInputError(
                f"{path.name}: occupancies above 1 on a site: " + "; ".join(bad[:5])
            )


def _cif_float(text: str) -> float:
    """``0.333(2)`` -> 0.333; ``1/3`` -> 0.3333."""
    text = str(text).split("(")[0].strip()
    if "/" in text:
        num, den = text.split("/")
        return float(num) / float(den)
    return float(text)


def oxidation_decorated(
    structure: Structure, oxidation_states: Mapping[str, float] | None = None
) -> Structure:
    """A copy of ``structure`` with oxidation states: given, already there, or guessed.

    Parameters
    ----------
    structure
        Possibly disordered structure.
    oxidation_states
        ``{"Li": 1, "Y": 3, "Cl": -1}``; None: keep the structure's own, else pymatgen's
        most probable charge-balanced guess (``Composition.oxi_state_guesses``).

    Returns
    -------
    Structure
        Decorated copy.

    Raises
    ------
    IonflowInputError
        When the states cannot balance the charge of the composition.
    """
    work = structure.copy()
    comp = work.composition
    if oxidation_states:
        missing = sorted({el.symbol for el in comp.elements} - set(oxidation_states))
        if missing:
            raise IonflowInputError(f"oxidation states missing for {', '.join(missing)}")
        work.remove_oxidation_states()
        work.add_oxidation_state_by_element(dict(oxidation_states))
    elif not all(isinstance(sp, Species) and sp.oxi_state is not None for sp in comp):
        guesses = _guesses(work)
        if not guesses:
            raise IonflowInputError(
                f"no charge-balanced oxidation states for {comp.formula}: give them "
                "(e.g. --oxidation-states Li=1 Y=3 Cl=-1) or check the occupancies"
            )
        work.remove_oxidation_states()
        work.add_oxidation_state_by_element(guesses[0])
        logger.info("Oxidation states guessed: %s", guesses[0])
    charge = sum(sp.oxi_state * amt for sp, amt in work.composition.items())
    if abs(charge) > 1e-3 * max(1.0, work.composition.num_atoms):
        raise IonflowInputError(
            f"the oxidation states do not balance the charge of {comp.formula}: net "
            f"{charge:+.3f} e per cell"
        )
    return work


def _guesses(structure: Structure) -> list[dict[str, float]]:
    """Pymatgen's charge-balanced guesses for the composition made integral (x1 ... x120)."""
    elements = structure.composition.element_composition
    amounts = np.array(list(elements.values()), dtype=float)
    for factor in range(1, 121):
        if np.allclose(amounts * factor, np.round(amounts * factor), atol=1e-3 * factor):
            break
    else:
        return []
    comp = Composition({el.symbol: round(amt * factor) for el, amt in zip(elements, amounts)})
    try:
        guesses = comp.oxi_state_guesses(max_sites=-50)
    except ValueError:
        return []
    return [dict(g) for g in guesses]


#: Site property naming the crystallographic orbit of the input cell a site belongs to.
ORBIT = "ordering_orbit"


def label_orbits(structure: Structure, symprec: float = 0.1) -> Structure:
    """A copy whose sites carry their crystallographic orbit (site property ``ordering_orbit``).

    The orbit survives ``make_supercell``, so the orderings of a supercell keep each orbit's
    own occupancy (Li 0.75 on 6g and 0.75 on 6h stay 3/4 on each, not 6/8 over both).

    Parameters
    ----------
    structure
        Possibly disordered structure (each distinct site composition is its own kind).
    symprec
        Symmetry tolerance (Å).

    Returns
    -------
    Structure
        The labelled copy (every site in one orbit of its own when spglib finds no symmetry).
    """
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    work = structure.copy()
    try:
        equivalent = SpacegroupAnalyzer(work, symprec=symprec).get_symmetry_dataset()
        labels = [int(i) for i in equivalent.equivalent_atoms]
    except Exception:  # no symmetry found: every site its own orbit
        labels = list(range(len(work)))
    work.add_site_property(ORBIT, labels)
    return work


def site_groups(structure: Structure) -> list[SiteGroup]:
    """Group the partially occupied sites by orbit and identical species and occupancies.

    Parameters
    ----------
    structure
        Disordered structure; sites labelled by :func:`label_orbits` are grouped per orbit,
        others by their species and occupancies alone.

    Returns
    -------
    list of SiteGroup
        One per orbit and distinct partial occupancy (fully occupied sites are left out).
    """
    groups: list[tuple[Composition, object, list[int]]] = []
    for i, site in enumerate(structure):
        if site.is_ordered:
            continue
        orbit = site.properties.get(ORBIT)
        for comp, key, members in groups:
            if key == orbit and site.species.almost_equals(comp, rtol=0, atol=1e-3):
                members.append(i)
                break
        else:
            groups.append((site.species, orbit, [i]))
    out = []
    for comp, orbit, members in groups:
        amounts = {str(sp): float(occ) * len(members) for sp, occ in comp.items()}
        vacancy = (1.0 - comp.num_atoms) * len(members)
        if vacancy > 1e-6:
            amounts["vacancy"] = vacancy
        label = ",".join(f"{sp}:{occ:.3g}" for sp, occ in comp.items())
        if orbit is not None:
            label += f" (orbit of site {orbit})"
        out.append(SiteGroup(indices=tuple(members), amounts=amounts, label=label))
    return out


def count_bounds(groups: list[SiteGroup], size: int, n_symmetry_ops: int) -> tuple[int, int]:
    """Bounds on the number of symmetry-distinct orderings of a supercell of ``size`` cells.

    Parameters
    ----------
    groups
        The site groups of the (unit-cell) structure.
    size
        Supercell size (determinant).
    n_symmetry_ops
        Symmetry operations of the supercell (translations included).

    Returns
    -------
    tuple of int
        ``(lower, upper)``: the count of all configurations (multinomial over each group)
        divided by the number of operations (an orbit holds at most that many
        configurations), and that count itself.
    """
    total = 1
    for group in groups:
        counts = [round(a * size) for a in group.amounts.values()]
        total *= _multinomial(counts)
    return max(1, math.ceil(total / max(1, n_symmetry_ops))), total


def _multinomial(counts: list[int]) -> int:
    n = sum(counts)
    out = math.factorial(n)
    for c in counts:
        out //= math.factorial(c)
    return out


def integral_amounts(groups: list[SiteGroup], size: int, tol: float = OCCUPANCY_TOL) -> bool:
    """Whether every species amount of every group is an integer in a supercell of ``size``."""
    values = np.array([a * size for g in groups for a in g.amounts.values()], dtype=float)
    return bool(np.all(np.abs(values - np.round(values)) <= tol))
