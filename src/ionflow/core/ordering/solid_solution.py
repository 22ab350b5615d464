"""Solid solutions on a parent: composition series, orderings per member, hull, selection.

deng2025 (Li3InxY1-xBr6yCl6-6y, Na1+xZr2SixP3-xO12): for each composition of a series, order
the disordered model, rank the orderings by MLIP energy, build the convex hull across the
compositions (formation energies relative to the end members) and keep configurations with
probability ``exp(-E_hull / k_B T)`` at 800 K, the lowest of each composition always.

The substitution here is isovalent (Cl/Br, In/Y, Si/Ge with the same charge); aliovalent
substitution, with its charge compensation, is :mod:`ionflow.core.ordering.doping`.

Examples
--------
>>> from pymatgen.core import Lattice, Structure
>>> s = Structure(Lattice.cubic(5.5), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
>>> [m.formula for m in composition_series(s, "Cl", "Br", [0.5], max_atoms=16)]
['Na1Cl1', 'Na1Cl0.5Br0.5', 'Na1Br1']
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pymatgen.core import Composition, Element, Species, Structure

from ionflow.core.errors import IonflowInputError
from ionflow.core.ordering.doping import TOL, format_formula, integral_multiple
from ionflow.core.ordering.hull import HullPoint, boltzmann_select, convex_hull

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

logger = logging.getLogger(__name__)

__all__ = [
    "Configuration",
    "SeriesMember",
    "SeriesResult",
    "composition_series",
    "evaluate_series",
    "substitute",
]


@dataclass
class SeriesMember:
    """One composition of the series.

    Attributes
    ----------
    x
        Fraction of the ``site`` element replaced by the substituent.
    formula
        Composition per formula unit of the parent.
    structure
        The (partially occupied) structure of this composition.
    supercell_multiple
        Cells needed to make every occupancy an integer count.
    """

    x: float
    formula: str
    structure: Structure
    supercell_multiple: int = 1


@dataclass
class Configuration:
    """An ordered configuration of one member, with its energy and hull data."""

    label: str
    x: float
    formula: str
    structure: Structure
    energy_eV: float
    hull: HullPoint | None = None
    selected: bool = False


@dataclass
class SeriesResult:
    """Configurations of every member, their hull and the Boltzmann selection."""

    members: list[SeriesMember]
    configurations: list[Configuration]
    temperature_K: float
    seed: int
    selected: list[int] = field(default_factory=list)

    def lowest_per_member(self) -> dict[float, Configuration]:
        """The lowest-energy configuration of each composition x."""
        best: dict[float, Configuration] = {}
        for c in self.configurations:
            if c.x not in best or c.hull.e_hull_per_fu < best[c.x].hull.e_hull_per_fu:
                best[c.x] = c
        return best


def _element(specie: Any) -> str:
    return specie.element.symbol if isinstance(specie, Species) else str(specie.symbol)


def _charge_of(structure: Structure, element: str) -> float | None:
    for site in structure:
        for sp, _ in site.species.items():
            if _element(sp) == element and isinstance(sp, Species):
                return float(sp.oxi_state)
    return None


def substitute(parent: Structure, site: str, substituent: str, x: float) -> Structure:
    """Replace a fraction ``x`` of every ``site`` occupancy by ``substituent`` (isovalent).

    Parameters
    ----------
    parent
        The parent (ordered or partially occupied).
    site
        Element whose occupancy is shared (``"Cl"``, ``"Y"``).
    substituent
        The incoming element (``"Br"``, ``"In"``); with oxidation states on the parent it takes
        the same oxidation state as ``site``.
    x
        Fraction replaced, in [0, 1].

    Returns
    -------
    Structure
        A copy with ``{site: occ (1 - x), substituent: occ x}`` on every ``site`` site.
    """
    if not 0.0 <= x <= 1.0:
        raise IonflowInputError(f"composition fraction must be in [0, 1], got {x}")
    charge = _charge_of(parent, site)
    new_sp = Species(substituent, charge) if charge is not None else Element(substituent)
    s = parent.copy()
    for i, st in enumerate(s):
        occ = dict(st.species.items())
        match = [sp for sp in occ if _element(sp) == site]
        if not match:
            continue
        new = {}
        for sp, amt in occ.items():
            if sp in match:
                if x < 1.0:
                    new[sp] = amt * (1.0 - x)
                new[new_sp] = new.get(new_sp, 0.0) + amt * x
            else:
                new[sp] = amt
        s.replace(i, {sp: a for sp, a in new.items() if a > TOL})
    return s


def _occupancy_counts(structure: Structure) -> list[float]:
    counts: dict[str, float] = {}
    for st in structure:
        if st.is_ordered:
            continue
        for sp, amt in st.species.items():
            counts[str(sp)] = counts.get(str(sp), 0.0) + amt
    return list(counts.values())


def composition_series(
    parent: Structure,
    site: str,
    substituent: str,
    fractions: Sequence[float],
    *,
    max_atoms: int = 200,
) -> list[SeriesMember]:
    """The members of the series ``site(1-x) substituent(x)``, end members included.

    Parameters
    ----------
    parent
        The parent structure (may be partially occupied, e.g. Li3YCl6 with Li on 4g/4h).
    site, substituent
        Element replaced and incoming element (isovalent).
    fractions
        Values of x; 0 and 1 (the end members, needed by the hull) are always added.
    max_atoms
        Largest supercell in which each member's occupancies must become integral.

    Returns
    -------
    list of SeriesMember
        Sorted by x.

    Raises
    ------
    IonflowInputError
        No ``site`` in the parent, the same element twice, x outside [0, 1], or a member that
        no supercell under ``max_atoms`` makes integral.
    """
    present = {_element(sp) for sp in parent.composition}
    if site not in present:
        raise IonflowInputError(
            f"the parent ({parent.composition.reduced_formula}) has no {site}; elements "
            f"present: {', '.join(sorted(present))}"
        )
    if not Element.is_valid_symbol(substituent) or substituent == site:
        raise IonflowInputError(f"substituent must be another element, got {substituent!r}")
    xs = sorted({0.0, 1.0, *(round(float(x), 10) for x in fractions)})
    plain = Composition(parent.composition.element_composition)
    n_fu = plain.get_reduced_composition_and_factor()[1]
    members = []
    for x in xs:
        s = substitute(parent, site, substituent, x)
        m = integral_multiple(_occupancy_counts(s), max_atoms // max(1, len(s)))
        if m is None:
            raise IonflowInputError(
                f"x = {x:g} ({site}{1 - x:g}{substituent}{x:g}) cannot be made integral in a "
                f"supercell of at most {max_atoms} atoms of this {len(s)}-site cell; use x "
                "with a smaller denominator or a larger max_atoms"
            )
        members.append(SeriesMember(x, format_formula(s.composition, n_fu), s, m))
    return members


def evaluate_series(
    members: Sequence[SeriesMember],
    order_fn: Callable[[Structure], Sequence[tuple[str, Structure, float]]],
    *,
    temperature: float = 800.0,
    n_select: int | None = None,
    seed: int = 0,
) -> SeriesResult:
    """Order every member, build the hull over all configurations, select by E_hull.

    Parameters
    ----------
    members
        From :func:`composition_series` (its first and last members are the end members).
    order_fn
        ``structure -> [(label, ordered structure, energy in eV per cell), ...]``: the
        orderings of one member with their (MLIP) energies, e.g. a wrapper of
        :func:`ionflow.core.ordering.order_structure`.
    temperature
        Temperature of the Boltzmann selection (K).
    n_select
        Number of configurations to select in all (``None``: each kept with probability
        ``exp(-E_hull / k_B T)``), see :func:`~ionflow.core.ordering.hull.boltzmann_select`.
    seed
        Seed of the selection.

    Returns
    -------
    SeriesResult
        Every configuration with its formation energy, E_hull and whether it was selected.
    """
    if len(members) < 2:
        raise IonflowInputError("a series needs at least its two end members")
    configs: list[Configuration] = []
    for k, member in enumerate(members):
        logger.info("series member %d/%d: %s", k + 1, len(members), member.formula)
        orderings = list(order_fn(member.structure))
        if not orderings:
            raise IonflowInputError(f"no ordering of {member.formula} was produced")
        for label, structure, energy in orderings:
            configs.append(
                Configuration(
                    f"x={member.x:g} {label}", member.x, member.formula, structure, float(energy)
                )
            )
    terminals = [members[0].structure.composition, members[-1].structure.composition]
    points = convex_hull(
        [(c.label, c.structure.composition, c.energy_eV) for c in configs], terminals
    )
    for c, p in zip(configs, points):
        c.hull = p
    chosen = boltzmann_select(
        [p.e_hull_per_fu for p in points],
        groups=[c.x for c in configs],
        temperature=temperature,
        n_select=n_select,
        seed=seed,
    )
    for i in chosen:
        configs[i].selected = True
    return SeriesResult(list(members), configs, float(temperature), int(seed), chosen)
