"""Symmetry-distinct orderings of a disordered supercell, from a real enumerator.

Which enumerator runs (``enumerator="auto"``), in this order:

1. ``"enumlib"``: pymatgen's :class:`EnumerateStructureTransformation` (Hart & Forcade's
   enumlib) when ``enum.x`` and ``makestr.x`` are on ``PATH``; it enumerates every supercell
   shape of the chosen size (derivative superstructures), as bohm-champagne did.
2. ``"shry"``: SHRY's ``Substitutor`` (``pip install --no-deps shry``; its own pins of
   pymatgen/numpy are older than ionflow's, the code it uses works with both), exact Pólya
   count first, then every distinct ordering of the one chosen supercell.
3. ``"bruteforce"``: every configuration, one per orbit of the supercell's space group
   (exact; tiny cells only).
4. ``"pymatgen"``: pymatgen's Ewald-ranked :class:`OrderDisorderedStructureTransformation`
   (lowest-Ewald configurations, symmetry duplicates removed with ``StructureMatcher``); not a
   complete list, so ``exact`` is False.

The count is checked against ``max_orderings`` before any structure is made: first the lower
bound (configurations / symmetry operations), then the exact count where the enumerator gives
one. Exceeding it is an :class:`~ionflow.errors.IonflowInputError` naming the count.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pymatgen.core import Structure

from ionflow.core.errors import IonflowInputError
from ionflow.core.ordering.orbits import brute_force_orderings, site_permutations
from ionflow.core.ordering.validate import ORBIT, VACANCY, count_bounds, site_groups

if TYPE_CHECKING:
    from ionflow.core.ordering.supercell import SupercellChoice

__all__ = [
    "ENUMERATORS",
    "Enumeration",
    "available_enumerator",
    "count_orderings",
    "enumerate_orderings",
]

logger = logging.getLogger(__name__)

ENUMERATORS = ("auto", "enumlib", "shry", "bruteforce", "pymatgen")


@dataclass
class Enumeration:
    """Ordered structures of one disordered supercell.

    Attributes
    ----------
    structures
        Ordered supercells (oxidation states kept, vacancies removed).
    enumerator
        Which enumerator made them.
    n_distinct
        Number of symmetry-distinct orderings (None when the enumerator does not know it).
    n_configurations
        Number of all configurations (no symmetry).
    n_symmetry_ops
        Space-group operations of the disordered supercell (translations included).
    exact
        Whether ``structures`` is the complete list of distinct orderings.
    """

    structures: list[Structure]
    enumerator: str
    n_distinct: int | None
    n_configurations: int
    n_symmetry_ops: int
    exact: bool


def available_enumerator() -> str:
    """The enumerator ``"auto"`` picks here: enumlib, else shry, else pymatgen's."""
    if shutil.which("enum.x") and shutil.which("makestr.x"):
        return "enumlib"
    try:
        import shry  # noqa: F401
    except ImportError:
        return "pymatgen"
    return "shry"


def _too_many(count: int, cap: int, what: str, size: int) -> IonflowInputError:
    return IonflowInputError(
        f"{what} {count:,} symmetry-distinct orderings in the {size}-cell supercell, more than "
        f"the cap of {cap:,} (--max-orderings): raise the cap, or use a smaller supercell "
        "(--supercell, --max-atoms)"
    )


def enumerate_orderings(
    structure: Structure,
    supercell: SupercellChoice,
    *,
    max_orderings: int = 2000,
    enumerator: str = "auto",
    symprec: float = 0.1,
) -> Enumeration:
    """Symmetry-distinct orderings of ``structure`` in ``supercell``.

    Parameters
    ----------
    structure
        Disordered structure with oxidation states (the unit cell).
    supercell
        From :func:`~ionflow.core.ordering.supercell.find_integral_supercell`.
    max_orderings
        Cap on the number of distinct orderings; more is an error (raised before the
        structures are made).
    enumerator
        One of :data:`ENUMERATORS`.
    symprec
        Symmetry tolerance (Å).

    Returns
    -------
    Enumeration
        The structures and what is known about their number.

    Raises
    ------
    IonflowInputError
        Unknown or unavailable enumerator, or more orderings than ``max_orderings``.
    """
    if enumerator not in ENUMERATORS:
        raise IonflowInputError(f"enumerator must be one of {ENUMERATORS}, got {enumerator!r}")
    name = available_enumerator() if enumerator == "auto" else enumerator
    big = structure.copy()
    big.make_supercell(supercell.matrix)
    groups = site_groups(big)
    perms = site_permutations(big, symprec)
    lower, total = count_bounds(groups, 1, len(perms))
    logger.info(
        "Supercell %s (%d cells, %d sites, %d atoms): %s configurations, %d symmetry operations, "
        "at least %s distinct orderings",
        [list(r) for r in supercell.matrix],
        supercell.size,
        len(big),
        supercell.n_atoms,
        f"{total:,}",
        len(perms),
        f"{lower:,}",
    )
    if lower > max_orderings:
        raise _too_many(lower, max_orderings, "at least", supercell.size)
    if not groups:
        ordered = big.copy()
        return Enumeration([ordered], "none (already ordered)", 1, 1, len(perms), True)
    runner = {
        "enumlib": _enumlib,
        "shry": _shry,
        "bruteforce": _bruteforce,
        "pymatgen": _pymatgen,
    }[name]
    result = runner(big, structure, supercell, max_orderings, symprec, perms)
    result.n_configurations = total
    result.n_symmetry_ops = len(perms)
    logger.info(
        "%s: %d ordered structures%s",
        result.enumerator,
        len(result.structures),
        f" ({result.n_distinct:,} distinct)" if result.n_distinct is not None else "",
    )
    return result


