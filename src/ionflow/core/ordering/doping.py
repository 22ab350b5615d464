"""Aliovalent doping with charge compensation (lian2025: LiMgPO4 -> Li0.5Mg0.5Al0.5PO4).

A fraction of the host sites of one element is given to a dopant of another charge; the charge
difference is compensated by mobile-ion vacancies (a dopant of higher charge, e.g. Al3+ on Mg2+
with Li+ vacancies) or by mobile ions on given interstitial sites (a dopant of lower charge,
e.g. Al3+ on Ti4+ with Li+ interstitials, LATP). The result is a partially occupied structure
with oxidation states, ready for the ordering code (:mod:`ionflow.core.ordering`), which turns
it into ordered models.

Examples
--------
>>> from pymatgen.core import Lattice, Structure
>>> s = Structure(Lattice.cubic(4.0), ["Li", "Li", "Mg", "Mg", "O", "O", "O"],
...               [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5],
...                [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]])
>>> r = aliovalent_substitution(s, host="Mg", dopant="Al3+", fraction=0.5)
>>> r.formula, r.n_vacancies
('Li1Mg1Al1O3', 1)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np
from pymatgen.core import Composition, Element, Species, Structure

from ionflow.core.errors import IonflowInputError
from ionflow.core.hops.validate import normalize_species

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "DopingResult",
    "aliovalent_substitution",
    "decorate_oxidation_states",
    "format_formula",
    "integral_multiple",
    "parse_species",
]

#: Occupancies within this of an integer count are taken as integral.
TOL = 1e-6

_SPECIES_RE = re.compile(r"^\s*([A-Z][a-z]?)\s*(?:(\d*)([+-])|([+-])(\d*))?\s*$")


@dataclass
class DopingResult:
    """A doped (partially occupied) structure and how its charge was balanced.

    Attributes
    ----------
    structure
        The doped structure with oxidation states; host sites carry ``{host: 1-f, dopant: f}``,
        mobile sites ``{mobile: 1-v}`` (vacancy compensation), interstitial sites
        ``{mobile: occ}`` (interstitial compensation).
    formula
        Composition per formula unit of the parent, e.g. ``"Li0.5Mg0.5Al0.5P1O4"``.
    host, dopant, mobile
        Species strings with oxidation states (``"Mg2+"``, ``"Al3+"``, ``"Li+"``).
    fraction
        Fraction of the host sites given to the dopant.
    compensation
        ``"vacancy"``, ``"interstitial"`` or ``"none"`` (isovalent).
    n_substituted, n_vacancies, n_interstitials
        Counts per cell of the returned structure (fractional where the cell is too small to
        make them integral; ``supercell_multiple`` cells make them integral).
    supercell_multiple
        Smallest number of cells in which every partial count is an integer.
    """

    structure: Structure
    formula: str
    host: str
    dopant: str
    mobile: str
    fraction: float
    compensation: str
    n_substituted: float
    n_vacancies: float = 0.0
    n_interstitials: float = 0.0
    supercell_multiple: int = 1
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (the structure as its pymatgen dict)."""
        out = {k: v for k, v in self.__dict__.items() if k != "structure"}
        out["structure"] = self.structure.as_dict()
        return out


def parse_species(text: str, oxidation_states: Mapping[str, float] | None = None) -> Species:
    """Return a pymatgen ``Species`` from ``"Al3+"``, ``"F-"``, ``"Li+"`` or a bare ``"Al"``.

    A bare element takes its oxidation state from ``oxidation_states`` or, when the element has
    exactly one common oxidation state (Al 3, Mg 2, Li 1, F -1), from pymatgen.

    Parameters
    ----------
    text
        The species.
    oxidation_states
        Element -> oxidation state, used for a bare element.

    Returns
    -------
    Species
        The species with its oxidation state.

    Raises
    ------
    IonflowInputError
        Not an element, or a bare element whose oxidation state is ambiguous.
    """
    if isinstance(text, Species):
        return text
    match = _SPECIES_RE.match(str(text))
    if not match or not Element.is_valid_symbol(match.group(1)):
        raise IonflowInputError(f"{text!r} is not a species such as 'Al3+', 'F-' or 'Al'")
    symbol = match.group(1)
    sign = match.group(3) or match.group(4)
    if sign:
        digits = match.group(2) or match.group(5) or "1"
        return Species(symbol, int(digits) * (1 if sign == "+" else -1))
    if oxidation_states and symbol in oxidation_states:
        return Species(symbol, float(oxidation_states[symbol]))
    common = Element(symbol).common_oxidation_states
    if len(common) != 1:
        raise IonflowInputError(
            f"the oxidation state of {symbol} is ambiguous (common: {list(common)}); "
            f"give it, e.g. '{symbol}{abs(common[0]) if common else 1}"
            f"{'-' if common and common[0] < 0 else '+'}'"
        )
    return Species(symbol, common[0])


