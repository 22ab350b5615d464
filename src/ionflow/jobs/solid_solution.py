"""Solid-solution series job: members -> orderings by MLIP energy -> hull -> selection."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobflow import Maker

from ionflow.core.errors import IonflowInputError
from ionflow.core.ordering.solid_solution import composition_series, evaluate_series
from ionflow.jobs.base import check_worker, ionflow_job
from ionflow.schemas.solid_solution import SeriesConfigurationDoc, SolidSolutionDoc
from ionflow.settings import default_model

if TYPE_CHECKING:
    from pymatgen.core import Structure

logger = logging.getLogger(__name__)


def _space_group(structure: Structure) -> str:
    from ionflow.core.ordering import space_group

    return space_group(structure)[0]


@dataclass
class SolidSolutionMaker(Maker):
    """A composition series on a parent, its hull and Boltzmann selection (deng2025).

    Each member ``site(1-x) substituent(x)`` is ordered (enumeration, Ewald pre-ranking, MLIP
    relaxation of the best ``top_k``); every relaxed ordering enters the convex hull over the
    series (formation energies relative to the end members); configurations are kept with
    probability ``exp(-E_hull / k_B T)``, the lowest of each member always.

    Parameters
    ----------
    name
        Job name.
    site, substituent
        Element whose sites are shared and the incoming element (isovalent: Cl/Br, Y/In).
    fractions
        Values of x (the end members 0 and 1 are always added).
    model
        Model spec of the energies.
    max_orderings
        Cap on the symmetry-distinct orderings enumerated per member.
    top_k
        Orderings (best Ewald energy) relaxed with the model per member.
    relax_cell
        Relax the cell too (the members' volumes differ).
    max_atoms
        Largest supercell of an ordering.
    temperature
        Temperature of the selection (K; deng2025: 800 K).
    n_select
        Configurations to select in all (``None``: each kept with its Boltzmann probability).
    seed
        Seed of the selection.
    worker
        ``"gpu"`` (model relaxations).
    """

    name: str = "solid solution"
    site: str = "Cl"
    substituent: str = "Br"
    fractions: tuple[float, ...] = (0.5,)
    model: Any = field(default_factory=default_model)
    max_orderings: int = 100
    top_k: int = 5
    relax_cell: bool = True
    max_atoms: int = 64
    temperature: float = 800.0
    n_select: int | None = None
    seed: int = 0
    worker: str = "gpu"

    def __post_init__(self) -> None:
        self.fractions = tuple(float(x) for x in self.fractions)
        if self.top_k < 1 or self.max_orderings < 1:
            raise IonflowInputError("top_k and max_orderings must be >= 1")
        if self.temperature <= 0:
            raise IonflowInputError(f"temperature must be positive, got {self.temperature}")
        check_worker(self.worker)

    def members(self, parent: Structure) -> list:
        """The series members (checked before any model call)."""
        return composition_series(
            parent, self.site, self.substituent, self.fractions, max_atoms=self.max_atoms
        )

    def order_member(self, structure: Structure) -> list[tuple[str, Structure, float]]:
        """``[(label, relaxed ordering, energy eV per cell)]`` of one member."""
        from ionflow.core.ordering import order_structure

        result = order_structure(
            structure,
            max_orderings=self.max_orderings,
            top_k=self.top_k,
            temperature=self.temperature,
            model=self.model,
            relax_cell=self.relax_cell,
            max_atoms=self.max_atoms,
        )
        out = []
        for k, o in enumerate(result.orderings):
            energy = getattr(o, "energy_eV", None)
            if energy is None:
                energy = o.energy_per_atom_eV * len(o.structure)
            out.append((f"ordering {k}", o.structure, float(energy)))
        return out

    @ionflow_job(output_schema=SolidSolutionDoc, data=["configurations"])
    def make(self, parent: Structure) -> SolidSolutionDoc:
        """Order every member, build the hull, select configurations.

        Parameters
        ----------
        parent
            The parent structure (ordered or partially occupied).

        Returns
        -------
        SolidSolutionDoc
            Every configuration with its energy, formation energy, E_hull and selection flag.
        """
        t0 = time.perf_counter()
        members = self.members(parent)
        result = evaluate_series(
            members,
            self.order_member,
            temperature=self.temperature,
            n_select=self.n_select,
            seed=self.seed,
        )
        configs = [
            SeriesConfigurationDoc(
                label=c.label,
                x=c.x,
                formula=c.formula,
                cell_formula=c.structure.composition.formula,
                energy_eV=c.energy_eV,
                n_atoms=len(c.structure),
                e_form_per_fu_eV=c.hull.e_form_per_fu,
                e_form_per_atom_eV=c.hull.e_form_per_atom,
                e_hull_per_fu_eV=c.hull.e_hull_per_fu,
                e_hull_per_atom_eV=c.hull.e_hull_per_atom,
                on_hull=c.hull.on_hull,
                selected=c.selected,
                space_group=_space_group(c.structure),
                structure=c.structure,
            )
            for c in result.configurations
        ]
        lowest = result.lowest_per_member()
        return SolidSolutionDoc(
            parent_formula=parent.composition.reduced_formula,
            site=self.site,
            substituent=self.substituent,
            fractions=[m.x for m in members],
            member_formulas=[m.formula for m in members],
            model=str(self.model),
            temperature_K=self.temperature,
            seed=self.seed,
            n_select=self.n_select,
            configurations=configs,
            n_configurations=len(configs),
            n_selected=len(result.selected),
            lowest_per_member={c.formula: c.label for c in lowest.values()},
            stable_formulas=sorted({c.formula for c in lowest.values() if c.hull.on_hull}),
            wall_time_s=time.perf_counter() - t0,
        )