def count_orderings(
    structure: Structure,
    supercell: SupercellChoice,
    *,
    max_orderings: int = 2000,
    enumerator: str = "auto",
    symprec: float = 0.1,
) -> int | None:
    """The number of distinct orderings, checked against the cap, without making any.

    Parameters
    ----------
    structure, supercell, max_orderings, enumerator, symprec
        As for :func:`enumerate_orderings`.

    Returns
    -------
    int or None
        The exact count where the enumerator gives one cheaply (shry's Pólya count), else
        None (only the lower bound was checked).

    Raises
    ------
    IonflowInputError
        More orderings than ``max_orderings`` (the message names the count).
    """
    name = available_enumerator() if enumerator == "auto" else enumerator
    if name not in ENUMERATORS[1:]:
        raise IonflowInputError(f"enumerator must be one of {ENUMERATORS}, got {enumerator!r}")
    if name == "enumlib" and not (shutil.which("enum.x") and shutil.which("makestr.x")):
        raise IonflowInputError("enumerator 'enumlib' needs enum.x and makestr.x on PATH")
    big = structure.copy()
    big.make_supercell(supercell.matrix)
    groups = site_groups(big)
    lower, _ = count_bounds(groups, 1, len(site_permutations(big, symprec)))
    if lower > max_orderings:
        raise _too_many(lower, max_orderings, "at least", supercell.size)
    if name != "shry" or not groups:
        return None
    count = int(_substitutor(big, symprec).count())
    if count > max_orderings:
        raise _too_many(count, max_orderings, "exactly", supercell.size)
    return count


def _substitutor(big: Structure, symprec: float):
    try:
        from shry import Substitutor
    except ImportError as exc:
        raise IonflowInputError(
            "enumerator 'shry' is not installed (pip install --no-deps shry)"
        ) from exc
    return Substitutor(
        _with_vacancies(big),
        symprec=min(symprec, 0.1),
        groupby=lambda s: (
            ",".join(f"{sp}:{occ:.4f}" for sp, occ in sorted(s.species.items()))
            + f"|{s.properties.get(ORBIT)}"
        ),
    )


def _with_vacancies(structure: Structure) -> Structure:
    """Fill every partial site up to 1 with the vacancy pseudo-species ``X``."""
    work = structure.copy()
    for i, site in enumerate(work):
        missing = 1.0 - site.species.num_atoms
        if missing > 1e-6:
            species = dict(site.species.items())
            species[VACANCY] = missing
            work.replace(i, species, site.frac_coords, properties=site.properties)
    return work


def _without_vacancies(structure: Structure) -> Structure:
    keep = [i for i, site in enumerate(structure) if site.specie != VACANCY]
    return Structure.from_sites([structure[i] for i in keep])


def _shry(big, _unit, supercell, cap, symprec, _perms) -> Enumeration:
    sub = _substitutor(big, symprec)
    count = int(sub.count())
    if count > cap:
        raise _too_many(count, cap, "exactly", supercell.size)
    structures = [_without_vacancies(s) for s in sub.structure_writers()]
    return Enumeration(structures, "shry", count, 0, 0, True)


def _bruteforce(big, _unit, supercell, cap, _symprec, perms) -> Enumeration:
    groups = site_groups(big)
    configs = brute_force_orderings(groups, perms, len(big))
    if len(configs) > cap:
        raise _too_many(len(configs), cap, "exactly", supercell.size)
    structures = []
    for assignment in configs:
        work = big.copy()
        drop = []
        for idx, label in assignment.items():
            if label == "vacancy":
                drop.append(idx)
            else:
                work.replace(idx, label, work[idx].frac_coords)
        work.remove_sites(drop)
        structures.append(work)
    return Enumeration(structures, "bruteforce", len(configs), 0, 0, True)


def _enumlib(big, unit, supercell, cap, symprec, _perms) -> Enumeration:
    from pymatgen.transformations.advanced_transformations import (
        EnumerateStructureTransformation,
    )

    if not shutil.which("enum.x"):
        raise IonflowInputError("enumerator 'enumlib' needs enum.x and makestr.x on PATH")
    trans = EnumerateStructureTransformation(
        min_cell_size=supercell.size,
        max_cell_size=supercell.size,
        symm_prec=symprec,
        check_ordered_symmetry=False,
        sort_criteria="ewald",
    )
    ranked = trans.apply_transformation(unit, return_ranked_list=cap + 1)
    if len(ranked) > cap:
        raise _too_many(len(ranked), cap, "more than", supercell.size)
    structures = [d["structure"] for d in ranked]
    return Enumeration(structures, "enumlib", len(structures), 0, 0, True)


def _pymatgen(big, _unit, supercell, cap, symprec, _perms) -> Enumeration:
    from pymatgen.analysis.structure_matcher import StructureMatcher
    from pymatgen.transformations.standard_transformations import (
        OrderDisorderedStructureTransformation,
    )

    trans = OrderDisorderedStructureTransformation(
        algo=OrderDisorderedStructureTransformation.ALGO_BEST_FIRST
    )
    ranked = trans.apply_transformation(big, return_ranked_list=4 * cap)
    matcher = StructureMatcher(primitive_cell=False, scale=False, attempt_supercell=False)
    kept: list[Structure] = []
    for entry in ranked:
        candidate = entry["structure"]
        if not any(matcher.fit(candidate, other) for other in kept):
            kept.append(candidate)
        if len(kept) == cap:
            break
    logger.warning(
        "pymatgen's Ewald-ranked ordering gives the %d lowest-Ewald distinct orderings, not the "
        "complete symmetry-distinct list (install shry for that)",
        len(kept),
    )
    return Enumeration(kept, "pymatgen", None, 0, 0, False)