def decorate_oxidation_states(
    structure: Structure, oxidation_states: Mapping[str, float] | None = None
) -> Structure:
    """Return a copy of ``structure`` with oxidation states, checked to balance.

    Parameters
    ----------
    structure
        Ordered or partially occupied structure.
    oxidation_states
        Element -> oxidation state; ``None`` keeps states already on the structure or guesses
        them with pymatgen (``Composition.oxi_state_guesses``).

    Returns
    -------
    Structure
        A charge-neutral copy with ``Species`` on every site.

    Raises
    ------
    IonflowInputError
        No guess balances, or the given states leave a net charge.
    """
    s = structure.copy()
    if oxidation_states:
        missing = sorted({e.symbol for e in s.composition.elements} - set(oxidation_states))
        if missing:
            raise IonflowInputError(f"oxidation_states lacks {', '.join(missing)}")
        s.remove_oxidation_states()
        s.add_oxidation_state_by_element(dict(oxidation_states))
    elif not all(isinstance(sp, Species) for sp in s.composition):
        s.remove_oxidation_states()
        guesses = s.composition.oxi_state_guesses(max_sites=-50)
        if not guesses:
            raise IonflowInputError(
                f"no oxidation states balance {s.composition.reduced_formula}; "
                "give them (oxidation_states={'Li': 1, ...})"
            )
        s.add_oxidation_state_by_element(dict(guesses[0]))
    charge = net_charge(s)
    if abs(charge) > 1e-4:
        raise IonflowInputError(
            f"oxidation states leave a net charge of {charge:+.3g} e per cell of "
            f"{s.composition.reduced_formula}; they cannot balance"
        )
    return s


def net_charge(structure: Structure) -> float:
    """Sum of occupancy x oxidation state over the cell."""
    return float(
        sum(
            occ * getattr(sp, "oxi_state", 0.0)
            for site in structure
            for sp, occ in site.species.items()
        )
    )


def integral_multiple(counts: Sequence[float], max_multiple: int) -> int | None:
    """Smallest ``m <= max_multiple`` for which every ``m * count`` is an integer, or None.

    Parameters
    ----------
    counts
        Partial counts per cell (e.g. 2.5 Al over 5 sites).
    max_multiple
        Largest number of cells allowed.

    Returns
    -------
    int or None
        The multiple, or None when none is small enough.
    """
    for m in range(1, max(1, int(max_multiple)) + 1):
        if all(abs(m * c - round(m * c)) < TOL * max(1.0, m) for c in counts):
            return m
    return None


def format_formula(composition: Composition, per: float = 1.0) -> str:
    """``"Li0.5Mg0.5Al0.5P1O4"``: element amounts divided by ``per``, in the given order."""
    amounts: dict[str, float] = {}
    for sp, amt in composition.items():
        symbol = sp.symbol if hasattr(sp, "symbol") else sp.element.symbol
        amounts[symbol] = amounts.get(symbol, 0.0) + amt
    return "".join(f"{el}{round(a / per, 4):g}" for el, a in amounts.items() if a > TOL)


def _formula_units(structure: Structure) -> float:
    plain = Composition(dict(structure.composition.element_composition.items()))
    return float(plain.get_reduced_composition_and_factor()[1])


