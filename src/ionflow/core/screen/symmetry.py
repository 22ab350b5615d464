"""Space-group operations of a perfect supercell, as permutations of its sites."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree

from ionflow.core.errors import IonflowInputError

if TYPE_CHECKING:
    from pymatgen.core import Structure

__all__ = ["SupercellSymmetry"]


def _wrap(frac: np.ndarray) -> np.ndarray:
    out = np.mod(frac, 1.0)
    out[out >= 1.0] = 0.0  # -1e-17 % 1 == 1.0
    return out


@dataclass
class SupercellSymmetry:
    """The symmetry operations of a perfect (defect-free) supercell and how they move its sites.

    Operations are spglib's, in fractional coordinates of the supercell: ``x' = R x + t``.
    They include the pure translations of the parent cell inside the supercell, and only the
    operations the supercell itself keeps (a supercell may break some of the parent's).

    Parameters
    ----------
    structure
        The perfect supercell.
    rotations, translations
        ``(n_ops, 3, 3)`` integer rotations and ``(n_ops, 3)`` translations (fractional).
    tol
        Largest distance (Å) between an operated site and the site it lands on.
    """

    structure: Structure
    rotations: np.ndarray
    translations: np.ndarray
    tol: float
    _perms: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def from_structure(cls, structure: Structure, symprec: float = 0.1) -> SupercellSymmetry:
        """Operations of ``structure`` found by spglib at ``symprec`` (Å)."""
        from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

        ops = SpacegroupAnalyzer(structure, symprec=symprec).get_symmetry_operations()
        rot = np.array([np.round(op.rotation_matrix) for op in ops], dtype=float)
        tr = np.array([op.translation_vector for op in ops], dtype=float)
        return cls(structure, rot, tr, tol=max(2.0 * symprec, 0.05))

    def __post_init__(self) -> None:
        self._frac = _wrap(np.asarray(self.structure.frac_coords, dtype=float))
        self._tree = cKDTree(self._frac, boxsize=1.0)
        self._species = [site.species_string for site in self.structure]
        self._matrix = np.asarray(self.structure.lattice.matrix, dtype=float)

    @property
    def n_ops(self) -> int:
        """Number of operations."""
        return len(self.rotations)

    def find_sites(self, frac: np.ndarray) -> np.ndarray:
        """Index of the supercell site at each fractional point (modulo the supercell), or -1.

        A point matches the nearest site (minimum image, Cartesian) within :attr:`tol`.
        """
        frac = np.atleast_2d(np.asarray(frac, dtype=float))
        k = min(4, len(self._frac))
        _, cand = self._tree.query(_wrap(frac), k=k)
        cand = np.asarray(cand).reshape(len(frac), k)
        diff = self._frac[cand] - frac[:, None, :]
        diff -= np.round(diff)
        dist = np.linalg.norm(diff @ self._matrix, axis=-1)
        best = np.argmin(dist, axis=1)
        idx = cand[np.arange(len(frac)), best]
        idx[dist[np.arange(len(frac)), best] > self.tol] = -1
        return idx

    def image(self, op: int, site: int) -> int:
        """Index of the site that operation ``op`` sends site ``site`` to."""
        return int(self.permutation(op)[site])

    def permutation(self, op: int) -> np.ndarray:
        """``perm[i]``: index of the site that operation ``op`` sends site ``i`` to.

        Raises
        ------
        IonflowInputError
            The operation does not map the supercell onto itself (inconsistent tolerance).
        """
        if op not in self._perms:
            moved = self._frac @ self.rotations[op].T + self.translations[op]
            perm = self.find_sites(moved)
            if np.any(perm < 0) or len(set(perm.tolist())) != len(perm):
                raise IonflowInputError(
                    f"symmetry operation {op} does not map the supercell onto itself within "
                    f"{self.tol:g} Å; try another symprec"
                )
            if any(self._species[i] != self._species[j] for i, j in enumerate(perm)):
                raise IonflowInputError(f"symmetry operation {op} exchanges different species")
            self._perms[op] = perm
        return self._perms[op]

    def cart_rotation(self, op: int) -> np.ndarray:
        """Cartesian rotation of operation ``op``: a vector ``v`` (Å) becomes ``R @ v``."""
        m = self._matrix.T  # columns: lattice vectors
        return m @ self.rotations[op] @ np.linalg.inv(m)

    def orbit(self, site: int) -> set[int]:
        """Sites equivalent to ``site`` under the operations."""
        return {self.image(op, site) for op in range(self.n_ops)}

    def ops_between(self, source: int, target: int) -> list[int]:
        """Operations that send site ``source`` to site ``target`` (cheapest test first)."""
        point = self._frac[source]
        moved = np.einsum("oij,j->oi", self.rotations, point) + self.translations
        hits = self.find_sites(moved)
        return [int(op) for op in np.flatnonzero(hits == target)]
