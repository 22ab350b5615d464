"""CHGNet crystal graphs built with numpy: the converter's graph, without its Python loops.

``CrystalGraphConverter.forward`` spends most of its time (~50 ms for 96 atoms on a CPU, a
sixth of an MD step) in ``Graph.line_graph_adjacency_list``, a pure-Python triple loop over
bonds. :func:`crystal_graph` builds the same :class:`chgnet.graph.CrystalGraph` from the same
pymatgen neighbour list with array operations: the same directed edges in the same order, the
same undirected-edge numbering (first appearance), and the same bond-graph rows in the same
order, so CHGNet sees identical tensors (``tests/mlip/test_chgnet_graph.py`` checks this
against the converter).
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pymatgen.core import Structure

logger = logging.getLogger(__name__)


def edge_arrays(
    n_atoms: int,
    center: np.ndarray,
    neighbor: np.ndarray,
    image: np.ndarray,
    distance: np.ndarray,
    bond_cutoff: float,
) -> dict[str, np.ndarray]:
    """Atom-graph and bond-graph index arrays of CHGNet from a full neighbour list.

    Parameters
    ----------
    n_atoms
        Number of atoms.
    center, neighbor, image, distance
        The directed neighbour list (every pair in both directions), as pymatgen's
        ``Structure.get_neighbor_list`` returns it.
    bond_cutoff
        Bond-graph cutoff (Å).

    Returns
    -------
    dict
        ``atom_graph`` (E, 2), ``directed2undirected`` (E,), ``undirected2directed`` (U,),
        ``bond_graph`` (A, 5): the arrays of ``CrystalGraphConverter`` for this list.
    """
    center = np.asarray(center, dtype=np.int64)
    neighbor = np.asarray(neighbor, dtype=np.int64)
    image = np.asarray(image, dtype=np.int64).reshape(-1, 3)
    distance = np.asarray(distance, dtype=float)
    n_edges = len(center)

    # reverse of edge k = (i, j, L) is (j, i, -L); match them through one integer key
    m = int(np.abs(image).max(initial=0))
    span = 2 * m + 1

    def key(i, j, img):
        s = img + m
        return ((((i * n_atoms) + j) * span + s[:, 0]) * span + s[:, 1]) * span + s[:, 2]

    forward = key(center, neighbor, image)
    backward = key(neighbor, center, -image)
    order = np.argsort(forward, kind="stable")
    pos = np.searchsorted(forward[order], backward)
    pos = np.minimum(pos, max(n_edges - 1, 0))
    reverse = order[pos] if n_edges else pos
    if n_edges and not np.array_equal(forward[reverse], backward):
        raise ValueError("neighbour list is not symmetric: an edge has no reverse")

    # undirected edges numbered by first appearance (the converter's add_edge order)
    first = np.minimum(np.arange(n_edges), reverse)
    undirected2directed, directed2undirected = np.unique(first, return_inverse=True)

    # bond graph: for every directed bond d (length <= cutoff), in order of its undirected
    # index and then first/second direction (i.e. of (und[d], d)), every other short edge e
    # leaving the same centre, in the converter's neighbour-dict order: grouped by
    # neighbour in order of first appearance, then by edge index
    # (the converter tests the undirected edge's length: that of its first directed edge)
    bond = np.flatnonzero(distance[undirected2directed[directed2undirected]] <= bond_cutoff)
    short = np.flatnonzero(distance < bond_cutoff)
    pair_first = _first_index_per_pair(center, neighbor, np.arange(n_edges), n_atoms)[short]
    short = short[np.lexsort((short, pair_first, center[short]))]
    counts = np.bincount(center[short], minlength=n_atoms)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])

    bond = bond[np.lexsort((bond, directed2undirected[bond]))]
    n_rep = counts[center[bond]]
    d = np.repeat(bond, n_rep)
    offsets = np.arange(len(d)) - np.repeat(np.cumsum(n_rep) - n_rep, n_rep)
    e = short[np.repeat(starts[center[bond]], n_rep) + offsets]
    keep = e != d
    d, e = d[keep], e[keep]
    bond_graph = np.stack(
        [center[d], directed2undirected[d], d, directed2undirected[e], e], axis=1
    ).astype(np.int64)
    return {
        "atom_graph": np.stack([center, neighbor], axis=1),
        "directed2undirected": directed2undirected.astype(np.int64),
        "undirected2directed": undirected2directed.astype(np.int64),
        "bond_graph": bond_graph.reshape(-1, 5),
    }


def _first_index_per_pair(
    center: np.ndarray, neighbor: np.ndarray, index: np.ndarray, n_atoms: int
) -> np.ndarray:
    """For each edge, the smallest edge index with the same (centre, neighbour) pair."""
    pair = center * n_atoms + neighbor
    if len(pair) == 0:
        return pair
    uniq, inverse = np.unique(pair, return_inverse=True)
    first = np.full(len(uniq), np.iinfo(np.int64).max)
    np.minimum.at(first, inverse, index)
    return first[inverse]


def crystal_graph(converter, structure: Structure):
    """``converter(structure)`` built with :func:`edge_arrays` (same ``CrystalGraph``).

    Parameters
    ----------
    converter
        The model's ``chgnet.graph.CrystalGraphConverter`` (cutoffs, isolated-atom policy).
    structure
        The structure.

    Returns
    -------
    chgnet.graph.CrystalGraph
        The graph CHGNet's converter would return.
    """
    import torch
    from chgnet.graph.crystalgraph import CrystalGraph
    from chgnet.model.model import TORCH_DTYPE

    n_atoms = len(structure)
    center, neighbor, image, distance = structure.get_neighbor_list(
        r=converter.atom_graph_cutoff, sites=structure.sites, numerical_tol=1e-8
    )
    arrays = edge_arrays(n_atoms, center, neighbor, image, distance, converter.bond_graph_cutoff)
    n_isolated = n_atoms - len(np.unique(center))
    if n_isolated:
        msg = (
            f"Structure has {n_isolated} isolated atom(s) with "
            f"atom_graph_cutoff={converter.atom_graph_cutoff}. "
            "CHGNet calculation will likely go wrong"
        )
        if converter.on_isolated_atoms == "error":
            raise ValueError(msg)
        if converter.on_isolated_atoms == "warn":
            print(msg, file=sys.stderr)  # what the converter does
    return CrystalGraph(
        atomic_number=torch.tensor(
            [site.specie.Z for site in structure], dtype=torch.int32, requires_grad=False
        ),
        atom_frac_coord=torch.tensor(structure.frac_coords, dtype=TORCH_DTYPE, requires_grad=True),
        atom_graph=torch.tensor(arrays["atom_graph"], dtype=torch.int32),
        neighbor_image=torch.tensor(image, dtype=TORCH_DTYPE),
        directed2undirected=torch.tensor(arrays["directed2undirected"], dtype=torch.int32),
        undirected2directed=torch.tensor(arrays["undirected2directed"], dtype=torch.int32),
        bond_graph=torch.tensor(arrays["bond_graph"], dtype=torch.int32),
        lattice=torch.tensor(structure.lattice.matrix, dtype=TORCH_DTYPE, requires_grad=True),
        graph_id=None,
        mp_id=None,
        composition=structure.composition.formula,
        atom_graph_cutoff=converter.atom_graph_cutoff,
        bond_graph_cutoff=converter.bond_graph_cutoff,
    )