def _host_indices(structure: Structure, host: str, host_sites: Sequence[int] | None) -> list[int]:
    symbol_of = [site.specie.element.symbol for site in structure]
    if host_sites is None:
        idx = [i for i, el in enumerate(symbol_of) if el == host]
    else:
        idx = [int(i) for i in host_sites]
        wrong = [i for i in idx if not 0 <= i < len(structure) or symbol_of[i] != host]
        if wrong:
            raise IonflowInputError(f"host_sites {wrong} are not {host} sites of the structure")
    if not idx:
        present = sorted(set(symbol_of))
        raise IonflowInputError(f"no {host} site to dope; elements present: {', '.join(present)}")
    return idx


def _check_interstitials(structure: Structure, sites: Sequence[Sequence[float]]) -> np.ndarray:
    frac = np.asarray(sites, dtype=float).reshape(-1, 3)
    if len(frac) == 0:
        raise IonflowInputError("compensation='interstitial' needs interstitial_sites")
    dists = structure.lattice.get_all_distances(frac, structure.frac_coords)
    if np.min(dists) < 1.0:
        i, j = np.unravel_index(int(np.argmin(dists)), dists.shape)
        raise IonflowInputError(
            f"interstitial site {frac[i].tolist()} is {dists[i, j]:.2f} Å from site {j} "
            f"({structure[j].species_string}); interstitial sites must be empty space"
        )
    return frac


def _compensate(
    delta: float, mobile: Species, n_mobile: int, compensation: str, n_inter: int
) -> tuple[float, float]:
    """Return (vacancies, interstitials) per cell that cancel the charge change ``delta``."""
    q = float(mobile.oxi_state)
    if abs(delta) < TOL:
        return 0.0, 0.0
    if compensation == "vacancy":
        n_vac = delta / q
        if n_vac < 0:
            raise IonflowInputError(
                f"the dopant changes the charge by {delta:+.3g} e per cell; removing {mobile} "
                "would change it further, so vacancies cannot balance it: use "
                "compensation='interstitial' with interstitial_sites"
            )
        if n_vac > n_mobile + TOL:
            raise IonflowInputError(
                f"balancing {delta:+.3g} e per cell needs {n_vac:.3g} {mobile} vacancies but "
                f"the cell has only {n_mobile} {mobile} sites: the charge cannot balance"
            )
        return n_vac, 0.0
    if compensation == "interstitial":
        n_int = -delta / q
        if n_int < 0:
            raise IonflowInputError(
                f"the dopant changes the charge by {delta:+.3g} e per cell; adding {mobile} "
                "would change it further: use compensation='vacancy'"
            )
        if n_int > n_inter + TOL:
            raise IonflowInputError(
                f"balancing {delta:+.3g} e per cell needs {n_int:.3g} {mobile} interstitials "
                f"but only {n_inter} interstitial sites were given: the charge cannot balance"
            )
        return 0.0, n_int
    raise IonflowInputError(
        f"compensation must be 'vacancy' or 'interstitial', got {compensation!r}"
    )


