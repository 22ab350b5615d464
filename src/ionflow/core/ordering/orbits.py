"""Symmetry of a supercell as site permutations, and a brute-force orbit enumerator.

The brute-force enumerator lists every configuration and keeps one per symmetry orbit (the
lexicographically smallest image). It is exact and independent of any package, so it is the
reference the real enumerators are checked against, and the last fallback for tiny cells.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from ionflow.core.errors import IonflowInputError

if TYPE_CHECKING:
    from pymatgen.core import Structure

    from ionflow.core.ordering.validate import SiteGroup

__all__ = ["brute_force_orderings", "site_permutations"]

#: Largest number of configurations the brute-force enumerator visits.
MAX_BRUTE_FORCE = 200_000


def site_permutations(structure: Structure, symprec: float = 0.1) -> np.ndarray:
    """The space-group operations of ``structure`` as permutations of its sites.

    Parameters
    ----------
    structure
        Any structure (disordered sites count as their own kind of site); for a supercell the
        pure translations of the smaller cell are among the operations.
    symprec
        Symmetry tolerance (Å).

    Returns
    -------
    numpy.ndarray
        ``(n_ops, n_sites)``: operation ``k`` sends site ``i`` to site ``perm[k, i]``.
    """
    ops = SpacegroupAnalyzer(structure, symprec=symprec).get_symmetry_operations()
    frac = structure.frac_coords
    lattice = structure.lattice
    perms = []
    for op in ops:
        image = op.operate_multi(frac)
        diff = image[:, None, :] - frac[None, :, :]
        diff -= np.round(diff)
        dist = np.linalg.norm(diff @ lattice.matrix, axis=-1)
        target = dist.argmin(axis=1)
        if dist[np.arange(len(frac)), target].max() > symprec * 2 or len(set(target)) != len(frac):
            continue  # not a permutation at this tolerance
        perms.append(target)
    return np.unique(np.array(perms, dtype=int), axis=0)


def brute_force_orderings(
    groups: list[SiteGroup], permutations: np.ndarray, n_sites: int
) -> list[dict[int, str]]:
    """One configuration per symmetry orbit, by listing all configurations.

    Parameters
    ----------
    groups
        Site groups of the supercell (amounts integral).
    permutations
        Site permutations (:func:`site_permutations` of the supercell).
    n_sites
        Sites in the supercell.

    Returns
    -------
    list of dict
        ``{site index: species string or "vacancy"}`` for the disordered sites, one per orbit.

    Raises
    ------
    IonflowInputError
        When there are more than :data:`MAX_BRUTE_FORCE` configurations.
    """
    choices = []
    total = 1
    for group in groups:
        labels = []
        for species, amount in group.amounts.items():
            labels += [species] * round(amount)
        options = _multiset_permutations(labels)
        choices.append((group.indices, options))
        total *= len(options)
        if total > MAX_BRUTE_FORCE:
            raise IonflowInputError(
                f"more than {MAX_BRUTE_FORCE} configurations: too many for the brute-force "
                "enumerator (install shry or enumlib)"
            )
    seen: set[tuple] = set()
    out = []
    codes: dict[str, int] = {}
    for combo in itertools.product(*(opts for _, opts in choices)):
        config = np.full(n_sites, -1, dtype=int)
        assignment = {}
        for (indices, _), labels in zip(choices, combo):
            for idx, label in zip(indices, labels):
                config[idx] = codes.setdefault(label, len(codes))
                assignment[idx] = label
        # image of the configuration under each operation: site perm[i] gets config[i]
        images = np.empty((len(permutations), n_sites), dtype=int)
        images[np.arange(len(permutations))[:, None], permutations] = config[None, :]
        key = min(map(tuple, images))
        if key in seen:
            continue
        seen.add(key)
        out.append(assignment)
    return out


def _multiset_permutations(labels: list[str]) -> list[tuple[str, ...]]:
    """Distinct orderings of a multiset, without listing the duplicates first."""
    species = sorted(set(labels))
    counts = [labels.count(s) for s in species]
    n = len(labels)
    out: list[tuple[str, ...]] = []

    def place(prefix: list[str], remaining: list[int]) -> None:
        if len(prefix) == n:
            out.append(tuple(prefix))
            return
        for k, s in enumerate(species):
            if remaining[k]:
                remaining[k] -= 1
                prefix.append(s)
                place(prefix, remaining)
                prefix.pop()
                remaining[k] += 1

    place([], counts)
    return out
