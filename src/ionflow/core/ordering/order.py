"""Disordered structure -> ranked ordered models (:func:`order_structure`)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ionflow.core.errors import IonflowInputError
from ionflow.core.ordering.energy import (
    boltzmann_weights,
    ewald_energy,
    relax_ordering,
    space_group,
)
from ionflow.core.ordering.enumerate import count_orderings, enumerate_orderings
from ionflow.core.ordering.supercell import SupercellChoice, find_integral_supercell
from ionflow.core.ordering.validate import (
    ORBIT,
    check_occupancies,
    label_orbits,
    oxidation_decorated,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pymatgen.core import Structure

    from ionflow.mlip.models import Evaluator

__all__ = ["OrderedCandidate", "OrderingPlan", "OrderingResult", "order_structure", "plan_ordering"]

logger = logging.getLogger(__name__)


@dataclass
class OrderedCandidate:
    """One ordered model of the disordered input.

    Attributes
    ----------
    structure
        The ordered supercell (MLIP-relaxed when a model ranked it; oxidation states kept).
    index
        Its position in the enumerator's list.
    ewald_energy_eV
        Ewald energy of the unrelaxed ordering (eV per cell).
    ewald_rank
        Rank by Ewald energy among all enumerated orderings (0: lowest).
    energy_eV
        MLIP energy of the relaxed ordering (eV per cell); None when ranked by Ewald only.
    energy_per_atom_eV, energy_per_fu_eV
        The ranking energy (MLIP, else Ewald) per atom and per formula unit.
    relative_energy_meV_atom
        Above the lowest ranked ordering, meV/atom.
    relative_energy_eV_fu
        Above the lowest ranked ordering, eV per formula unit (what the weights use).
    space_group, space_group_number
        Of the (relaxed) ordering.
    weight
        Boltzmann weight at the result's temperature (the listed orderings sum to 1).
    converged, n_steps, max_force_eV_A, relax_time_s
        The relaxation (None when not relaxed).
    """

    structure: Structure
    index: int
    ewald_energy_eV: float | None
    ewald_rank: int
    energy_eV: float | None = None
    energy_per_atom_eV: float = 0.0
    energy_per_fu_eV: float = 0.0
    relative_energy_meV_atom: float = 0.0
    relative_energy_eV_fu: float = 0.0
    space_group: str = "P1"
    space_group_number: int = 1
    weight: float = 0.0
    converged: bool | None = None
    n_steps: int | None = None
    max_force_eV_A: float | None = None
    relax_time_s: float | None = None


@dataclass
class OrderingResult:
    """Ranked ordered models of a disordered structure.

    Attributes
    ----------
    formula
        Reduced formula of the input.
    orderings
        Ranked candidates, lowest energy first.
    supercell
        The supercell that made every occupancy integral.
    enumerator
        Which enumerator ran (``"shry"``, ``"enumlib"``, ``"bruteforce"``, ``"pymatgen"``).
    n_enumerated
        Ordered structures the enumerator produced (all Ewald-ranked).
    n_distinct
        Symmetry-distinct orderings in the supercell, when the enumerator knows.
    n_configurations
        All configurations (no symmetry).
    exact
        Whether the enumeration was complete.
    energy_source
        ``"mlip"`` or ``"ewald"``.
    model
        Model label (None: Ewald only).
    temperature
        Of the Boltzmann weights (K).
    oxidation_states
        Per element, as used for the Ewald energies.
    timings
        Seconds spent: ``enumerate``, ``ewald``, ``relax``, ``total``.
    warnings
        Unconverged relaxations and the like.
    """

    formula: str
    orderings: list[OrderedCandidate]
    supercell: SupercellChoice
    enumerator: str
    n_enumerated: int
    n_distinct: int | None
    n_configurations: int
    exact: bool
    energy_source: str
    model: str | None
    temperature: float
    oxidation_states: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def lowest(self) -> OrderedCandidate:
        """The lowest-energy ordering."""
        return self.orderings[0]


@dataclass
class OrderingPlan:
    """What :func:`plan_ordering` decided, before any ordering is made.

    Attributes
    ----------
    structure
        The input with oxidation states.
    supercell
        The supercell that makes every occupancy integral.
    n_distinct
        Exact number of distinct orderings when known cheaply (shry), else None.
    """

    structure: Structure
    supercell: SupercellChoice
    n_distinct: int | None


def plan_ordering(
    structure: Structure,
    *,
    max_orderings: int = 2000,
    max_atoms: int = 200,
    supercell: Sequence[int] | Sequence[Sequence[int]] | None = None,
    enumerator: str = "auto",
    oxidation_states: Mapping[str, float] | None = None,
    symprec: float = 0.1,
    primitive: bool = False,
) -> OrderingPlan:
    """Every input check of :func:`order_structure`, without enumerating (seconds at most).

    Parameters
    ----------
    structure, max_orderings, max_atoms, supercell, enumerator, oxidation_states, symprec
        As for :func:`order_structure`.
    primitive
        As for :func:`order_structure`.

    Returns
    -------
    OrderingPlan
        Decorated structure, supercell and (when known) the count of distinct orderings.

    Raises
    ------
    IonflowInputError
        Occupancies above 1, charges that cannot balance, no integral supercell within
        ``max_atoms``, more orderings than ``max_orderings``.
    """
    check_occupancies(structure)
    decorated = oxidation_decorated(_cell(structure, primitive), oxidation_states)
    decorated = label_orbits(decorated, symprec)
    choice = find_integral_supercell(decorated, max_atoms=max_atoms, supercell=supercell)
    count = count_orderings(
        decorated, choice, max_orderings=max_orderings, enumerator=enumerator, symprec=symprec
    )
    return OrderingPlan(decorated, choice, count)


def _cell(structure: Structure, primitive: bool) -> Structure:
    """The cell whose supercells are searched: the input's, or its primitive cell."""
    if not primitive:
        return structure
    prim = structure.get_primitive_structure()
    if len(prim) < len(structure):
        logger.info("Primitive cell: %d sites (the input has %d)", len(prim), len(structure))
    return prim