def aliovalent_substitution(
    structure: Structure,
    host: str,
    dopant: str,
    fraction: float,
    *,
    mobile_species: str = "Li",
    compensation: str = "vacancy",
    interstitial_sites: Sequence[Sequence[float]] | None = None,
    oxidation_states: Mapping[str, float] | None = None,
    host_sites: Sequence[int] | None = None,
    max_atoms: int = 400,
) -> DopingResult:
    """Substitute ``fraction`` of the ``host`` sites by ``dopant`` and balance the charge.

    Parameters
    ----------
    structure
        The ordered parent (e.g. olivine LiMgPO4).
    host
        Element whose sites are doped (``"Mg"``; an anion such as ``"O"`` works too).
    dopant
        The dopant with its oxidation state (``"Al3+"``, ``"F-"``); a bare element takes its
        single common oxidation state.
    fraction
        Fraction of the host sites given to the dopant, in (0, 1].
    mobile_species
        The ion whose vacancies or interstitials balance the charge.
    compensation
        ``"vacancy"`` (dopant of higher charge than the host: mobile ions removed, uniformly
        over the mobile sites) or ``"interstitial"`` (lower charge: mobile ions added on
        ``interstitial_sites``, uniformly).
    interstitial_sites
        Fractional coordinates of empty sites for ``"interstitial"`` compensation.
    oxidation_states
        Element -> oxidation state of the parent (default: already on it, or guessed).
    host_sites
        Dope only these site indices (default: every ``host`` site).
    max_atoms
        Largest supercell (atoms) in which the partial counts must become integers.

    Returns
    -------
    DopingResult
        The partially occupied structure, its formula and counts.

    Raises
    ------
    IonflowInputError
        Disordered parent, no host or mobile site, fraction outside (0, 1], oxidation states
        that cannot balance, a charge the chosen compensation cannot cancel, or counts that no
        supercell under ``max_atoms`` makes integral.
    """
    if not structure.is_ordered:
        raise IonflowInputError(
            "the parent of a doping must be ordered (one species per site); order it first"
        )
    if not 0.0 < float(fraction) <= 1.0:
        raise IonflowInputError(f"fraction must be in (0, 1], got {fraction}")
    parent = decorate_oxidation_states(structure, oxidation_states)
    states = {sp.element.symbol: sp.oxi_state for sp in parent.composition}
    dop = parse_species(dopant, None)
    mob_el = normalize_species(mobile_species)
    host_idx = _host_indices(parent, host, host_sites)
    mobile_idx = [i for i, s in enumerate(parent) if s.specie.element.symbol == mob_el]
    if not mobile_idx and not interstitial_sites:
        raise IonflowInputError(f"the parent has no {mob_el} site to balance the charge with")
    host_sp = parent[host_idx[0]].specie
    mobile_sp = Species(mob_el, states.get(mob_el, parse_species(mob_el).oxi_state))
    n_sub = float(fraction) * len(host_idx)
    delta = n_sub * (float(dop.oxi_state) - float(host_sp.oxi_state))
    inter = (
        _check_interstitials(parent, interstitial_sites)
        if (compensation == "interstitial" and abs(delta) > TOL)
        else np.zeros((0, 3))
    )
    n_vac, n_int = _compensate(delta, mobile_sp, len(mobile_idx), compensation, len(inter))
    counts = [n_sub, n_vac, n_int]
    multiple = integral_multiple(counts, max_atoms // max(1, len(parent)))
    if multiple is None:
        raise IonflowInputError(
            f"fraction {fraction:g} of {len(host_idx)} {host} sites ({n_sub:.4g} {dop}, "
            f"{n_vac + n_int:.4g} {mobile_sp} to balance) is not representable in a supercell "
            f"of at most {max_atoms} atoms; use a fraction with a small denominator "
            f"(nearest simple: {Fraction(float(fraction)).limit_denominator(8)})"
        )
    doped = _build(
        parent, host_idx, host_sp, dop, fraction, mobile_idx, mobile_sp, n_vac, inter, n_int
    )
    result = DopingResult(
        structure=doped,
        formula=format_formula(doped.composition, _formula_units(parent)),
        host=str(host_sp),
        dopant=str(dop),
        mobile=str(mobile_sp),
        fraction=float(fraction),
        compensation="none" if abs(delta) < TOL else compensation,
        n_substituted=n_sub,
        n_vacancies=n_vac,
        n_interstitials=n_int,
        supercell_multiple=multiple,
    )
    if abs(net_charge(doped)) > 1e-4:  # pragma: no cover - guaranteed by _compensate
        raise IonflowInputError(f"the doped cell keeps a net charge {net_charge(doped):+.3g} e")
    return result


def _build(
    parent: Structure,
    host_idx: list[int],
    host_sp: Species,
    dop: Species,
    fraction: float,
    mobile_idx: list[int],
    mobile_sp: Species,
    n_vac: float,
    inter: np.ndarray,
    n_int: float,
) -> Structure:
    s = parent.copy()
    f = float(fraction)
    for i in host_idx:
        s.replace(i, {host_sp: 1.0 - f, dop: f} if f < 1.0 else dop)
    if n_vac > TOL:
        occ = 1.0 - n_vac / len(mobile_idx)
        for i in mobile_idx:
            s.replace(i, {mobile_sp: occ})
    if n_int > TOL:
        occ = n_int / len(inter)
        for xyz in inter:
            s.append({mobile_sp: occ}, xyz)
    return s
