"""Configurations to label: NEB band images and furthest-point samples of MD trajectories.

Both functions take plain arrays (what :class:`~ionflow.schemas.neb.NebImages` and an MD
trajectory's full frames hold), so this layer needs no schema and no store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ionflow.core.errors import IonflowInputError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ase import Atoms

__all__ = [
    "configs_from_band",
    "configs_from_frames",
    "furthest_point_indices",
    "structure_fingerprint",
]


def configs_from_band(
    positions: Sequence, numbers: Sequence[int], cell: Sequence, *, source: str | None = None
) -> list[Atoms]:
    """Every image of an NEB band (endpoints and saddle included) as an unlabelled ``Atoms``.

    Parameters
    ----------
    positions
        ``(n_images, n_atoms, 3)`` Cartesian positions (Å).
    numbers
        Atomic numbers, ``n_atoms``.
    cell
        ``(3, 3)`` cell (Å).
    source
        Provenance stored as ``info["source"]`` (e.g. the NEB job's uuid and hop id).

    Returns
    -------
    list[Atoms]
        One periodic configuration per image, ``info["image"]`` its index.

    Raises
    ------
    IonflowInputError
        If the band has no image or the shapes disagree.
    """
    from ase import Atoms

    pos = np.asarray(positions, dtype=float)
    nums = np.asarray(numbers, dtype=int)
    if pos.ndim != 3 or pos.shape[0] == 0 or pos.shape[1:] != (len(nums), 3):
        raise IonflowInputError(
            f"band positions of shape {pos.shape} do not match {len(nums)} atoms"
        )
    out = []
    for i, frame in enumerate(pos):
        atoms = Atoms(numbers=nums, positions=frame, cell=np.asarray(cell, float), pbc=True)
        atoms.info["image"] = i
        if source:
            atoms.info["source"] = source
        out.append(atoms)
    return out


def structure_fingerprint(atoms: Atoms, r_max: float = 6.0, n_bins: int = 24) -> np.ndarray:
    """A cheap structural descriptor: per-element-pair radial distribution histograms.

    Gaussian-smeared pair-distance histograms up to ``r_max``, one per element pair, divided
    by the number of atoms; two snapshots are close when their local environments are.

    Parameters
    ----------
    atoms
        A configuration.
    r_max
        Cutoff (Å).
    n_bins
        Histogram bins per element pair.

    Returns
    -------
    numpy.ndarray
        ``n_pairs * n_bins`` values, element pairs in sorted order.
    """
    from ase.neighborlist import neighbor_list

    i, j, d = neighbor_list("ijd", atoms, r_max)
    z = atoms.numbers
    species = sorted(set(z.tolist()))
    centres = np.linspace(0.0, r_max, n_bins)
    width = r_max / n_bins
    blocks = []
    for a_pos, za in enumerate(species):
        for zb in species[a_pos:]:
            mask = (z[i] == za) & (z[j] == zb)
            smeared = np.exp(-0.5 * ((d[mask, None] - centres[None, :]) / width) ** 2)
            blocks.append(smeared.sum(axis=0) / len(atoms))
    return np.concatenate(blocks)


def furthest_point_indices(descriptors: np.ndarray, n: int, first: int = 0) -> list[int]:
    """Greedy furthest-point selection (bohm-champagne): each pick is furthest from the picked.

    Parameters
    ----------
    descriptors
        ``(n_samples, n_features)``.
    n
        Number to select (all when ``n >= n_samples``).
    first
        Index of the first pick (deterministic).

    Returns
    -------
    list[int]
        Selected indices in the order picked.
    """
    x = np.asarray(descriptors, dtype=float)
    if x.ndim != 2 or len(x) == 0:
        raise IonflowInputError("furthest-point selection needs a non-empty (n, d) array")
    n = min(int(n), len(x))
    if n < 1:
        raise IonflowInputError(f"number of configurations to select must be >= 1, got {n}")
    picked = [int(first)]
    dist = np.linalg.norm(x - x[first], axis=1)
    while len(picked) < n:
        nxt = int(np.argmax(dist))
        picked.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(x - x[nxt], axis=1))
    return picked


def configs_from_frames(
    frames: Sequence[Atoms],
    n_select: int,
    *,
    descriptor: Callable[[Atoms], np.ndarray] | None = None,
    source: str | None = None,
) -> list[Atoms]:
    """Furthest-point selection of ``n_select`` MD snapshots on a descriptor.

    Parameters
    ----------
    frames
        Full snapshots of a trajectory (e.g. ``MDTrajectory.full_frames`` as ``Atoms``).
    n_select
        Number of configurations to keep.
    descriptor
        ``f(atoms) -> 1-D array``; default :func:`structure_fingerprint` (CHGNet's crystal
        features are another choice: ``model.predict_structure(s, return_crystal_feas=True)``).
    source
        Provenance stored as ``info["source"]``.

    Returns
    -------
    list[Atoms]
        Unlabelled copies of the selected frames, ``info["frame"]`` their index.
    """
    if len(frames) == 0:
        raise IonflowInputError("the trajectory has no frames to select from")
    describe = descriptor or structure_fingerprint
    feats = np.array([describe(atoms) for atoms in frames])
    out = []
    for idx in furthest_point_indices(feats, n_select):
        atoms = frames[idx].copy()
        atoms.calc = None
        atoms.info["frame"] = idx
        if source:
            atoms.info["source"] = source
        out.append(atoms)
    return out
