"""Document of an ordering job (:class:`~ionflow.jobs.ordering.OrderingMaker`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field
from pymatgen.core import Structure

if TYPE_CHECKING:
    from ionflow.core.ordering import OrderingResult

__all__ = ["OrderingDoc", "OrderingEntry"]


class OrderingEntry(BaseModel):
    """One ordered model, ranked."""

    rank: int = Field(description="0: lowest energy")
    structure: Structure = Field(description="Ordered supercell (MLIP-relaxed when ranked so)")
    enumeration_index: int
    ewald_energy_eV: float | None = Field(None, description="Unrelaxed, eV per cell")
    ewald_rank: int
    energy_eV: float | None = Field(None, description="MLIP energy, eV per cell (relaxed)")
    energy_per_atom_eV: float = Field(description="Ranking energy (MLIP, else Ewald)")
    energy_per_fu_eV: float
    relative_energy_meV_atom: float
    relative_energy_eV_fu: float
    space_group: str
    space_group_number: int
    weight: float = Field(description="Boltzmann weight at the document's temperature")
    converged: bool | None = None
    n_steps: int | None = None
    max_force_eV_A: float | None = None
    relax_time_s: float | None = None


class OrderingDoc(BaseModel):
    """Ranked ordered models of a disordered structure."""

    formula: str = Field(description="Reduced formula of the disordered input")
    parent_composition: dict[str, float] = Field(description="Per cell of the input")
    supercell_matrix: list[list[int]]
    supercell_size: int
    n_atoms: int = Field(description="Atoms of each ordered supercell")
    enumerator: str
    n_enumerated: int
    n_distinct: int | None = Field(None, description="Symmetry-distinct orderings (if known)")
    n_configurations: int
    exact: bool = Field(description="The enumeration listed every distinct ordering")
    energy_source: str = Field(description="'mlip' or 'ewald'")
    model: str | None = None
    temperature_K: float
    relax_cell: bool = False
    oxidation_states: dict[str, float] = Field(default_factory=dict)
    orderings: list[OrderingEntry]
    timings_s: dict[str, float] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict)

    @property
    def lowest(self) -> OrderingEntry:
        """The lowest-energy ordering."""
        return self.orderings[0]

    @classmethod
    def from_result(cls, result: OrderingResult, parent: Structure, **extra: Any) -> OrderingDoc:
        """The document of a :class:`~ionflow.core.ordering.OrderingResult`.

        Parameters
        ----------
        result
            From :func:`~ionflow.core.ordering.order_structure`.
        parent
            The disordered input.
        **extra
            More fields (``relax_cell``, ``settings``).

        Returns
        -------
        OrderingDoc
            The document.
        """
        entries = [
            OrderingEntry(
                rank=rank,
                structure=c.structure,
                enumeration_index=c.index,
                ewald_energy_eV=c.ewald_energy_eV,
                ewald_rank=c.ewald_rank,
                energy_eV=c.energy_eV,
                energy_per_atom_eV=c.energy_per_atom_eV,
                energy_per_fu_eV=c.energy_per_fu_eV,
                relative_energy_meV_atom=c.relative_energy_meV_atom,
                relative_energy_eV_fu=c.relative_energy_eV_fu,
                space_group=c.space_group,
                space_group_number=c.space_group_number,
                weight=c.weight,
                converged=c.converged,
                n_steps=c.n_steps,
                max_force_eV_A=c.max_force_eV_A,
                relax_time_s=c.relax_time_s,
            )
            for rank, c in enumerate(result.orderings)
        ]
        comp = parent.composition.element_composition
        return cls(
            formula=result.formula,
            parent_composition={el.symbol: float(amt) for el, amt in comp.items()},
            supercell_matrix=[list(r) for r in result.supercell.matrix],
            supercell_size=result.supercell.size,
            n_atoms=result.supercell.n_atoms,
            enumerator=result.enumerator,
            n_enumerated=result.n_enumerated,
            n_distinct=result.n_distinct,
            n_configurations=result.n_configurations,
            exact=result.exact,
            energy_source=result.energy_source,
            model=result.model,
            temperature_K=result.temperature,
            oxidation_states=result.oxidation_states,
            orderings=entries,
            timings_s=result.timings,
            warnings=result.warnings,
            **extra,
        )
