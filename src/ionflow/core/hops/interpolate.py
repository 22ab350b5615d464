"""Initial NEB paths: IDPP (or linear) interpolation with automatic image insertion.

lian2025: IDPP initial path, 7 images including the endpoints, more images where the largest
atomic displacement between neighbouring images exceeds 1 Å.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import numpy as np

from ionflow.core.errors import IonflowInputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ase import Atoms

__all__ = ["interpolate_path", "max_neighbour_gap"]

logger = logging.getLogger(__name__)

_METHODS = ("idpp", "linear")


def max_neighbour_gap(images: Sequence[Atoms]) -> float:
    """Largest displacement (Å) of any atom between two neighbouring images.

    Positions are compared as stored (no minimum-image convention), which is what an
    unwrapped band needs.

    Parameters
    ----------
    images
        Two or more images with the same number of atoms.

    Returns
    -------
    float
        ``max_k max_atoms |r_{k+1} - r_k|``; 0.0 for fewer than two images.
    """
    if len(images) < 2:
        return 0.0
    positions = np.stack([image.get_positions() for image in images])
    steps = np.linalg.norm(np.diff(positions, axis=0), axis=-1)
    return float(steps.max()) if steps.size else 0.0


def _check_endpoints(initial: Atoms, final: Atoms) -> None:
    if len(initial) != len(final):
        raise IonflowInputError(f"endpoints differ in size: {len(initial)} and {len(final)} atoms")
    if len(initial) == 0:
        raise IonflowInputError("endpoints have no atoms")
    if not np.array_equal(initial.numbers, final.numbers):
        raise IonflowInputError("endpoints must hold the same elements in the same order")
    if not np.allclose(initial.cell.array, final.cell.array, atol=1e-6):
        raise IonflowInputError("endpoints must share the same cell (fixed-cell NEB)")


def _bare_copy(atoms: Atoms) -> Atoms:
    copy = atoms.copy()
    copy.calc = None
    return copy


def _centring(initial: Atoms, final: Atoms) -> tuple[np.ndarray, np.ndarray] | None:
    """Shift and per-atom lattice offsets that put the moving region at the cell centre.

    IDPP without the minimum-image convention only sees the neighbours that lie in the same
    copy of the cell. Translating everything so that the midpoint of the largest move is at
    the cell centre and wrapping each atom by the *same* lattice vector in both endpoints
    keeps the hop unwrapped while the mover sees its real environment (up to half a
    supercell away). Returns ``(cart_shift, cart_offsets)`` or None for non-periodic cells.
    """
    if not all(initial.pbc) or abs(initial.cell.volume) < 1e-8:
        return None
    cell = initial.cell.array
    start = initial.get_positions()
    end = final.get_positions()
    mover = int(np.argmax(np.linalg.norm(end - start, axis=1)))
    midpoint = 0.5 * (start[mover] + end[mover])
    shift = 0.5 * cell.sum(axis=0) - midpoint
    frac = np.linalg.solve(cell.T, (start + shift).T).T
    offsets = -np.floor(frac) @ cell
    return shift, offsets


def _interpolate_once(initial: Atoms, final: Atoms, n_images: int, method: str) -> list[Atoms]:
    from ase.mep import NEB
    from ase.mep.neb import idpp_interpolate

    images = [_bare_copy(initial)]
    images += [_bare_copy(initial) for _ in range(n_images - 2)]
    images.append(_bare_copy(final))

    centring = _centring(initial, final) if method == "idpp" else None
    if centring is not None:
        shift, offsets = centring
        for image in images:
            image.set_positions(image.get_positions() + shift + offsets, apply_constraint=False)

    neb = NEB(images, method="improvedtangent")  # method only silences the default warning
    neb.interpolate(method="linear", mic=False, apply_constraint=False)
    if method == "idpp":
        # ASE's NEB.interpolate("idpp") would write idpp.traj and idpp.log into the cwd
        idpp_interpolate(neb, traj=None, log=None, mic=False)

    if centring is not None:
        shift, offsets = centring
        for image in images[1:-1]:
            image.set_positions(image.get_positions() - shift - offsets, apply_constraint=False)
    # the endpoints are returned exactly as given
    images[0] = _bare_copy(initial)
    images[-1] = _bare_copy(final)
    for image in images:
        image.calc = None
    return images


def interpolate_path(
    initial: Atoms,
    final: Atoms,
    n_images: int = 7,
    max_gap: float = 1.0,
    method: str = "idpp",
    max_images: int = 15,
) -> list[Atoms]:
    """Interpolate an initial NEB band between two endpoints.

    Parameters
    ----------
    initial, final
        Endpoints with the same atoms in the same order and the same cell. Positions are used
        as given (unwrapped, no minimum-image convention), as built by
        :func:`ionflow.core.hops.build_vacancy_endpoints`.
    n_images
        Number of images *including* the two endpoints (lian2025: 7).
    max_gap
        If some atom moves more than this (Å) between neighbouring images, the band is
        rebuilt with ``ceil((n - 1) * gap / max_gap) + 1`` images (lian2025: 1 Å).
    method
        ``"idpp"`` (ASE's image-dependent pair potential, started from the linear path) or
        ``"linear"``.
    max_images
        Upper bound on the number of images; a warning is logged if the gap criterion
        would need more.

    Returns
    -------
    list[Atoms]
        Independent copies without calculators; the first and last are copies of the
        endpoints with identical positions.

    Raises
    ------
    IonflowInputError
        For invalid arguments or mismatched endpoints.

    Notes
    -----
    IDPP runs on copies translated so that the hop midpoint is at the cell centre (each atom
    wrapped by the same lattice vector in every image) and is translated back afterwards,
    so the moving ion sees its periodic neighbours although ASE's IDPP is run with
    ``mic=False``.
    """
    if method not in _METHODS:
        raise IonflowInputError(f"method must be one of {_METHODS}, got {method!r}")
    if isinstance(n_images, bool) or not isinstance(n_images, (int, np.integer)) or n_images < 3:
        raise IonflowInputError(
            f"n_images (endpoints included) must be an int >= 3, got {n_images}"
        )
    if isinstance(max_images, bool) or not isinstance(max_images, (int, np.integer)):
        raise IonflowInputError(f"max_images must be an int, got {max_images!r}")
    if max_images < n_images:
        raise IonflowInputError(f"max_images ({max_images}) must be >= n_images ({n_images})")
    if not (max_gap > 0 and math.isfinite(max_gap)):
        raise IonflowInputError(f"max_gap must be a positive length in Å, got {max_gap}")
    _check_endpoints(initial, final)

    n = int(n_images)
    images = _interpolate_once(initial, final, n, method)
    gap = max_neighbour_gap(images)
    while gap > max_gap and n < max_images:
        wanted = math.ceil((n - 1) * gap / max_gap) + 1
        new_n = min(max(wanted, n + 1), int(max_images))
        logger.info(
            "largest step between images %.2f Å > %.2f Å: %d -> %d images", gap, max_gap, n, new_n
        )
        n = new_n
        images = _interpolate_once(initial, final, n, method)
        gap = max_neighbour_gap(images)
    if gap > max_gap:
        logger.warning(
            "capped at max_images=%d: largest step between images is still %.2f Å (> %.2f Å)",
            max_images,
            gap,
            max_gap,
        )
    return images
