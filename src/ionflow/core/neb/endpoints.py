"""Endpoint checks that run before any model evaluation (milliseconds, no model needed).

Endpoint files written by other tools often list the atoms of the final state in another
order than the initial state's (sorted by species or coordinate, or with the vacancy removed at
another index). Interpolating such a pair sends atoms across the cell, and the NEB then reports
a barrier of tens of eV after minutes of work. :func:`match_endpoints` decides, from the
geometry alone, which atom of the final state is which atom of the initial state:

1. both states must hold the same atoms of each species, in the same cell;
2. per species, final atoms are assigned to initial atoms by minimum total minimum-image
   distance (:func:`scipy.optimize.linear_sum_assignment`);
3. when the given order is already such an optimal assignment, it is kept as given (a correctly
   ordered pair is never changed, whatever mechanism it describes);
4. otherwise the assignment is accepted only when it is unambiguous: exchanging the partners of
   any two atoms of one species must lengthen the total distance by at least ``margin``.
   (A vacancy hop passes: the moving ion's partner is the only final atom left once every other
   atom has found its own, much closer, partner.)

Identical endpoints (no atom moves more than ``identical_tol``) are refused too: their band
would "converge" at once to a barrier of 0 eV.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ionflow.core.errors import IonflowInputError

if TYPE_CHECKING:
    from ase import Atoms

logger = logging.getLogger(__name__)

#: Two assignments whose total distances differ by less than this (Å) count as equally good.
_TIE_TOL = 1e-3
#: Largest number of distance-matrix entries computed in one vectorised call.
_CHUNK = 20_000


@dataclass
class EndpointMatch:
    """How the atoms of the final state were matched to those of the initial state.

    Attributes
    ----------
    moving_index
        Index (in the initial state's order) of the atom that moves most: the migrating ion.
    permutation
        ``permutation[i]`` is the index in the given final state of initial atom ``i``.
    displacements
        Minimum-image displacement length of every atom (Å), initial order.
    reordered
        Whether the final state's atoms were put in another order than given.
    moving
        Atoms that move more than ``move_tol`` (initial order).
    swap_margin
        Smallest lengthening of the total distance (Å) by exchanging the partners of two
        atoms of one species (``inf`` when no species has two atoms); only computed when
        the atoms were reordered (``nan`` otherwise).
    """

    moving_index: int
    permutation: np.ndarray
    displacements: np.ndarray
    reordered: bool
    moving: list[int] = field(default_factory=list)
    swap_margin: float = float("nan")

    @property
    def hop_length(self) -> float:
        """Displacement of the migrating ion (Å)."""
        return float(self.displacements[self.moving_index])

    def describe(self) -> str:
        """One line for a log or a report."""
        order = "reordered to the initial state's order" if self.reordered else "order as given"
        return (
            f"final state {order}; atom {self.moving_index} moves {self.hop_length:.2f} Å; "
            f"{len(self.moving)} atom(s) move more than the threshold"
        )


def _as_atoms(obj: Any) -> Atoms:
    """ASE Atoms of an ASE Atoms or pymatgen Structure, Cartesian positions kept as stored."""
    if hasattr(obj, "cart_coords"):
        from pymatgen.io.ase import AseAtomsAdaptor

        atoms = AseAtomsAdaptor.get_atoms(obj)
        atoms.positions = np.array(obj.cart_coords)
        return atoms
    return obj


def _formula(counts: Counter) -> str:
    return " ".join(f"{el}{n}" for el, n in sorted(counts.items()))


def _check_species_and_cell(a: Atoms, b: Atoms, cell_tol: float) -> None:
    ca, cb = Counter(a.get_chemical_symbols()), Counter(b.get_chemical_symbols())
    if len(a) != len(b) or ca != cb:
        diff = ", ".join(
            f"{el} {ca.get(el, 0)} vs {cb.get(el, 0)}"
            for el in sorted(set(ca) | set(cb))
            if ca.get(el, 0) != cb.get(el, 0)
        )
        raise IonflowInputError(
            f"Endpoints differ in atom count or species: initial {_formula(ca)} ({len(a)} atoms), "
            f"final {_formula(cb)} ({len(b)} atoms); differing counts: {diff}. Both must be the "
            "same supercell with the mobile ion (and its vacancy) moved."
        )
    dcell = float(np.abs(np.asarray(a.cell[:]) - np.asarray(b.cell[:])).max())
    if dcell > cell_tol:
        raise IonflowInputError(
            "Endpoints must share one cell (fixed-cell NEB): their lattice vectors differ by up "
            f"to {dcell:.4f} Å (tolerance {cell_tol:g} Å)"
        )


def _mic_vectors(vectors: np.ndarray, cell: np.ndarray, pbc: Any) -> tuple[np.ndarray, np.ndarray]:
    from ase.geometry import find_mic

    return find_mic(vectors, cell, pbc=pbc)


def _mic_distance_matrix(pa: np.ndarray, pb: np.ndarray, cell: np.ndarray, pbc: Any) -> np.ndarray:
    """Minimum-image distances between every row of ``pa`` and every row of ``pb``.

    Fully periodic cells: ASE's method (wrap in the Minkowski-reduced basis, then the nearest
    of the 27 neighbouring images), with squared distances from matrix products; several
    times faster than :func:`ase.geometry.find_mic` on the n x m pairs.
    """
    out = np.empty((len(pa), len(pb)))
    rows = max(1, _CHUNK // max(len(pb), 1))
    if not np.all(pbc):
        for start in range(0, len(pa), rows):
            block = pb[None, :, :] - pa[start : start + rows, None, :]
            _, dist = _mic_vectors(block.reshape(-1, 3), cell, pbc)
            out[start : start + rows] = dist.reshape(block.shape[:2])
        return out
    from ase.geometry import minkowski_reduce

    rcell, _ = minkowski_reduce(np.asarray(cell, dtype=float))
    inv = np.linalg.inv(rcell)
    shifts = np.array(list(itertools.product((-1, 0, 1), repeat=3)), dtype=float) @ rcell
    s2 = (shifts**2).sum(axis=1)
    for start in range(0, len(pa), rows):
        frac = (pb[None, :, :] - pa[start : start + rows, None, :]) @ inv
        v = (frac - np.round(frac)) @ rcell
        d2 = (v**2).sum(axis=-1)[..., None] + 2.0 * (v @ shifts.T) + s2
        out[start : start + rows] = np.sqrt(np.clip(d2.min(axis=-1), 0.0, None))
    return out


def _ambiguous_pairs(
    dist: np.ndarray, cols: np.ndarray, margin: float
) -> tuple[float, list[tuple[int, int, float]]]:
    """2-opt test of an optimal assignment ``i -> cols[i]`` on the distance matrix ``dist``.

    Returns the smallest extra cost of exchanging two partners and the pairs ``(i, k, extra)``
    whose exchange costs less than ``margin``.
    """
    n = len(cols)
    if n < 2:
        return float("inf"), []
    p = dist[:, cols]  # p[i, k]: distance of initial atom i to the partner of k
    d = np.diag(p)
    extra = p + p.T - d[:, None] - d[None, :]
    np.fill_diagonal(extra, np.inf)
    bad = np.argwhere(np.triu(extra < margin, k=1))
    pairs = sorted(((int(i), int(k), float(extra[i, k])) for i, k in bad), key=lambda t: t[2])
    return float(extra.min()), pairs


def _assign_species(a: Atoms, b: Atoms, margin: float) -> tuple[np.ndarray, bool, float, list[str]]:
    """Per species optimal assignment of ``b``'s atoms to ``a``'s.

    Returns the permutation, whether it differs from the given order, the smallest swap margin
    (of reordered species) and a description of each ambiguous pair.
    """
    from scipy.optimize import linear_sum_assignment

    same_order = np.array_equal(a.numbers, b.numbers)
    perm = np.arange(len(a)) if same_order else np.full(len(a), -1)
    cell, pbc = np.asarray(a.cell[:]), a.pbc
    reordered, min_margin, problems = False, float("inf"), []
    for z in sorted(set(a.numbers.tolist())):
        ia, ib = np.flatnonzero(a.numbers == z), np.flatnonzero(b.numbers == z)
        dist = _mic_distance_matrix(a.positions[ia], b.positions[ib], cell, pbc)
        rows, cols = linear_sum_assignment(dist)
        best = float(dist[rows, cols].sum())
        if same_order and float(np.trace(dist)) <= best + _TIE_TOL:
            continue  # the given order is optimal: keep it as given
        reordered = True
        perm[ia[rows]] = ib[cols]
        swap, pairs = _ambiguous_pairs(dist, cols, margin)
        min_margin = min(min_margin, swap)
        for i, k, extra in pairs[:3]:
            problems.append(
                _describe_pair(a, ia[i], ia[k], dist[i, cols[i]], dist[k, cols[k]], extra)
            )
    return perm, reordered, min_margin if reordered else float("nan"), problems


def _describe_pair(a: Atoms, i: int, k: int, di: float, dk: float, extra: float) -> str:
    return (
        f"{a[i].symbol} atoms {i} and {k} of the initial state (matched partners "
        f"{di:.2f} Å and {dk:.2f} Å away; exchanging the partners adds only {extra:.2f} Å)"
    )


def _refuse_identical(a: Atoms, dist: np.ndarray, identical_tol: float) -> int:
    """Index of the atom that moves most; raises when no atom moves more than the tolerance."""
    i = int(np.argmax(dist))
    if dist[i] < identical_tol:
        raise IonflowInputError(
            "initial and final states are identical: no atom moves more than "
            f"{identical_tol:g} Å (largest displacement {dist[i]:.3f} Å, atom {i} "
            f"{a[i].symbol}); give the two minima of the hop"
        )
    return i


def _as_input_type(template: Any, out: Atoms, perm: np.ndarray) -> Any:
    """``out`` as the type of ``template`` (ASE Atoms, or a pymatgen Structure)."""
    if not hasattr(template, "cart_coords"):
        return out
    from pymatgen.core import Structure

    sites = [template[int(j)] for j in perm]
    props = {key: [s.properties.get(key) for s in sites] for key in template.site_properties}
    return Structure(
        template.lattice,
        [s.species for s in sites],
        out.positions,
        coords_are_cartesian=True,
        site_properties=props or None,
    )


def match_endpoints(
    initial: Any,
    final: Any,
    *,
    margin: float = 0.5,
    identical_tol: float = 0.1,
    move_tol: float = 0.5,
    cell_tol: float = 1e-3,
) -> tuple[Any, int, EndpointMatch]:
    """Put the final state's atoms in the initial state's order, unwrapped, or refuse the pair.

    See the module docstring for the rules. Costs milliseconds for a few hundred atoms.

    Parameters
    ----------
    initial, final
        Endpoint structures (ASE ``Atoms`` or pymatgen ``Structure``), atoms in any order.
    margin
        Reordered atoms are accepted only when exchanging the partners of any two atoms of one
        species lengthens the total distance by at least this (Å).
    identical_tol
        The pair is refused as identical when no atom moves more than this (Å).
    move_tol
        Atoms moving more than this (Å) are listed in ``report.moving``.
    cell_tol
        Largest difference between the two cells' lattice vector components (Å).

    Returns
    -------
    final, moving_index, report
        The final state in the initial state's atom order, every atom at the minimum image
        nearest its initial position (same type as ``final``); the index of the atom that moves
        most (the migrating ion); an :class:`EndpointMatch`.

    Raises
    ------
    IonflowInputError
        Species counts or cells differ, the endpoints are identical, or the atoms of the final
        state cannot be matched unambiguously (the message names the atoms).

    Examples
    --------
    >>> from ase.build import bulk
    >>> a = bulk("Cu", cubic=True).repeat(2)
    >>> site = a.positions[1].copy()
    >>> del a[1]  # a vacancy next to atom 0
    >>> b = a.copy()
    >>> b.positions[0] = site  # atom 0 hops into it
    >>> shuffled = b[[2, 1, 0, *range(3, len(b))]]  # listed in another order
    >>> matched, moving, report = match_endpoints(a, shuffled)
    >>> moving, report.reordered, round(report.hop_length, 2)
    (0, True, 2.55)
    """
    a, b = _as_atoms(initial), _as_atoms(final)
    _check_species_and_cell(a, b, cell_tol)
    perm, reordered, swap_margin, problems = _assign_species(a, b, margin)
    if problems:
        raise IonflowInputError(
            "Cannot tell which atom of the final state is which atom of the initial state: "
            + "; ".join(problems)
            + f" (required: at least {margin:g} Å). List the final state's atoms in the "
            "initial state's order, or check that the endpoints describe one hop."
        )
    out = b[perm] if reordered else b.copy()
    disp, dist = _mic_vectors(out.positions - a.positions, np.asarray(a.cell[:]), a.pbc)
    out.positions = a.positions + disp
    moving_index = _refuse_identical(a, dist, identical_tol)
    report = EndpointMatch(
        moving_index=moving_index,
        permutation=perm,
        displacements=dist,
        reordered=reordered,
        moving=[int(i) for i in np.flatnonzero(dist > move_tol)],
        swap_margin=swap_margin,
    )
    if reordered:
        logger.info("Endpoints matched: %s", report.describe())
    return _as_input_type(final, out, perm), moving_index, report


def check_endpoints(initial: Atoms, final: Atoms, *, identical_tol: float = 0.1) -> None:
    """Checks of endpoints taken as given (same atom order): species, cell, not identical.

    Raises
    ------
    IonflowInputError
        The atom counts, species order or cells differ, or no atom moves more than
        ``identical_tol`` (Å, minimum image).
    """
    if len(initial) != len(final):
        raise IonflowInputError(
            f"Endpoints differ in atom count: {len(initial)} vs {len(final)} atoms"
        )
    if list(initial.numbers) != list(final.numbers):
        raise IonflowInputError("Endpoints must hold the same species in the same order")
    if not np.allclose(initial.cell[:], final.cell[:], atol=1e-4):
        raise IonflowInputError("Endpoints must share one cell (fixed-cell NEB)")
    _, dist = _mic_vectors(final.positions - initial.positions, initial.cell[:], initial.pbc)
    _refuse_identical(initial, dist, identical_tol)


def unwrap_final(initial: Atoms, final: Atoms) -> Atoms:
    """Copy of ``final`` whose atoms sit at the minimum-image position nearest ``initial``.

    Endpoint files are often wrapped into the cell; interpolating a wrapped pair would send an
    ion across the whole cell. Hops are shorter than half the supercell, so the minimum image
    is the intended one. Atoms are taken in the given order (see :func:`match_endpoints`).
    """
    out = final.copy()
    disp, _ = _mic_vectors(final.positions - initial.positions, initial.cell, initial.pbc)
    out.positions = initial.positions + disp
    return out


def detect_moving_index(initial: Any, final: Any) -> int:
    """Index of the atom that moves most (minimum image) between two endpoint structures.

    Accepts pymatgen ``Structure`` or ASE ``Atoms``; atoms are taken in the given order (use
    :func:`match_endpoints` for endpoints whose atoms may be listed in another order).
    """
    if hasattr(initial, "cart_coords"):
        a, b, cell = initial.cart_coords, final.cart_coords, initial.lattice.matrix
    else:
        a, b, cell = initial.positions, final.positions, initial.cell[:]
    _, dist = _mic_vectors(np.asarray(b) - np.asarray(a), cell, True)
    return int(np.argmax(dist))
