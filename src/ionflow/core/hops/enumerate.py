"""Enumeration of the symmetrically distinct hops of a mobile ion (lian2025's N² rule).

For each distinct mobile site *i* (its representative) and each distinct site type *j*, the
hop goes from *i* to its nearest site of type *j* (periodic images included; a site's own
periodic image is a valid destination). A structure with N distinct sites has N² hops; the
forward hop i->j and the reverse hop j->i are separate entries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ionflow.core.errors import IonflowInputError
from ionflow.core.hops.sites import MobileSite, find_mobile_sites
from ionflow.core.hops.validate import element_symbol, normalize_species

if TYPE_CHECKING:
    from pymatgen.core import Lattice, Structure

__all__ = ["Hop", "enumerate_hops", "points_within"]

logger = logging.getLogger(__name__)

_TIE_TOL = 1e-5  # Å: lengths closer than this are a tie, broken by index then image
_ZERO = 1e-8


def _image_grid(lattice: Lattice, radius: float) -> np.ndarray:
    """Integer lattice translations that can bring a point within ``radius`` of another.

    Both points are assumed pre-reduced to fractional differences in [-0.5, 0.5].
    """
    inv = np.linalg.inv(lattice.matrix)  # frac = cart @ inv
    # |frac_k| <= radius * |inv[:, k]| for any cart vector of length <= radius
    reach = np.ceil(radius * np.linalg.norm(inv, axis=0) + 0.5).astype(int)
    axes = [np.arange(-n, n + 1) for n in reach]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    return grid


def points_within(
    lattice: Lattice, frac_points: np.ndarray, center_frac: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Find all periodic images of ``frac_points`` within ``radius`` Å of ``center_frac``.

    Parameters
    ----------
    lattice
        The lattice.
    frac_points
        ``(K, 3)`` fractional coordinates, used as given (not wrapped).
    center_frac
        ``(3,)`` fractional coordinates of the centre.
    radius
        Search radius in Å.

    Returns
    -------
    indices, images, distances
        ``indices`` into ``frac_points`` (``(M,)`` int), the integer image ``(M, 3)`` such
        that the found point is ``frac_points[index] + image``, and its distance (``(M,)``).
    """
    frac_points = np.atleast_2d(np.asarray(frac_points, dtype=float))
    diff = frac_points - np.asarray(center_frac, dtype=float)
    shift = -np.round(diff)
    reduced = diff + shift  # in [-0.5, 0.5]
    grid = _image_grid(lattice, radius)
    cart = (reduced[:, None, :] + grid[None, :, :]) @ lattice.matrix  # (K, G, 3)
    dist = np.linalg.norm(cart, axis=-1)
    k, g = np.nonzero(dist <= radius)
    images = (grid[g] + shift[k]).astype(int)
    return k.astype(int), images, dist[k, g]