def _resolve_evaluator(model: Any) -> Evaluator | None:
    if model is None:
        return None
    from ionflow.mlip import Evaluator, get_evaluator

    return model if isinstance(model, Evaluator) else get_evaluator(model)


def _has_oxidation_states(structure: Structure) -> bool:
    return all(getattr(sp, "oxi_state", None) is not None for sp in structure.composition)


def _oxidation_map(structure: Structure) -> dict[str, float]:
    out = {}
    for sp in structure.composition:
        if getattr(sp, "oxi_state", None) is not None:
            out[sp.symbol] = float(sp.oxi_state)
    return out


def order_structure(
    structure: Structure,
    *,
    max_orderings: int = 2000,
    top_k: int = 10,
    temperature: float = 800.0,
    model: Any = None,
    relax_cell: bool = False,
    max_atoms: int = 200,
    supercell: Sequence[int] | Sequence[Sequence[int]] | None = None,
    enumerator: str = "auto",
    oxidation_states: Mapping[str, float] | None = None,
    fmax: float = 0.05,
    max_steps: int = 200,
    symprec: float = 0.1,
    primitive: bool = False,
) -> OrderingResult:
    """Ordered models of a disordered structure, ranked by MLIP (else Ewald) energy.

    Steps (bohm-champagne 2.1, deng2025): check the occupancies; oxidation states (given or
    guessed); the smallest supercell within ``max_atoms`` that makes every occupancy integral;
    every symmetry-distinct ordering (capped at ``max_orderings``, checked before any is
    made); Ewald energies of all; MLIP relaxation of the ``top_k`` lowest-Ewald ones; ranking
    by MLIP energy; Boltzmann weights at ``temperature`` from the energy per formula unit.

    Parameters
    ----------
    structure
        Partially occupied structure (an ordered one comes back as its one ordering).
    max_orderings
        Cap on the number of symmetry-distinct orderings (more is an error naming the count).
    top_k
        How many of the lowest-Ewald orderings are kept: the model relaxes and ranks them
        (with ``model=None`` they are ranked by Ewald energy).
    temperature
        Boltzmann temperature (K; deng2025: 800 K).
    model
        Model spec or loaded :class:`~ionflow.mlip.Evaluator`; None ranks by Ewald energy.
    relax_cell
        Relax the cell too (the model is then asked for the stress); default fixed cell.
    max_atoms
        Largest ordered supercell searched.
    supercell
        Use this supercell (3 integers or a 3x3 matrix) instead of the smallest one.
    enumerator
        ``"auto"``, ``"enumlib"``, ``"shry"``, ``"bruteforce"`` or ``"pymatgen"``.
    oxidation_states
        ``{"Li": 1, ...}``; default: the structure's own, else guessed.
    fmax, max_steps
        Relaxation convergence (eV/Å) and step limit.
    symprec
        Symmetry tolerance (Å).
    primitive
        Search supercells of the primitive cell of ``structure`` (partial occupancies kept)
        instead of the cell as given (e.g. the 126-site hexagonal NASICON cell -> 42 sites).

    Returns
    -------
    OrderingResult
        The ranked orderings; ``.lowest`` is the first.

    Raises
    ------
    IonflowInputError
        Occupancies above 1, no integral supercell within ``max_atoms``, oxidation states
        that cannot balance, more orderings than ``max_orderings`` — all before any model call.
    """
    t_start = time.perf_counter()
    if top_k < 1 or max_orderings < 1:
        raise IonflowInputError(
            f"top_k and max_orderings must be >= 1, got {top_k} and {max_orderings}"
        )
    check_occupancies(structure)
    try:
        decorated = oxidation_decorated(_cell(structure, primitive), oxidation_states)
    except IonflowInputError:
        if not structure.is_ordered:
            raise
        decorated = _cell(structure, primitive)  # an ordered input needs no charges
    decorated = label_orbits(decorated, symprec)
    choice = find_integral_supercell(decorated, max_atoms=max_atoms, supercell=supercell)
    enum = enumerate_orderings(
        decorated, choice, max_orderings=max_orderings, enumerator=enumerator, symprec=symprec
    )
    t_enum = time.perf_counter()
    charged = _has_oxidation_states(decorated)
    ewald = [ewald_energy(s) if charged else None for s in enum.structures]
    order = sorted(range(len(ewald)), key=lambda i: ewald[i] or 0.0)
    t_ewald = time.perf_counter()
    if charged:
        logger.info(
            "Ewald energies of %d orderings in %.1f s (lowest %.4f eV/atom)",
            len(ewald),
            t_ewald - t_enum,
            ewald[order[0]] / len(enum.structures[order[0]]),
        )
    evaluator = _resolve_evaluator(model)  # after every input check
    chosen = order[:top_k]
    candidates = []
    warnings = []
    for rank, idx in enumerate(chosen):
        ordered = enum.structures[idx].copy()
        if ORBIT in ordered.site_properties:
            ordered.remove_site_property(ORBIT)
        cand = OrderedCandidate(ordered, idx, ewald[idx], order.index(idx))
        if evaluator is not None:
            _relax_into(cand, evaluator, relax_cell, fmax, max_steps, rank, len(chosen))
            if not cand.converged:
                warnings.append(
                    f"ordering {idx}: relaxation not converged after {cand.n_steps} steps "
                    f"(max force {cand.max_force_eV_A:.3f} eV/Å)"
                )
        candidates.append(cand)
    t_relax = time.perf_counter()
    _rank(candidates, temperature, symprec, mlip=evaluator is not None)
    return OrderingResult(
        formula=structure.composition.reduced_formula,
        orderings=candidates,
        supercell=choice,
        enumerator=enum.enumerator,
        n_enumerated=len(enum.structures),
        n_distinct=enum.n_distinct,
        n_configurations=enum.n_configurations,
        exact=enum.exact,
        energy_source="mlip" if evaluator is not None else "ewald",
        model=evaluator.spec.label if evaluator is not None else None,
        temperature=temperature,
        oxidation_states=_oxidation_map(decorated),
        timings={
            "enumerate": t_enum - t_start,
            "ewald": t_ewald - t_enum,
            "relax": t_relax - t_ewald,
            "total": time.perf_counter() - t_start,
        },
        warnings=warnings,
    )


