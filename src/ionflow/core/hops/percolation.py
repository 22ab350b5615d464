"""Percolation barriers of the hop network (dembitskiy2025, DESIGN.md section 3).

The hops are expanded to a periodic graph on the mobile sites of the unit cell: an edge joins
site ``u`` in the home cell to site ``v`` in the cell translated by an integer ``offset``. The
graph restricted to edges of cost <= threshold percolates in *d* dimensions when a site is
connected to its own periodic images along *d* independent lattice directions. The 1D/2D/3D
percolation barrier is the smallest threshold that gives 1, 2 or 3 dimensions.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ionflow.core.errors import IonflowInputError
from ionflow.core.hops.enumerate import points_within

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from pymatgen.core import Structure

    from ionflow.core.hops.enumerate import Hop

__all__ = [
    "Edge",
    "hop_edges",
    "percolation_barriers",
    "percolation_dimension_at",
    "periodic_dimensionality",
]

logger = logging.getLogger(__name__)

_DIMENSION_KEYS = ("1D", "2D", "3D")


class Edge(NamedTuple):
    """An edge from site ``u`` (home cell) to site ``v`` in the cell shifted by ``offset``.

    ``u`` and ``v`` are site indices of the unit cell; ``offset`` is an int array of shape (3,).
    """

    u: int
    v: int
    offset: np.ndarray
    hop_id: str


def _canonical(u: int, v: int, offset: np.ndarray) -> tuple[int, int, tuple[int, ...]]:
    """The same key for an edge and its reverse ``(v, u, -offset)``."""
    off = tuple(int(x) for x in offset)
    neg = tuple(-x for x in off)
    if (u, off) <= (v, neg):
        return (u, v, off)
    return (v, u, neg)


def hop_edges(structure: Structure, hops: Sequence[Hop], length_tol: float = 0.05) -> list[Edge]:
    """Expand each hop type to all its edges in the unit cell.

    For every site ``s`` equivalent to ``hop.initial``, every site of type ``hop.final``
    (periodic images included) whose distance from ``s`` is within ``length_tol`` of
    ``hop.length`` gives an edge. Undirected duplicates within one hop type are removed (the
    forward hop i->j and the reverse hop j->i give the same undirected edges, each tagged
    with its own ``hop_id``).

    Parameters
    ----------
    structure
        The unit cell the hops were enumerated on.
    hops
        Hops from :func:`ionflow.core.hops.enumerate_hops`.
    length_tol
        Tolerance (Å) on the edge length.

    Returns
    -------
    list[Edge]
        Edges ``(u, v, offset, hop_id)``: ``v`` sits at ``frac[v] + offset``, ``u`` at
        ``frac[u]`` (fractional coordinates as stored in ``structure``).

    Notes
    -----
    Edges are matched by site types and length only: two symmetry-inequivalent i->j paths
    of the same length (within ``length_tol``) are both attributed to the hop.
    """
    if length_tol < 0:
        raise IonflowInputError(f"length_tol must be >= 0, got {length_tol}")
    frac = structure.frac_coords
    lattice = structure.lattice
    edges: list[Edge] = []
    for hop in hops:
        targets = np.asarray(hop.final.equivalent_indices, dtype=int)
        seen: set[tuple[int, int, tuple[int, ...]]] = set()
        for u in hop.initial.equivalent_indices:
            k, images, dist = points_within(
                lattice, frac[targets], frac[u], hop.length + length_tol
            )
            keep = (np.abs(dist - hop.length) <= length_tol) & (dist > 1e-8)
            for v, image in zip(targets[k[keep]], images[keep]):
                key = _canonical(int(u), int(v), image)
                if key in seen:
                    continue
                seen.add(key)
                edges.append(Edge(key[0], key[1], np.asarray(key[2], dtype=int), hop.hop_id))
    return edges


def periodic_dimensionality(
    n_nodes: int, edges_with_offsets: Iterable[tuple[int, int, Sequence[int] | np.ndarray]]
) -> int:
    """Number of independent lattice directions along which the periodic graph percolates.

    Each connected component is traversed breadth-first, giving each node the image (cell
    translation) in which it was reached; every edge not in the tree closes a cycle whose
    net translation is ``offset + image[u] - image[v]``. The dimensionality is the rank of
    these translations, maximised over components.

    Parameters
    ----------
    n_nodes
        Number of nodes; node ids run from 0 to ``n_nodes - 1``.
    edges_with_offsets
        ``(u, v, offset, ...)`` tuples (an :class:`Edge` works): ``u`` in the home cell is
        joined to ``v`` in the cell shifted by ``offset``. Extra items are ignored.

    Returns
    -------
    int
        0 (no percolation), 1, 2 or 3.
    """
    adjacency: list[list[tuple[int, np.ndarray]]] = [[] for _ in range(n_nodes)]
    for edge in edges_with_offsets:
        u, v, offset = int(edge[0]), int(edge[1]), np.asarray(edge[2], dtype=int)
        if not (0 <= u < n_nodes and 0 <= v < n_nodes):
            raise IonflowInputError(f"edge ({u}, {v}) refers to a node outside 0..{n_nodes - 1}")
        adjacency[u].append((v, offset))
        adjacency[v].append((u, -offset))

    image: list[np.ndarray | None] = [None] * n_nodes
    best = 0
    for root in range(n_nodes):
        if image[root] is not None or not adjacency[root]:
            continue
        image[root] = np.zeros(3, dtype=int)
        cycles: list[np.ndarray] = []
        queue = deque([root])
        while queue:
            u = queue.popleft()
            image_u = image[u]
            for v, offset in adjacency[u]:
                reached = image_u + offset
                image_v = image[v]
                if image_v is None:
                    image[v] = reached
                    queue.append(v)
                elif not np.array_equal(reached, image_v):
                    cycles.append(reached - image_v)
        if cycles:
            rank = int(np.linalg.matrix_rank(np.array(cycles, dtype=float)))
            best = max(best, rank)
            if best == 3:
                break
    return best


def _edge_costs(
    edges: Sequence[Edge], barriers: Mapping[str, float | None]
) -> list[tuple[float, Edge]]:
    costed: list[tuple[float, Edge]] = []
    for edge in edges:
        cost = barriers.get(edge.hop_id)
        if cost is None:
            continue
        cost = float(cost)
        if math.isnan(cost):
            continue
        costed.append((cost, edge))
    return costed


def percolation_dimension_at(
    structure: Structure,
    hops: Sequence[Hop],
    barriers: Mapping[str, float | None],
    threshold: float,
    length_tol: float = 0.05,
) -> int:
    """Percolation dimensionality of the hops whose barrier is <= ``threshold``.

    Parameters
    ----------
    structure, hops, barriers, length_tol
        As in :func:`percolation_barriers`.
    threshold
        Barrier threshold (same unit as ``barriers``, eV).

    Returns
    -------
    int
        0, 1, 2 or 3.
    """
    costed = _edge_costs(hop_edges(structure, hops, length_tol), barriers)
    return periodic_dimensionality(len(structure), [e for c, e in costed if c <= threshold])


def percolation_barriers(
    structure: Structure,
    hops: Sequence[Hop],
    barriers: Mapping[str, float | None],
    length_tol: float = 0.05,
) -> dict[str, float | None]:
    """1D, 2D and 3D percolation barriers of the hop network.

    Parameters
    ----------
    structure
        The unit cell the hops were enumerated on.
    hops
        The hops (:func:`ionflow.core.hops.enumerate_hops`).
    barriers
        Cost of each hop by ``hop_id`` (eV). Pass the barrier that makes the path usable in
        both directions, i.e. ``max(forward, reverse)`` of that hop's NEB (the saddle energy
        above the lower endpoint). Hops missing from the mapping, or mapped to None/NaN
        (failed NEB), are left out of the graph.
    length_tol
        Tolerance (Å) used to expand hops to edges (:func:`hop_edges`).

    Returns
    -------
    dict[str, float | None]
        ``{"1D": b1, "2D": b2, "3D": b3}``: the smallest threshold at which the graph of hops
        with barrier <= threshold percolates in at least that many dimensions; None where it
        never does.
    """
    costed = _edge_costs(hop_edges(structure, hops, length_tol), barriers)
    result: dict[str, float | None] = dict.fromkeys(_DIMENSION_KEYS)
    n_nodes = len(structure)
    reached = 0
    for threshold in sorted({c for c, _ in costed}):
        dimension = periodic_dimensionality(n_nodes, [e for c, e in costed if c <= threshold])
        for d in range(reached + 1, dimension + 1):
            result[_DIMENSION_KEYS[d - 1]] = float(threshold)
        reached = max(reached, dimension)
        if reached == 3:
            break
    logger.info("percolation barriers: %s", result)
    return result
