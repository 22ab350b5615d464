"""Which hops of a screen are one physical path, and which vacancy supercells are distinct.

Every NEB endpoint of a vacancy-mechanism screen is the perfect supercell without one mobile
ion. Up to the supercell's symmetry there are only a few such single-vacancy supercells, and a
hop j -> i is often hop i -> j run backwards (or a symmetry image of it). :func:`plan_screen`
finds both from the geometry alone (no model):

- **vacancies**: the endpoints grouped by the orbit of their vacant site under the operations
  of the perfect supercell (:class:`~ionflow.core.screen.symmetry.SupercellSymmetry`); one
  representative per orbit is relaxed, and :func:`map_vacancy` carries its relaxation onto every
  endpoint of the orbit by the operation that sends the representative's site to the endpoint's;
- **bands**: hop B shares the band of hop A when an operation sends A's origin to B's
  destination, A's destination to B's origin and A's hop vector to minus B's (B is A reversed),
  or sends origin to origin, destination to destination and vector to vector (B is an image of
  A). B's forward and reverse barriers are then A's reverse and forward (or forward and reverse).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from pymatgen.core import Structure

from ionflow.core.errors import IonflowInputError
from ionflow.core.screen.symmetry import SupercellSymmetry

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "Band",
    "EndpointKey",
    "HopEnds",
    "MappedEndpoint",
    "ScreenPlan",
    "Vacancy",
    "map_vacancy",
    "plan_screen",
]

#: ``(hop_id, "initial" | "final")``
EndpointKey = tuple[str, str]

_VEC_TOL = 0.2  # Å: two hop vectors are the same when they differ by less than this


@dataclass
class HopEnds:
    """The vacancy endpoints of one hop, as the enumeration built them.

    ``initial`` lacks the destination ion, ``final`` the origin ion; same atom order, the
    moving ion at ``moving_index`` (unwrapped in ``final``). ``initial_label`` and
    ``final_label`` name the origin and destination site types (e.g. ``"Li1 (4h)"``);
    ``start_frac`` and ``end_frac`` are the hop's origin and (unwrapped) destination in the
    parent cell, used to compare paths by the parent's symmetry.
    """

    hop_id: str
    initial: Structure
    final: Structure
    moving_index: int = 0
    initial_label: str = ""
    final_label: str = ""
    start_frac: np.ndarray | None = None
    end_frac: np.ndarray | None = None


@dataclass
class Vacancy:
    """One symmetry-distinct single-vacancy supercell and the endpoints that are images of it.

    ``structure`` is the perfect supercell without site ``site``, other atoms in the perfect
    supercell's order: the structure to relax.
    """

    vacancy_id: str
    site: int
    label: str
    structure: Structure
    endpoints: list[EndpointKey] = field(default_factory=list)


@dataclass
class Band:
    """One NEB (of hop ``hop_id``) and the hops whose barriers it gives.

    ``members`` lists ``(hop_id, reversed)``, the band's own hop first (``reversed`` False).
    """

    band_id: str
    hop_id: str
    members: list[tuple[str, bool]] = field(default_factory=list)


@dataclass
class _Endpoint:
    sites: np.ndarray  # perfect-supercell site of each atom
    vacancy: int  # perfect-supercell site left empty
    vacancy_index: int = -1  # into ScreenPlan.vacancies
    op: int = -1  # operation sending the representative's site to ``vacancy``


@dataclass
class MappedEndpoint:
    """A relaxed vacancy carried onto one endpoint (the endpoint's atom order)."""

    structure: Structure
    energy: float
    forces: np.ndarray
    op: int


@dataclass
class ScreenPlan:
    """Distinct vacancies to relax, bands to run, and how every endpoint relates to them."""

    symmetry: SupercellSymmetry
    vacancies: list[Vacancy]
    bands: list[Band]
    endpoints: dict[EndpointKey, _Endpoint]

    def band_of(self, hop_id: str) -> tuple[Band, bool]:
        """The band giving ``hop_id``'s barriers, and whether the hop runs it backwards."""
        for band in self.bands:
            for member, rev in band.members:
                if member == hop_id:
                    return band, rev
        raise KeyError(hop_id)

    def vacancy_of(self, key: EndpointKey) -> Vacancy:
        """The distinct vacancy an endpoint is an image of."""
        return self.vacancies[self.endpoints[key].vacancy_index]


def _perfect_supercell(first: HopEnds) -> Structure:
    """The defect-free supercell: the initial state plus the ion on the destination site."""
    mover = first.final[first.moving_index]
    perfect = first.initial.copy()
    perfect.append(mover.species, mover.coords, coords_are_cartesian=True)
    return perfect


def _locate(sym: SupercellSymmetry, structure: Structure, what: str) -> _Endpoint:
    n = len(sym.structure)
    if len(structure) != n - 1 or not np.allclose(
        structure.lattice.matrix, sym.structure.lattice.matrix, atol=1e-4
    ):
        raise IonflowInputError(f"{what} is not a single vacancy of the shared supercell")
    sites = sym.find_sites(structure.frac_coords)
    if np.any(sites < 0) or len(set(sites.tolist())) != len(sites):
        raise IonflowInputError(f"{what}: its atoms do not sit on the supercell's sites")
    (vacancy,) = sorted(set(range(n)) - set(sites.tolist()))
    return _Endpoint(sites=sites, vacancy=int(vacancy))


def _hop_geometry(hop: HopEnds, ends: dict[EndpointKey, _Endpoint]) -> tuple[int, int, np.ndarray]:
    """Origin site, destination site and Cartesian hop vector of ``hop``."""
    origin = ends[(hop.hop_id, "final")].vacancy
    destination = ends[(hop.hop_id, "initial")].vacancy
    m = hop.moving_index
    vector = np.asarray(hop.final[m].coords) - np.asarray(hop.initial[m].coords)
    return origin, destination, vector


def _same_path(sym: SupercellSymmetry, a: tuple, b: tuple) -> bool | None:
    """``False``: ``b`` is ``a``; ``True``: ``b`` is ``a`` reversed; ``None``: another path."""
    (oa, da, va), (ob, db, vb) = a, b
    for reverse, target_o, target_d, sign in ((False, ob, db, 1.0), (True, db, ob, -1.0)):
        for op in sym.ops_between(oa, target_o):
            if sym.image(op, da) != target_d:
                continue
            if np.linalg.norm(sym.cart_rotation(op) @ va - sign * vb) < _VEC_TOL:
                return reverse
    return None


def _parent_geometry(sym: SupercellSymmetry, hop: HopEnds) -> tuple[int, int, np.ndarray]:
    """Origin site, destination site and Cartesian hop vector of ``hop`` in the parent cell."""
    start, end = np.asarray(hop.start_frac, float), np.asarray(hop.end_frac, float)
    origin, destination = sym.find_sites(np.array([start, end]))
    if origin < 0 or destination < 0:
        raise IonflowInputError(f"hop {hop.hop_id} does not join two sites of the parent cell")
    vector = (end - start) @ np.asarray(sym.structure.lattice.matrix)
    return int(origin), int(destination), vector


def _group_bands(
    sym: SupercellSymmetry,
    hops: Sequence[HopEnds],
    ends: dict[EndpointKey, _Endpoint],
    parent: SupercellSymmetry | None = None,
) -> list[Band]:
    bands: list[Band] = []
    if parent is not None:
        sym = parent
        geometry = {h.hop_id: _parent_geometry(parent, h) for h in hops}
    else:
        geometry = {h.hop_id: _hop_geometry(h, ends) for h in hops}
    for hop in hops:
        for band in bands:
            rev = _same_path(sym, geometry[band.hop_id], geometry[hop.hop_id])
            if rev is not None:
                band.members.append((hop.hop_id, rev))
                break
        else:
            bands.append(Band(f"B{len(bands) + 1}", hop.hop_id, [(hop.hop_id, False)]))
    return bands


def _group_vacancies(
    sym: SupercellSymmetry, hops: Sequence[HopEnds], ends: dict[EndpointKey, _Endpoint]
) -> list[Vacancy]:
    vacancies: list[Vacancy] = []
    for hop in hops:
        # the initial state lacks the destination ion, the final state the origin ion
        for which, label in (("initial", hop.final_label), ("final", hop.initial_label)):
            end = ends[(hop.hop_id, which)]
            for k, vac in enumerate(vacancies):
                ops = sym.ops_between(vac.site, end.vacancy)
                if ops:
                    end.vacancy_index, end.op = k, ops[0]
                    vac.endpoints.append((hop.hop_id, which))
                    break
            else:
                perfect = sym.structure.copy()
                perfect.remove_sites([end.vacancy])
                vacancies.append(
                    Vacancy(
                        f"V{len(vacancies) + 1}",
                        end.vacancy,
                        label,
                        perfect,
                        [(hop.hop_id, which)],
                    )
                )
                end.vacancy_index, end.op = len(vacancies) - 1, _identity(sym, end.vacancy)
    return vacancies


def _identity(sym: SupercellSymmetry, site: int) -> int:
    for op in sym.ops_between(site, site):
        if np.allclose(sym.rotations[op], np.eye(3)) and np.allclose(
            np.mod(sym.translations[op] + 1e-9, 1.0), 0.0, atol=1e-6
        ):
            return op
    return sym.ops_between(site, site)[0]


def plan_screen(
    hops: Sequence[HopEnds], symprec: float = 0.1, parent: Structure | None = None
) -> ScreenPlan:
    """Distinct vacancies and bands of a screen whose hops share one supercell.

    Vacancies are always grouped by the supercell's own operations (a mapped endpoint must be
    periodic in the supercell). Paths are grouped by ``parent``'s operations when it is given:
    a non-diagonal supercell may keep fewer operations than the crystal, and a hop that is
    another one reversed in the crystal then shares its band (the two bands would differ only
    by how the supercell's periodic images sit around the path, a finite-size difference).

    Parameters
    ----------
    hops
        Every hop's endpoints (one supercell for all); with ``parent``, their ``start_frac``
        and ``end_frac`` too.
    symprec
        Symmetry tolerance (Å) of the operations.
    parent
        The cell the hops were enumerated on (``None``: compare paths in the supercell).

    Returns
    -------
    ScreenPlan
        Vacancies in order of first use, bands in hop order.

    Raises
    ------
    IonflowInputError
        No hops, or endpoints that are not single vacancies of one common supercell.
    """
    if not hops:
        raise IonflowInputError("no hops to plan")
    sym = SupercellSymmetry.from_structure(_perfect_supercell(hops[0]), symprec=symprec)
    ends: dict[EndpointKey, _Endpoint] = {}
    for hop in hops:
        for which in ("initial", "final"):
            ends[(hop.hop_id, which)] = _locate(
                sym, getattr(hop, which), f"the {which} state of hop {hop.hop_id}"
            )
    vacancies = _group_vacancies(sym, hops, ends)
    parent_sym = None
    if parent is not None and all(h.start_frac is not None for h in hops):
        parent_sym = SupercellSymmetry.from_structure(parent, symprec=symprec)
    bands = _group_bands(sym, hops, ends, parent_sym)
    return ScreenPlan(sym, vacancies, bands, ends)


def map_vacancy(
    plan: ScreenPlan,
    key: EndpointKey,
    target: Structure,
    relaxed: Structure,
    energy: float,
    forces: np.ndarray,
    op: int | None = None,
) -> MappedEndpoint:
    """Carry the relaxed representative of a vacancy onto one of its endpoints.

    Every atom of ``target`` keeps its place in the list and its own (possibly unwrapped)
    unrelaxed position, and gets the relaxation displacement of the representative's atom that
    the operation sends onto its site, rotated by the operation; forces likewise.

    Parameters
    ----------
    plan
        The screen's plan.
    key
        The endpoint (``(hop_id, "initial" | "final")``).
    target
        The endpoint's unrelaxed structure (the enumeration's).
    relaxed
        The relaxed representative (the vacancy's ``structure``, same atom order).
    energy, forces
        Its energy (eV) and forces (eV/Å, its atom order).
    op
        Operation to use (default: the plan's); must send the representative's site to the
        endpoint's vacancy.

    Returns
    -------
    MappedEndpoint
        The relaxed endpoint, its energy (the representative's) and forces.
    """
    sym = plan.symmetry
    end = plan.endpoints[key]
    vac = plan.vacancies[end.vacancy_index]
    op = end.op if op is None else op
    perm = sym.permutation(op)
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(len(perm))
    if inverse[end.vacancy] != vac.site:
        raise IonflowInputError(f"operation {op} does not send {vac.vacancy_id} onto {key}")
    unrelaxed = vac.structure.frac_coords
    shift = relaxed.frac_coords - unrelaxed
    shift -= np.round(shift)
    disp = shift @ relaxed.lattice.matrix  # Cartesian relaxation displacement per atom
    source = inverse[end.sites]  # perfect-supercell site each target atom comes from
    source = source - (source > vac.site)  # its index in the representative
    rot = sym.cart_rotation(op)
    coords = np.asarray(target.cart_coords) + disp[source] @ rot.T
    mapped_forces = np.asarray(forces, dtype=float)[source] @ rot.T
    structure = Structure(
        target.lattice,
        target.species,
        coords,
        coords_are_cartesian=True,
        site_properties=target.site_properties or None,
    )
    return MappedEndpoint(structure, float(energy), mapped_forces, op)