def _relax_into(
    cand: OrderedCandidate,
    evaluator: Evaluator,
    relax_cell: bool,
    fmax: float,
    max_steps: int,
    rank: int,
    n: int,
) -> None:
    relaxed = relax_ordering(
        cand.structure, evaluator, relax_cell=relax_cell, fmax=fmax, max_steps=max_steps
    )
    cand.structure = relaxed.structure
    cand.energy_eV = relaxed.energy
    cand.converged = relaxed.converged
    cand.n_steps = relaxed.n_steps
    cand.max_force_eV_A = relaxed.max_force
    cand.relax_time_s = relaxed.wall_time_s
    logger.info(
        "[%d/%d] ordering %d (Ewald rank %d): %.4f eV/atom, %s after %d steps "
        "(max force %.3f eV/Å), %.1f s",
        rank + 1,
        n,
        cand.index,
        cand.ewald_rank,
        relaxed.energy / len(relaxed.structure),
        "converged" if relaxed.converged else "NOT converged",
        relaxed.n_steps,
        relaxed.max_force,
        relaxed.wall_time_s,
    )


def _rank(
    candidates: list[OrderedCandidate], temperature: float, symprec: float, mlip: bool
) -> None:
    """Energies per atom / f.u., relative energies, space groups and weights; sort in place."""
    for cand in candidates:
        total = cand.energy_eV if mlip else (cand.ewald_energy_eV or 0.0)
        n_fu = cand.structure.composition.get_reduced_composition_and_factor()[1]
        cand.energy_per_atom_eV = total / len(cand.structure)
        cand.energy_per_fu_eV = total / n_fu
        cand.space_group, cand.space_group_number = space_group(cand.structure, symprec)
    candidates.sort(key=lambda c: c.energy_per_atom_eV)
    e_atom = candidates[0].energy_per_atom_eV
    e_fu = candidates[0].energy_per_fu_eV
    weights = boltzmann_weights([c.energy_per_fu_eV for c in candidates], temperature)
    for cand, w in zip(candidates, weights):
        cand.relative_energy_meV_atom = 1000.0 * (cand.energy_per_atom_eV - e_atom)
        cand.relative_energy_eV_fu = cand.energy_per_fu_eV - e_fu
        cand.weight = float(w)
