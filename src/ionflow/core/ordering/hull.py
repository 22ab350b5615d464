"""Formation energies, the convex hull over a composition series, Boltzmann selection by E_hull.

deng2025: enumerate orderings per composition, compute their (MLIP) energies, build the convex
hull across the compositions, then keep each configuration with probability
``p = exp(-E_hull / k_B T)`` (T = 800 K, E_hull per formula unit), always keeping the lowest of
each composition. The hull is pymatgen's, on the pseudo-binary (or pseudo-ternary, ...) spanned
by the end members (:class:`~pymatgen.analysis.phase_diagram.CompoundPhaseDiagram`), so the
formation energies are relative to the end members, not to the elements.

Examples
--------
>>> from pymatgen.core import Composition
>>> pts = convex_hull(
...     [("A", "Li3YCl6", -50.0), ("B", "Li3YBr6", -40.0), ("AB", "Li6Y2Cl6Br6", -91.0)],
...     terminals=["Li3YCl6", "Li3YBr6"])
>>> [(p.label, round(p.e_form_per_fu, 3), p.on_hull) for p in pts]
[('A', 0.0, True), ('B', 0.0, True), ('AB', -0.5, True)]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from pymatgen.analysis.phase_diagram import CompoundPhaseDiagram, PDEntry
from pymatgen.core import Composition

from ionflow.core.errors import IonflowInputError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["BOLTZMANN_EV_K", "HullPoint", "boltzmann_select", "convex_hull"]

#: Boltzmann constant, eV/K.
BOLTZMANN_EV_K = 8.617333262e-5


@dataclass
class HullPoint:
    """One configuration on (or above) the hull.

    Attributes
    ----------
    label
        The configuration's name.
    formula
        Its composition (cell formula).
    energy_eV
        Its total energy (eV per cell).
    n_atoms, n_fu
        Atoms and end-member formula units in the cell.
    x
        Amounts of each end member per formula unit (sums to 1).
    e_form_per_atom, e_form_per_fu
        Formation energy relative to the end members (eV/atom, eV per formula unit).
    e_hull_per_atom, e_hull_per_fu
        Energy above the hull (eV/atom, eV per formula unit); 0 on the hull.
    on_hull
        Whether the configuration is a vertex of the hull (stable).
    """

    label: str
    formula: str
    energy_eV: float
    n_atoms: float
    n_fu: float
    x: list[float]
    e_form_per_atom: float
    e_form_per_fu: float
    e_hull_per_atom: float
    e_hull_per_fu: float
    on_hull: bool

    def as_dict(self) -> dict[str, Any]:
        """The fields as a dict."""
        return asdict(self)


def _composition(c: Composition | str | dict) -> Composition:
    comp = c if isinstance(c, Composition) else Composition(c)
    return Composition(comp.element_composition)  # oxidation states dropped


def convex_hull(
    configurations: Sequence[tuple[str, Composition | str, float]],
    terminals: Sequence[Composition | str],
) -> list[HullPoint]:
    """Formation energy and energy above the hull of each configuration.

    Parameters
    ----------
    configurations
        ``(label, composition of the cell, total energy of the cell in eV)`` per configuration;
        every end member needs at least one.
    terminals
        The end-member compositions (e.g. ``["Li3YCl6", "Li3YBr6"]``); their reduced formula
        is the formula unit.

    Returns
    -------
    list of HullPoint
        In the order given.

    Raises
    ------
    IonflowInputError
        Fewer than two end members, an end member without a configuration, a composition
        outside the space they span, or a non-finite energy.
    """
    terms = [_composition(t).reduced_composition for t in terminals]
    if len(terms) < 2:
        raise IonflowInputError("a hull needs at least two end members")
    entries = []
    for label, comp, energy in configurations:
        if not np.isfinite(energy):
            raise IonflowInputError(f"configuration {label!r} has a non-finite energy {energy}")
        entries.append(PDEntry(_composition(comp), float(energy), name=str(label)))
    reduced = {e.composition.reduced_composition for e in entries}
    missing = [t.formula for t in terms if t not in reduced]
    if missing:
        raise IonflowInputError(f"no configuration of the end member(s) {', '.join(missing)}")
    try:
        pd = CompoundPhaseDiagram(entries, terms, normalize_terminal_compositions=True)
    except ValueError as exc:
        raise IonflowInputError(f"the hull could not be built: {exc}") from exc
    if len(pd.all_entries) != len(entries):
        raise IonflowInputError(
            "some configurations lie outside the space spanned by the end members "
            f"{', '.join(t.formula for t in terms)}"
        )
    by_entry = {id(e.original_entry): e for e in pd.all_entries}
    stable = {id(e.original_entry) for e in pd.stable_entries}
    atoms_per_fu = [t.num_atoms for t in terms]
    points = []
    for entry in entries:
        t_entry = by_entry[id(entry)]
        amounts = [float(t_entry.composition[sp]) for sp in pd.species_mapping.values()]
        fus = [a / n for a, n in zip(amounts, atoms_per_fu)]
        n_fu = float(sum(fus))
        n_atoms = float(entry.composition.num_atoms)
        n_t = float(t_entry.composition.num_atoms)
        e_form = float(pd.get_form_energy_per_atom(t_entry)) * n_t
        e_hull = max(0.0, float(pd.get_e_above_hull(t_entry))) * n_t
        points.append(
            HullPoint(
                label=entry.name,
                formula=entry.composition.formula,
                energy_eV=float(entry.energy),
                n_atoms=n_atoms,
                n_fu=n_fu,
                x=[f / n_fu for f in fus],
                e_form_per_atom=e_form / n_atoms,
                e_form_per_fu=e_form / n_fu,
                e_hull_per_atom=e_hull / n_atoms,
                e_hull_per_fu=e_hull / n_fu,
                on_hull=id(entry) in stable,
            )
        )
    return points


def boltzmann_select(
    e_hull: Sequence[float],
    groups: Sequence[Any] | None = None,
    temperature: float = 800.0,
    n_select: int | None = None,
    seed: int = 0,
) -> list[int]:
    """Pick configurations by their Boltzmann factor of E_hull, always keeping the lowest.

    Parameters
    ----------
    e_hull
        Energy above the hull of each configuration (eV per formula unit, deng2025).
    groups
        A key per configuration (its composition); the lowest of each group is always kept
        (default: one group).
    temperature
        Temperature of the Boltzmann factor (K; deng2025: 800 K).
    n_select
        ``None``: keep each configuration independently with probability
        ``exp(-E_hull / k_B T)`` (deng2025). A number: draw that many in all (the lowest of
        each group first, the rest without replacement with probability ∝ the factor).
    seed
        Seed of the random generator (the same seed gives the same selection).

    Returns
    -------
    list of int
        Sorted indices of the selected configurations.

    Raises
    ------
    IonflowInputError
        Non-positive temperature, negative or non-finite E_hull, mismatched lengths, or
        ``n_select`` smaller than the number of groups.
    """
    e = np.asarray(e_hull, dtype=float).ravel()
    if temperature <= 0:
        raise IonflowInputError(f"temperature must be positive, got {temperature}")
    if not np.all(np.isfinite(e)) or np.any(e < -1e-9):
        raise IonflowInputError("E_hull values must be finite and >= 0")
    keys = list(groups) if groups is not None else [0] * len(e)
    if len(keys) != len(e):
        raise IonflowInputError(f"{len(keys)} groups for {len(e)} configurations")
    if len(e) == 0:
        return []
    lowest = {}
    for i, key in enumerate(keys):
        if key not in lowest or e[i] < e[lowest[key]]:
            lowest[key] = i
    keep = set(lowest.values())
    factor = np.exp(-np.clip(e, 0.0, None) / (BOLTZMANN_EV_K * temperature))
    rng = np.random.default_rng(seed)
    if n_select is None:
        draws = rng.random(len(e))
        keep |= {i for i in range(len(e)) if draws[i] < factor[i]}
        return sorted(keep)
    if n_select < len(keep):
        raise IonflowInputError(
            f"n_select={n_select} is fewer than the {len(keep)} lowest configurations kept"
        )
    rest = np.array([i for i in range(len(e)) if i not in keep], dtype=int)
    n_more = min(n_select - len(keep), len(rest))
    if n_more > 0:
        p = factor[rest] / factor[rest].sum()
        keep |= {int(i) for i in rng.choice(rest, size=n_more, replace=False, p=p)}
    return sorted(keep)
