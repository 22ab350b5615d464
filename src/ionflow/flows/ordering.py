"""Disordered inputs in flows: order first, then run on the lowest or selected orderings.

A partially occupied structure (garnet LLZO, NaSICON, Li3YCl6, a doped variant) cannot be
screened or simulated as is. The flows put an ordering job in front
(:class:`~ionflow.jobs.ordering.OrderingMaker`: enumeration, Ewald pre-ranking, MLIP ranking,
Boltzmann weights) and run on its output:

- the hop screen on the lowest ordering (:func:`ordered_structure_job`), refused with a clear
  message when that ordering has more hops than a cap (N distinct sites give N² hops; a
  low-symmetry ordering easily has dozens) -- conductivity MD is the papers' tool there;
- conductivity MD on the N orderings selected by Boltzmann weight, the lowest always
  (:func:`select_orderings`, used by :class:`~ionflow.flows.conductivity.ConductivityFlow`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
from jobflow import job
from pymatgen.core import Structure

from ionflow.core.errors import IonflowInputError
from ionflow.core.hops import enumerate_hops, normalize_species
from ionflow.jobs.ordering import OrderingMaker

if TYPE_CHECKING:
    from collections.abc import Sequence

    from jobflow import Job

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MAX_HOPS",
    "check_hop_count",
    "check_orderable",
    "lowest_ordering",
    "ordered_structure_job",
    "ordering_rows",
    "select_orderings",
]

#: Hop cap of a screen on an ordering of a disordered structure (N distinct sites -> N² hops).
DEFAULT_MAX_HOPS = 50


def _get(doc: Any, key: str, default: Any = None) -> Any:
    if doc is None:
        return default
    if isinstance(doc, dict):
        return doc.get(key, default)
    return getattr(doc, key, default)


def _structure(value: Any) -> Structure:
    return Structure.from_dict(value) if isinstance(value, dict) else value


def ordering_rows(ordering_doc: Any) -> list[dict[str, Any]]:
    """The orderings of an ordering document as plain dicts, lowest energy first.

    Parameters
    ----------
    ordering_doc
        Output of :class:`~ionflow.jobs.ordering.OrderingMaker` (document or dict).

    Returns
    -------
    list of dict
        ``structure`` (a Structure), ``weight``, ``energy_per_atom_eV``, ``space_group`` and
        the original ``index`` (rank) of each ordering.
    """
    rows = []
    for k, o in enumerate(_get(ordering_doc, "orderings") or []):
        row = o.model_dump() if hasattr(o, "model_dump") else dict(o)
        row["structure"] = _structure(_get(o, "structure"))
        row.setdefault("index", k)
        rows.append(row)
    if not rows:
        raise IonflowInputError("the ordering job produced no ordering")
    return rows


def check_hop_count(
    structure: Structure,
    species: str = "Li",
    max_hops: int | None = DEFAULT_MAX_HOPS,
    symprec: float = 0.1,
    what: str = "the lowest ordering",
) -> int:
    """Count the hops of ``structure`` (N² rule) and refuse more than ``max_hops``.

    Parameters
    ----------
    structure
        An ordered structure (an ordering of a disordered one).
    species
        Mobile species.
    max_hops
        The cap (``None``: no cap).
    symprec
        Symmetry tolerance of the distinct sites (Å).
    what
        How the message names the structure.

    Returns
    -------
    int
        The number of hops.

    Raises
    ------
    IonflowInputError
        More hops than ``max_hops``, with a pointer to conductivity MD.
    """
    species = normalize_species(species)
    hops = enumerate_hops(structure, species, symprec=symprec)
    n_sites = len({h.initial.label for h in hops})
    if max_hops is not None and len(hops) > max_hops:
        raise IonflowInputError(
            f"{what} ({structure.composition.reduced_formula}, {len(structure)} atoms) has "
            f"{n_sites} distinct {species} sites and {len(hops)} hops (N² rule), more than "
            f"max_hops = {max_hops}: orderings of disordered structures have low symmetry and "
            "the hop screen explodes. Use conductivity MD instead (`ionflow conductivity "
            "STRUCTURE`, ConductivityFlow), as the papers do for disordered materials, or "
            "raise max_hops / set max_hop_length / a larger symprec"
        )
    return len(hops)


def check_orderable(
    structure: Structure,
    *,
    max_orderings: int = 2000,
    max_atoms: int = 200,
    symprec: float = 0.1,
    oxidation_states: dict[str, float] | None = None,
) -> str:
    """Check, before any model call, that ``structure`` can be ordered within the limits.

    The checks the ordering job makes first (occupancies at most 1, oxidation states that
    balance, an integral supercell within ``max_atoms``, no more symmetry-distinct orderings
    than ``max_orderings``), done here so that a command refuses bad input at once.

    Parameters
    ----------
    structure
        The partially occupied structure.
    max_orderings, max_atoms, symprec, oxidation_states
        As for :func:`ionflow.core.ordering.order_structure`.

    Returns
    -------
    str
        A one-line description: supercell, configurations, lower bound of distinct orderings.

    Raises
    ------
    IonflowInputError
        The first problem found, named.
    """
    from ionflow.core.ordering import (
        check_occupancies,
        count_bounds,
        find_integral_supercell,
        oxidation_decorated,
        site_groups,
        site_permutations,
    )

    check_occupancies(structure)
    decorated = oxidation_decorated(structure, oxidation_states)
    choice = find_integral_supercell(decorated, max_atoms=max_atoms)
    big = decorated.copy()
    big.make_supercell(choice.matrix)
    lower, total = count_bounds(site_groups(big), 1, len(site_permutations(big, symprec)))
    if lower > max_orderings:
        raise IonflowInputError(
            f"{structure.composition.reduced_formula}: at least {lower:,} symmetry-distinct "
            f"orderings in the {choice.size}-cell supercell, more than the cap of "
            f"{max_orderings:,} (--max-orderings): raise the cap or use a smaller supercell "
            "(--max-atoms)"
        )
    return (
        f"{choice.size}-cell supercell ({len(big)} sites), {total:,} configurations, "
        f"at least {lower:,} distinct orderings"
    )


@job
def lowest_ordering(
    ordering_doc: Any,
    species: str = "Li",
    max_hops: int | None = DEFAULT_MAX_HOPS,
    symprec: float = 0.1,
) -> Structure:
    """The lowest-energy ordering, checked for its hop count.

    Parameters
    ----------
    ordering_doc
        Output of the ordering job.
    species, max_hops, symprec
        See :func:`check_hop_count`.

    Returns
    -------
    Structure
        The lowest ordering (ordered).
    """
    lowest = ordering_rows(ordering_doc)[0]["structure"]
    n = check_hop_count(lowest, species, max_hops, symprec)
    logger.info("lowest ordering %s: %d hops", lowest.composition.reduced_formula, n)
    return lowest


def ordered_structure_job(
    structure: Structure,
    ordering_maker: Any = None,
    *,
    species: str = "Li",
    max_hops: int | None = DEFAULT_MAX_HOPS,
    symprec: float = 0.1,
) -> tuple[list[Job], Any]:
    """Jobs that order ``structure`` when it is disordered, and the structure to continue with.

    Parameters
    ----------
    structure
        The input structure, ordered or partially occupied.
    ordering_maker
        :class:`~ionflow.jobs.ordering.OrderingMaker` (default settings when ``None``).
    species, max_hops, symprec
        Hop-count check of the lowest ordering (see :func:`check_hop_count`).

    Returns
    -------
    tuple
        ``([], structure)`` for an ordered structure; else ``([ordering job, lowest job],
        reference to the lowest ordering)``.
    """
    if structure.is_ordered:
        return [], structure
    if ordering_maker is None:
        ordering_maker = OrderingMaker()
    order_job = ordering_maker.make(structure)
    pick = lowest_ordering(order_job.output, species, max_hops=max_hops, symprec=symprec)
    pick.name = "lowest ordering"
    return [order_job, pick], pick.output


def select_orderings(weights: Sequence[float], n: int, seed: int = 0) -> list[int]:
    """Indices of ``n`` orderings: the lowest (index 0) and ``n - 1`` drawn by weight.

    Parameters
    ----------
    weights
        Boltzmann weight of each ordering, lowest energy first.
    n
        How many to select (all when there are fewer).
    seed
        Seed of the draw (the same seed gives the same selection).

    Returns
    -------
    list of int
        Sorted indices, always including 0.
    """
    w = np.clip(np.asarray(weights, dtype=float), 0.0, None)
    if n < 1:
        raise IonflowInputError(f"n_orderings must be >= 1, got {n}")
    if len(w) <= n:
        return list(range(len(w)))
    rest = np.arange(1, len(w))
    chosen = {0}
    if w[rest].sum() > 0:
        p = w[rest] / w[rest].sum()
        # orderings of zero weight cannot be drawn without replacement: filled by rank below
        n_draw = min(n - 1, int(np.count_nonzero(p)))
        drawn = np.random.default_rng(seed).choice(rest, size=n_draw, replace=False, p=p)
        chosen |= {int(i) for i in drawn}
    for i in rest:
        if len(chosen) >= n:
            break
        chosen.add(int(i))
    return sorted(chosen)
