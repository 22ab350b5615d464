"""Supercells and vacancy-mechanism NEB endpoints for a hop."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pymatgen.core import Lattice, PeriodicSite, Structure

from ionflow.core.errors import IonflowInputError
from ionflow.core.hops.supercell import (
    SupercellChoice,
    build_supercell,
    choose_supercell,
    supercell_matrix,
)
from ionflow.core.hops.validate import element_symbol

if TYPE_CHECKING:
    from ase import Atoms

    from ionflow.core.hops.enumerate import Hop

__all__ = [
    "HopEndpoints",
    "build_vacancy_endpoints",
    "perpendicular_widths",
    "supercell_matrix",
    "supercell_warnings",
]

logger = logging.getLogger(__name__)

_MATCH_TOL = 1e-3  # Å


@dataclass
class HopEndpoints:
    """Initial and final states of a vacancy hop in a supercell.

    Parameters
    ----------
    initial
        Supercell without the destination ion; the moving ion at ``moving_index`` sits on
        the origin.
    final
        The same atoms in the same order, the moving ion moved to the destination. Its
        coordinates are unwrapped (``initial`` position + ``hop_vector``), so they may lie
        outside the cell and a linear interpolation does not cross a cell boundary.
    moving_index
        Index of the moving ion in both structures (0).
    supercell
        ``(3, 3)`` supercell matrix: rows are the supercell vectors in units of the unit
        cell's vectors (integer, or with halves etc. when the supercell uses a centring
        translation of the unit cell).
    hop_id
        The hop's id.
    hop_vector
        Cartesian displacement (Å) of the moving ion from ``initial`` to ``final``.
    choice
        The supercell choice (rule, atoms, narrowest width, image distance).
    """

    initial: Structure
    final: Structure
    moving_index: int
    supercell: np.ndarray
    hop_id: str
    hop_vector: np.ndarray
    choice: SupercellChoice | None = None

    def to_ase(self) -> tuple[Atoms, Atoms]:
        """Return ``(initial, final)`` as ASE ``Atoms`` with positions exactly as stored.

        Positions are not wrapped into the cell; ``info`` holds ``hop_id`` and
        ``moving_index``.
        """
        return _structure_to_atoms(self.initial, self), _structure_to_atoms(self.final, self)


def _structure_to_atoms(structure: Structure, endpoints: HopEndpoints) -> Atoms:
    from ase import Atoms

    atoms = Atoms(
        symbols=[element_symbol(site.specie) for site in structure],
        positions=np.array(structure.cart_coords, dtype=float),
        cell=np.array(structure.lattice.matrix, dtype=float),
        pbc=True,
    )
    if "magmom" in structure.site_properties:
        atoms.set_initial_magnetic_moments(structure.site_properties["magmom"])
    atoms.info["hop_id"] = endpoints.hop_id
    atoms.info["moving_index"] = endpoints.moving_index
    return atoms


def _find_site(lattice: Lattice, frac_coords: np.ndarray, cart: np.ndarray) -> int | None:
    """Index of the site at ``cart`` modulo lattice translations (None if none within tol)."""
    point = lattice.get_fractional_coords(cart)
    diff = frac_coords - point
    diff -= np.round(diff)
    dist = np.linalg.norm(diff @ lattice.matrix, axis=1)
    best = int(np.argmin(dist))
    return best if dist[best] < _MATCH_TOL else None


def build_vacancy_endpoints(
    structure: Structure,
    hop: Hop,
    min_length: float = 10.0,
    rule: str = "length",
    choice: SupercellChoice | None = None,
) -> HopEndpoints:
    """Build the vacancy-mechanism endpoints of ``hop`` in a supercell.

    The supercell is ``choice``, else :func:`~ionflow.core.hops.supercell.choose_supercell`
    of ``structure`` under ``rule`` (``"length"``: ``structure`` repeated by
    :func:`supercell_matrix`; ``"width"``/``"distance"``: the fewest atoms whose narrowest
    width/image distance is at least ``min_length``, non-diagonal allowed). The initial state
    is the supercell without the ion on the destination site; the final state is the same
    with the moving ion on the destination (unwrapped coordinates). The moving ion is put
    first (index 0) in both, all other atoms keep the supercell order; this matches the
    convention of the external benchmark data (dembitskiy2025 LiTraj).

    Parameters
    ----------
    structure
        The unit cell the hop was enumerated on.
    hop
        A hop from :func:`ionflow.core.hops.enumerate_hops` on ``structure``.
    min_length
        Supercell size (Å): lattice length, width or image distance, per ``rule``.
    rule
        One of :data:`~ionflow.core.hops.supercell.SUPERCELL_RULES`; ``"length"`` (the
        rule before issue 15) by default here, ``"width"`` in the hop enumeration job.
    choice
        A supercell already chosen for ``structure`` (computed once for all hops).

    Returns
    -------
    HopEndpoints
        The two endpoint structures and the bookkeeping.

    Raises
    ------
    IonflowInputError
        If the hop's origin or destination is not a site of the supercell, they are the same
        supercell site (supercell too small for the hop), or the sites are not the same
        element.
    """
    if choice is None:
        choice = choose_supercell(structure, min_length, rule)
    matrix = choice.matrix
    supercell = build_supercell(structure, choice)
    lattice = supercell.lattice
    frac = supercell.frac_coords

    unit_matrix = structure.lattice.matrix
    start_cart = np.asarray(hop.start_frac, dtype=float) @ unit_matrix
    hop_vector = np.asarray(hop.end_frac, dtype=float) @ unit_matrix - start_cart

    origin = _find_site(lattice, frac, start_cart)
    destination = _find_site(lattice, frac, start_cart + hop_vector)
    if origin is None or destination is None:
        missing = "origin" if origin is None else "destination"
        raise IonflowInputError(
            f"hop {hop.hop_id}: its {missing} is not a site of the supercell; was the hop "
            "enumerated on this structure?"
        )
    if origin == destination:
        raise IonflowInputError(
            f"hop {hop.hop_id} ({hop.length:.2f} Å) joins a site to its own image in the "
            f"supercell {choice.as_dict()['matrix']}; increase min_length (now "
            f"{choice.min_length} Å)"
        )
    moving_element = element_symbol(supercell[origin].specie)
    if element_symbol(supercell[destination].specie) != moving_element:
        raise IonflowInputError(
            f"hop {hop.hop_id}: origin ({supercell[origin].species_string}) and destination "
            f"({supercell[destination].species_string}) are different elements"
        )

    mover = supercell[origin]
    initial_cart = mover.coords
    final_cart = initial_cart + hop_vector
    others = [supercell[i] for i in range(len(supercell)) if i not in (origin, destination)]

    def _mover_at(cart: np.ndarray) -> PeriodicSite:
        return PeriodicSite(
            mover.species,
            cart,
            lattice,
            coords_are_cartesian=True,
            properties=dict(mover.properties),
        )

    initial = Structure.from_sites([_mover_at(initial_cart), *others])
    final = Structure.from_sites([_mover_at(final_cart), *others])
    logger.info(
        "hop %s: supercell %s (%s rule, %d atoms after the vacancy), moving %s by %.3f Å",
        hop.hop_id,
        choice.as_dict()["matrix"],
        choice.rule,
        len(initial),
        moving_element,
        float(np.linalg.norm(hop_vector)),
    )
    return HopEndpoints(
        initial=initial,
        final=final,
        moving_index=0,
        supercell=matrix,
        hop_id=hop.hop_id,
        hop_vector=hop_vector,
        choice=choice,
    )


def perpendicular_widths(lattice: Lattice | np.ndarray) -> np.ndarray:
    """Distances between opposite faces of a cell (Å), one per lattice vector.

    The smallest of them is the shortest distance between a point defect and its periodic
    images along a lattice direction; on oblique cells it is shorter than the lattice length.

    Parameters
    ----------
    lattice
        A pymatgen Lattice or a 3x3 matrix of lattice vectors (rows).

    Returns
    -------
    numpy.ndarray
        ``[V / |b x c|, V / |c x a|, V / |a x b|]``.
    """
    m = np.asarray(getattr(lattice, "matrix", lattice), dtype=float)
    volume = abs(np.linalg.det(m))
    a, b, c = m
    return volume / np.linalg.norm([np.cross(b, c), np.cross(c, a), np.cross(a, b)], axis=1)


#: Below this width (Å) between a vacancy and its periodic images a barrier is size-dependent
#: well beyond MLIP error (NaCl 1x1x1, 5.6 Å: 0.40 eV against 0.72 eV at 2x2x2).
MIN_REASONABLE_WIDTH_A = 8.0


def supercell_warnings(supercell: Lattice, min_length: float) -> list[str]:
    """Warnings about a vacancy supercell too small for a trustworthy barrier.

    Parameters
    ----------
    supercell
        Lattice of the vacancy supercell.
    min_length
        The requested minimum size (Å).

    Returns
    -------
    list[str]
        Empty when the narrowest width reaches both ``min_length`` and
        :data:`MIN_REASONABLE_WIDTH_A`.
    """
    width = float(perpendicular_widths(supercell).min())
    out = []
    if width < MIN_REASONABLE_WIDTH_A:
        out.append(
            f"the vacancy supercell is only {width:.2f} Å wide between periodic images "
            f"(< {MIN_REASONABLE_WIDTH_A:g} Å): barriers of such small cells are unreliable "
            "(NaCl 1x1x1: 0.40 eV against 0.72 eV at 2x2x2); raise the supercell size"
        )
    elif width < min_length - 1e-6:
        out.append(
            f"the vacancy supercell's narrowest width is {width:.2f} Å, below the requested "
            f"{min_length:g} Å (an oblique cell: its lattice vectors are long enough, its "
            "width is not)"
        )
    return out
