"""Percolation barriers of the hop network (dembitskiy2025, DESIGN.md section 3).

Each computed hop is mapped by the space group onto its symmetry images, which share its
barrier; together they form a periodic graph on the mobile sites of the unit cell: an edge joins
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


def _symmetry_operations(structure: Structure, symprec: float) -> tuple[np.ndarray, np.ndarray]:
    """Space-group operations in fractional coordinates of the given cell: ``x' = R x + t``.

    Rotations (n, 3, 3) and translations (n, 3), lattice centring translations included.
    """
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    dataset = SpacegroupAnalyzer(structure, symprec=symprec).get_symmetry_dataset()
    return np.asarray(dataset.rotations, dtype=float), np.asarray(dataset.translations, dtype=float)


def _match_sites(
    lattice_matrix: np.ndarray, frac: np.ndarray, candidates: np.ndarray, points: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest candidate site (modulo lattice translations) of each fractional point.

    Returns the site indices, the integer cell translation of each point relative to its site,
    and the Cartesian mismatch (Å).
    """
    diff = points[:, None, :] - frac[candidates][None, :, :]
    shift = np.round(diff)
    dist = np.linalg.norm((diff - shift) @ lattice_matrix, axis=2)
    best = np.argmin(dist, axis=1)
    rows = np.arange(len(points))
    return candidates[best], shift[rows, best].astype(int), dist[rows, best]


def _edges_by_symmetry(
    structure: Structure,
    hop: Hop,
    rotations: np.ndarray,
    translations: np.ndarray,
    match_tol: float,
) -> list[tuple[int, int, tuple[int, ...]]] | None:
    """Images of one hop under the space group, as canonical undirected edges.

    None when the operations are inconsistent with the hop's site classes (an operation maps
    the origin onto no site, or outside its orbit, or the orbit is not covered).
    """
    frac = structure.frac_coords
    matrix = structure.lattice.matrix
    start = np.asarray(hop.start_frac, dtype=float)
    end = np.asarray(hop.end_frac, dtype=float)
    starts = np.einsum("nij,j->ni", rotations, start) + translations
    ends = np.einsum("nij,j->ni", rotations, end) + translations
    initial = np.asarray(hop.initial.equivalent_indices, dtype=int)
    final = np.asarray(hop.final.equivalent_indices, dtype=int)
    u, tu, du = _match_sites(matrix, frac, initial, starts)
    v, tv, dv = _match_sites(matrix, frac, final, ends)
    if max(du.max(), dv.max()) > match_tol or set(u.tolist()) != set(initial.tolist()):
        return None
    keys = {_canonical(int(a), int(b), ob - oa) for a, b, oa, ob in zip(u, v, tu, tv)}
    return sorted(keys)


def _edges_by_length(
    structure: Structure, hop: Hop, length_tol: float
) -> list[tuple[int, int, tuple[int, ...]]]:
    """Every pair of sites of the hop's two types at the hop's length (within ``length_tol``)."""
    frac = structure.frac_coords
    targets = np.asarray(hop.final.equivalent_indices, dtype=int)
    keys: set[tuple[int, int, tuple[int, ...]]] = set()
    for u in hop.initial.equivalent_indices:
        k, images, dist = points_within(
            structure.lattice, frac[targets], frac[u], hop.length + length_tol
        )
        keep = (np.abs(dist - hop.length) <= length_tol) & (dist > 1e-8)
        for v, image in zip(targets[k[keep]], images[keep]):
            keys.add(_canonical(int(u), int(v), image))
    return sorted(keys)


def hop_edges(
    structure: Structure,
    hops: Sequence[Hop],
    length_tol: float = 0.05,
    symprec: float | None = 0.01,
) -> list[Edge]:
    """Expand each hop to all its symmetry images in the unit cell.

    Each hop (a computed path from one site to a given periodic image of another) is mapped
    by every operation of the space group; the images are the edges that share its barrier.
    The forward hop i->j and the reverse hop j->i give the same undirected edges, each tagged
    with its own ``hop_id``; duplicates within one hop are removed.

    Parameters
    ----------
    structure
        The unit cell the hops were enumerated on.
    hops
        Hops from :func:`ionflow.core.hops.enumerate_hops`.
    length_tol
        Tolerance (Å) on the edge length for the length-matching fallback.
    symprec
        Symmetry tolerance (Å); use the value the sites were found with. ``None`` skips the
        symmetry expansion and matches edges by site types and length only, which also
        attributes the barrier to symmetry-inequivalent paths of the same length.

    Returns
    -------
    list[Edge]
        Edges ``(u, v, offset, hop_id)``: ``v`` sits at ``frac[v] + offset``, ``u`` at
        ``frac[u]`` (fractional coordinates as stored in ``structure``).

    Notes
    -----
    When the operations found at ``symprec`` do not reproduce the hop's site classes (the
    sites were found with another tolerance), that hop falls back to length matching and a
    warning is logged.
    """
    if length_tol < 0:
        raise IonflowInputError(f"length_tol must be >= 0, got {length_tol}")
    if symprec is not None and symprec <= 0:
        raise IonflowInputError(f"symprec must be > 0 (or None for length matching), got {symprec}")
    ops = None
    if symprec is not None and hops:
        try:
            ops = _symmetry_operations(structure, symprec)
        except Exception as exc:  # spglib failure: keep going with length matching
            logger.warning("symmetry search failed (%s); matching hop edges by length", exc)
    match_tol = max(0.1, 3.0 * (symprec or 0.0))
    edges: list[Edge] = []
    for hop in hops:
        keys = None
        if ops is not None:
            keys = _edges_by_symmetry(structure, hop, *ops, match_tol=match_tol)
            if keys is None:
                logger.warning(
                    "space group at symprec=%s does not match the site classes of %s; "
                    "its edges are matched by length",
                    symprec,
                    hop.hop_id,
                )
        if keys is None:
            keys = _edges_by_length(structure, hop, length_tol)
        edges.extend(Edge(u, v, np.asarray(off, dtype=int), hop.hop_id) for u, v, off in keys)
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
    symprec: float | None = 0.01,
) -> int:
    """Percolation dimensionality of the hops whose barrier is <= ``threshold``.

    Parameters
    ----------
    structure, hops, barriers, length_tol, symprec
        As in :func:`percolation_barriers`.
    threshold
        Barrier threshold (same unit as ``barriers``, eV).

    Returns
    -------
    int
        0, 1, 2 or 3.
    """
    costed = _edge_costs(hop_edges(structure, hops, length_tol, symprec), barriers)
    return periodic_dimensionality(len(structure), [e for c, e in costed if c <= threshold])


def percolation_barriers(
    structure: Structure,
    hops: Sequence[Hop],
    barriers: Mapping[str, float | None],
    length_tol: float = 0.05,
    symprec: float | None = 0.01,
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
    length_tol, symprec
        How hops are expanded to edges (:func:`hop_edges`): ``symprec`` should be the
        tolerance the sites were found with.

    Returns
    -------
    dict[str, float | None]
        ``{"1D": b1, "2D": b2, "3D": b3}``: the smallest threshold at which the graph of hops
        with barrier <= threshold percolates in at least that many dimensions; None where it
        never does.
    """
    costed = _edge_costs(hop_edges(structure, hops, length_tol, symprec), barriers)
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
    logger.info(
        "percolation barriers: %s",
        ", ".join(f"{k} {'none' if v is None else f'{v:.3f} eV'}" for k, v in result.items()),
    )
    return result
