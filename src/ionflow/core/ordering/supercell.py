"""The smallest supercell in which every partial occupancy becomes a whole number of atoms."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ionflow.core.errors import IonflowInputError
from ionflow.core.ordering.validate import OCCUPANCY_TOL, integral_amounts, site_groups

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from pymatgen.core import Structure

__all__ = ["SupercellChoice", "find_integral_supercell", "hnf_matrices", "min_width", "widths"]

#: Above this determinant only diagonal supercells are searched (the HNF count grows ~ n^2).
MAX_HNF_SIZE = 48


@dataclass(frozen=True)
class SupercellChoice:
    """A supercell of the input cell.

    Attributes
    ----------
    matrix
        3x3 integer scaling matrix (pymatgen's convention: rows are the new lattice vectors in
        units of the old ones).
    size
        Its determinant (number of input cells).
    n_atoms
        Atoms of each ordered structure (vacancies removed).
    n_sites
        Sites of the supercell before ordering.
    min_width
        Smallest distance between opposite faces of the supercell (Å).
    """

    matrix: tuple[tuple[int, int, int], ...]
    size: int
    n_atoms: int
    n_sites: int
    min_width: float


def hnf_matrices(n: int) -> Iterator[np.ndarray]:
    """Every lower-triangular Hermite normal form matrix of determinant ``n``.

    Parameters
    ----------
    n
        Determinant.

    Yields
    ------
    numpy.ndarray
        Rows are the superlattice vectors (pymatgen's convention): the transpose of the
        column-vector HNF ``[[a, 0, 0], [b, c, 0], [d, e, f]]`` with ``a c f = n``,
        ``0 <= b < c``, ``0 <= d, e < f`` -- each distinct superlattice once.
    """
    for a in range(1, n + 1):
        if n % a:
            continue
        for c in range(1, n // a + 1):
            if (n // a) % c:
                continue
            f = n // (a * c)
            for b, d, e in itertools.product(range(c), range(f), range(f)):
                yield np.array([[a, 0, 0], [b, c, 0], [d, e, f]]).T


def widths(lattice_matrix: np.ndarray) -> tuple[float, float, float]:
    """Distances between opposite faces of a cell (Å), smallest first."""
    m = np.asarray(lattice_matrix, dtype=float)
    volume = abs(np.linalg.det(m))
    out = [volume / np.linalg.norm(np.cross(m[i], m[j])) for i, j in ((0, 1), (1, 2), (2, 0))]
    return tuple(sorted(float(w) for w in out))


def min_width(lattice_matrix: np.ndarray) -> float:
    """Smallest distance between opposite faces of a cell (Å)."""
    return widths(lattice_matrix)[0]


def _best_shape(lattice_matrix: np.ndarray, n: int) -> tuple[np.ndarray, float]:
    """The most compact supercell of determinant ``n``.

    Each superlattice in its LLL-reduced basis; the largest smallest face-to-face width, then
    the largest second one, and so on (widths compared to 1e-3 Å); diagonal matrices win
    ties; above :data:`MAX_HNF_SIZE` only diagonal matrices are tried.
    """
    diagonal = [
        np.diag([a, b, n // (a * b)])
        for a in range(1, n + 1)
        if n % a == 0
        for b in range(1, n // a + 1)
        if (n // a) % b == 0
    ]
    candidates = diagonal if n > MAX_HNF_SIZE else diagonal + list(hnf_matrices(n))
    best, best_key = diagonal[0], None
    for hnf in candidates:
        # the matrix as it is wins a tie with its LLL-reduced basis (keeps the input's axes)
        for matrix in (hnf, _reduced(hnf, lattice_matrix)):
            key = tuple(round(w, 3) for w in widths(matrix @ lattice_matrix))
            if best_key is None or key > best_key:
                best, best_key = matrix, key
    return best, best_key[0]


def _reduced(matrix: np.ndarray, lattice_matrix: np.ndarray) -> np.ndarray:
    """The same superlattice in its LLL-reduced basis (right-handed), as a scaling matrix."""
    from pymatgen.core import Lattice

    lll = Lattice(matrix @ lattice_matrix).get_lll_reduced_lattice().matrix
    out = np.rint(lll @ np.linalg.inv(lattice_matrix)).astype(int)
    if np.linalg.det(out) < 0:
        out = -out
    return out


def find_integral_supercell(
    structure: Structure,
    *,
    max_atoms: int = 200,
    supercell: Sequence[int] | Sequence[Sequence[int]] | None = None,
    tol: float = OCCUPANCY_TOL,
) -> SupercellChoice:
    """The smallest supercell (within ``max_atoms``) in which every occupancy is integral.

    A supercell of ``n`` cells holds ``n x`` (occupancy summed over a group of equal sites)
    atoms of each species; the smallest ``n`` for which every such amount is a whole number
    (within ``tol``) is taken, in its most compact shape (the Hermite normal form of
    determinant ``n`` with the largest face-to-face width, diagonal on ties).

    Parameters
    ----------
    structure
        Disordered structure (an ordered one gives the unit cell).
    max_atoms
        Largest number of atoms of an ordered supercell.
    supercell
        Use this supercell instead of searching (3 integers or a 3x3 matrix); it must still
        make every occupancy integral.
    tol
        How far from an integer an amount may be (CIFs write 1/3 as 0.333).

    Returns
    -------
    SupercellChoice
        The matrix, its size and atom count.

    Raises
    ------
    IonflowInputError
        When no supercell of at most ``max_atoms`` atoms makes the occupancies integral, or
        the given ``supercell`` does not; the message names the site groups and amounts.
    """
    groups = site_groups(structure)
    atoms_per_cell = float(structure.composition.num_atoms)
    if supercell is not None:
        matrix = np.array(supercell, dtype=int)
        matrix = np.diag(matrix) if matrix.shape == (3,) else matrix
        if matrix.shape != (3, 3) or round(abs(np.linalg.det(matrix))) < 1:
            raise IonflowInputError(
                f"supercell must be 3 integers or a 3x3 matrix, got {supercell}"
            )
        size = round(abs(np.linalg.det(matrix)))
        if not integral_amounts(groups, size, tol):
            raise IonflowInputError(
                f"the supercell {matrix.tolist()} ({size} cells) leaves fractional atoms: "
                + _amounts_text(groups, size)
            )
        return _choice(structure, matrix, size, atoms_per_cell)
    size = 1
    while atoms_per_cell * size <= max_atoms + tol:
        if integral_amounts(groups, size, tol):
            matrix, _ = _best_shape(structure.lattice.matrix, size)
            return _choice(structure, matrix, size, atoms_per_cell)
        size += 1
    raise IonflowInputError(
        f"no supercell of at most {max_atoms} atoms makes the occupancies of "
        f"{structure.composition.reduced_formula} integral (per cell: "
        f"{_amounts_text(groups, 1)}); raise the atom limit (--max-atoms) or round the "
        "occupancies"
    )


def _choice(
    structure: Structure, matrix: np.ndarray, size: int, atoms_per_cell: float
) -> SupercellChoice:
    return SupercellChoice(
        matrix=tuple(tuple(int(v) for v in row) for row in matrix),
        size=size,
        n_atoms=round(atoms_per_cell * size),
        n_sites=len(structure) * size,
        min_width=min_width(matrix @ structure.lattice.matrix),
    )


def _amounts_text(groups: list, size: int) -> str:
    parts = []
    for group in groups:
        amounts = ", ".join(f"{sp} {a * size:.3g}" for sp, a in group.amounts.items())
        parts.append(f"[{group.label}] x{len(group.indices)} sites: {amounts}")
    return "; ".join(parts) or "none"