def _segment_distances(points: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Distance of each cartesian point to the segment ``start``-``end``."""
    vec = end - start
    length2 = float(vec @ vec)
    rel = points - start
    t = np.zeros(len(points)) if length2 < _ZERO else np.clip(rel @ vec / length2, 0.0, 1.0)
    return np.linalg.norm(rel - t[:, None] * vec, axis=1)


@dataclass
class Hop:
    """One distinct hop of the mobile ion from ``initial`` to the nearest ``final``-type site.

    Parameters
    ----------
    hop_id
        ``"Li1(4h)->Li2(2c)"``: labels and Wyckoff symbols of the two site types.
    initial
        The distinct site the ion leaves (its representative is the origin).
    final
        The distinct site type the ion goes to.
    start_index
        Index of the origin in the given cell (``initial.index``).
    end_index
        Index of the destination site in the given cell.
    end_image
        Periodic image of the destination: it sits at ``frac[end_index] + end_image``.
    length
        Straight-line hop length in Å.
    start_frac
        Fractional coordinates of the origin (as stored in the structure).
    end_frac
        Unwrapped fractional coordinates of the destination (``frac[end_index] + end_image``).
    min_ion_distance
        Closest approach (Å) of the straight path to any other ion (periodic images and other
        mobile ions included; the moving ion and the destination site excluded).
    close_approach
        ``min_ion_distance`` below the threshold given to :func:`enumerate_hops`
        (0.5 Å by default, dembitskiy2025): the straight path runs through an ion.
    """

    hop_id: str
    initial: MobileSite
    final: MobileSite
    start_index: int
    end_index: int
    end_image: tuple[int, int, int]
    length: float
    start_frac: tuple[float, float, float]
    end_frac: tuple[float, float, float]
    min_ion_distance: float
    close_approach: bool = field(default=False)

    def vector(self, lattice: Lattice) -> np.ndarray:
        """Cartesian hop vector (Å) from origin to destination in ``lattice``."""
        return (
            np.asarray(self.end_frac, dtype=float) @ lattice.matrix
            - np.asarray(self.start_frac, dtype=float) @ lattice.matrix
        )

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict of the fields (no ``@module``/``@class`` keys)."""
        return {
            "hop_id": self.hop_id,
            "initial": self.initial.as_dict(),
            "final": self.final.as_dict(),
            "start_index": self.start_index,
            "end_index": self.end_index,
            "end_image": list(self.end_image),
            "length": self.length,
            "start_frac": list(self.start_frac),
            "end_frac": list(self.end_frac),
            "min_ion_distance": self.min_ion_distance,
            "close_approach": self.close_approach,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Hop:
        """Rebuild a hop from :meth:`as_dict` output."""

        def _triple(values: Any, kind: type) -> tuple[Any, Any, Any]:
            a, b, c = (kind(v) for v in values)
            return (a, b, c)

        return cls(
            hop_id=str(d["hop_id"]),
            initial=MobileSite.from_dict(d["initial"]),
            final=MobileSite.from_dict(d["final"]),
            start_index=int(d["start_index"]),
            end_index=int(d["end_index"]),
            end_image=_triple(d["end_image"], int),
            length=float(d["length"]),
            start_frac=_triple(d["start_frac"], float),
            end_frac=_triple(d["end_frac"], float),
            min_ion_distance=float(d["min_ion_distance"]),
            close_approach=bool(d["close_approach"]),
        )


def _nearest_of_type(
    structure: Structure, origin: MobileSite, target: MobileSite
) -> tuple[int, tuple[int, int, int], float]:
    """Nearest site of type ``target`` to the representative of ``origin``."""
    frac = structure.frac_coords
    lattice = structure.lattice
    targets = np.asarray(target.equivalent_indices, dtype=int)
    center = frac[origin.index]
    radius = max(4.0, 1.05 * min(lattice.abc))
    limit = 2.0 * sum(lattice.abc) + 1.0  # any site is within this of any point
    while True:
        k, images, dist = points_within(lattice, frac[targets], center, radius)
        indices = targets[k]
        keep = ~((indices == origin.index) & np.all(images == 0, axis=1)) & (dist > _ZERO)
        if np.any(keep) or radius > limit:
            break
        radius *= 2.0
    if not np.any(keep):  # pragma: no cover - a periodic crystal always has an image
        raise IonflowInputError(f"no {target.label} site found near {origin.label}")
    indices, images, dist = indices[keep], images[keep], dist[keep]
    tied = dist <= dist.min() + _TIE_TOL
    indices, images, dist = indices[tied], images[tied], dist[tied]
    order = np.lexsort((images[:, 2], images[:, 1], images[:, 0], indices))
    best = order[0]
    image = images[best]
    return int(indices[best]), (int(image[0]), int(image[1]), int(image[2])), float(dist[best])


def _min_ion_distance(
    structure: Structure,
    start_index: int,
    end_index: int,
    end_image: tuple[int, int, int],
    start_frac: np.ndarray,
    end_frac: np.ndarray,
) -> float:
    """Closest approach of the straight segment to any ion other than the mover and target."""
    lattice = structure.lattice
    frac = structure.frac_coords
    start = start_frac @ lattice.matrix
    end = end_frac @ lattice.matrix
    half = 0.5 * float(np.linalg.norm(end - start))
    mid_frac = 0.5 * (start_frac + end_frac)
    reach = 3.0
    limit = 2.0 * sum(lattice.abc) + 1.0
    while True:
        k, images, _ = points_within(lattice, frac, mid_frac, half + reach)
        is_mover = (k == start_index) & np.all(images == 0, axis=1)
        is_target = (k == end_index) & np.all(images == np.asarray(end_image), axis=1)
        keep = ~(is_mover | is_target)
        if np.any(keep):
            points = (frac[k[keep]] + images[keep]) @ lattice.matrix
            closest = float(_segment_distances(points, start, end).min())
            if closest <= reach:
                return closest
        if reach > limit:  # pragma: no cover - a crystal with a single atom has no other ion
            return float("inf")
        reach *= 2.0


def enumerate_hops(
    structure: Structure,
    species: str = "Li",
    symprec: float = 0.01,
    close_approach: float = 0.5,
    sites: list[MobileSite] | None = None,
) -> list[Hop]:
    """Enumerate the N² distinct hops of the mobile species (lian2025).

    Parameters
    ----------
    structure
        An ordered structure (validated when ``sites`` is not given).
    species
        The mobile species (``"Li"``, ``"Na"``, ``"Li+"``, ...).
    symprec
        Symmetry tolerance (Å) passed to :func:`find_mobile_sites` when ``sites`` is None.
    close_approach
        Hops whose straight path passes closer than this (Å) to another ion are flagged
        with ``close_approach=True`` (dembitskiy2025 rejects them; here they are kept and
        flagged).
    sites
        Distinct sites from :func:`find_mobile_sites` on this same structure; computed when
        None.

    Returns
    -------
    list[Hop]
        ``len(sites)**2`` hops, ordered by origin then destination site type. Ties in
        length are broken by lowest destination index, then lowest image (lexicographic).

    Raises
    ------
    IonflowInputError
        For invalid structures, or ``sites`` whose species is not ``species``.
    """
    symbol = normalize_species(species)
    if sites is None:
        sites = find_mobile_sites(structure, symbol, symprec=symprec)
    if not sites:
        raise IonflowInputError(f"no {symbol} sites given")
    for site in sites:
        if site.species != symbol or site.index >= len(structure):
            raise IonflowInputError(
                f"site {site.label} does not belong to this structure / species {symbol}"
            )
        if element_symbol(structure[site.index].specie) != symbol:
            raise IonflowInputError(
                f"site {site.label} (index {site.index}) is not a {symbol} site of this structure"
            )

    frac = structure.frac_coords
    hops: list[Hop] = []
    for origin in sites:
        for target in sites:
            end_index, end_image, length = _nearest_of_type(structure, origin, target)
            start_frac = frac[origin.index].astype(float)
            end_frac = frac[end_index] + np.asarray(end_image, dtype=float)
            closest = _min_ion_distance(
                structure, origin.index, end_index, end_image, start_frac, end_frac
            )
            hop = Hop(
                hop_id=f"{origin.label}({origin.wyckoff})->{target.label}({target.wyckoff})",
                initial=origin,
                final=target,
                start_index=origin.index,
                end_index=end_index,
                end_image=end_image,
                length=length,
                start_frac=(float(start_frac[0]), float(start_frac[1]), float(start_frac[2])),
                end_frac=(float(end_frac[0]), float(end_frac[1]), float(end_frac[2])),
                min_ion_distance=closest,
                close_approach=bool(closest < close_approach),
            )
            if hop.close_approach:
                logger.warning(
                    "hop %s passes %.2f Å from another ion (< %.2f Å): flagged close_approach",
                    hop.hop_id,
                    closest,
                    close_approach,
                )
            hops.append(hop)
    logger.info("%d hop(s): %s", len(hops), ", ".join(f"{h.hop_id} {h.length:.2f} Å" for h in hops))
    return hops
