"""Ordering job: a disordered structure -> ranked ordered models."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobflow import Maker

from ionflow.core.errors import IonflowInputError
from ionflow.core.ordering import ENUMERATORS, order_structure
from ionflow.jobs.base import check_worker, ionflow_job
from ionflow.mlip import parse_model_spec
from ionflow.schemas.ordering import OrderingDoc
from ionflow.settings import default_model

if TYPE_CHECKING:
    from pymatgen.core import Structure

logger = logging.getLogger(__name__)


@dataclass
class OrderingMaker(Maker):
    """Symmetry-distinct orderings of a disordered structure, ranked by MLIP energy.

    bohm-champagne (2.1): every distinct ordering of a small supercell, relaxed with a
    universal MLIP, the lowest kept; deng2025: up to 2,000 orderings Ewald-ranked, MLIP
    energies, Boltzmann weights at 800 K, the lowest always kept.

    Parameters
    ----------
    name
        Job name.
    max_orderings
        Cap on the number of symmetry-distinct orderings of the supercell (more is an error
        naming the count, raised before any structure is made).
    top_k
        How many of the lowest-Ewald orderings the model relaxes and ranks.
    temperature
        Temperature of the Boltzmann weights (K).
    relax_cell
        Relax the cell too (the model is asked for the stress); default fixed cell.
    model
        Model spec (``"chgnet"``, ...; default ``IONFLOW_DEFAULT_MODEL``); ``None`` ranks by
        Ewald energy only (no model).
    max_atoms
        Largest ordered supercell searched for integral occupancies.
    supercell
        A fixed supercell (3 integers or a 3x3 matrix) instead of the smallest one, e.g.
        ``[1, 1, 2]`` as bohm-champagne.
    enumerator
        ``"auto"`` (enumlib when ``enum.x`` is on PATH, else shry, else pymatgen's
        Ewald-ranked orderings), or one of them by name, or ``"bruteforce"``.
    oxidation_states
        ``{"Li": 1, "Y": 3, "Cl": -1}``; default: the structure's own, else guessed.
    fmax
        Relaxation force convergence (eV/Å).
    max_steps
        Relaxation step limit per ordering.
    symprec
        Symmetry tolerance (Å).
    primitive
        Search supercells of the primitive cell instead of the cell as given.
    worker
        Kind of worker the job needs (``"gpu"``: MLIP relaxations; ``"cpu"`` for Ewald only).

    Examples
    --------
    >>> job = OrderingMaker(top_k=5, model="chgnet").make(disordered)  # doctest: +SKIP
    >>> doc = job.output  # OrderingDoc: .orderings (lowest first), .lowest  # doctest: +SKIP
    """

    name: str = "ordering"
    max_orderings: int = 2000
    top_k: int = 10
    temperature: float = 800.0
    relax_cell: bool = False
    model: str | dict | None = field(default_factory=default_model)
    max_atoms: int = 200
    supercell: list | None = None
    enumerator: str = "auto"
    oxidation_states: dict[str, float] | None = None
    fmax: float = 0.05
    max_steps: int = 200
    symprec: float = 0.1
    primitive: bool = False
    worker: str = "gpu"

    def __post_init__(self) -> None:
        if self.max_orderings < 1 or self.top_k < 1:
            raise IonflowInputError(
                f"max_orderings and top_k must be >= 1, got {self.max_orderings}, {self.top_k}"
            )
        if self.temperature < 0:
            raise IonflowInputError(f"temperature must be >= 0 K, got {self.temperature}")
        if self.enumerator not in ENUMERATORS:
            raise IonflowInputError(
                f"enumerator must be one of {ENUMERATORS}, got {self.enumerator!r}"
            )
        if self.model is not None:
            spec = parse_model_spec(self.model)
            if not isinstance(self.model, str):
                self.model = spec.as_dict()  # a plain dict that survives monty unchanged
        if self.supercell is not None:
            self.supercell = [list(r) if hasattr(r, "__len__") else int(r) for r in self.supercell]
        check_worker(self.worker)

    @ionflow_job(output_schema=OrderingDoc)
    def make(self, structure: Structure) -> OrderingDoc:
        """Enumerate, Ewald-rank, relax the best ``top_k`` and rank by MLIP energy.

        Parameters
        ----------
        structure
            Partially occupied structure (an ordered one comes back as its one ordering).

        Returns
        -------
        OrderingDoc
            The ranked orderings with energies, space groups and Boltzmann weights.
        """
        settings = self.settings()
        result = order_structure(
            structure,
            max_orderings=self.max_orderings,
            top_k=self.top_k,
            temperature=self.temperature,
            model=self.model,
            relax_cell=self.relax_cell,
            max_atoms=self.max_atoms,
            supercell=self.supercell,
            enumerator=self.enumerator,
            oxidation_states=self.oxidation_states,
            fmax=self.fmax,
            max_steps=self.max_steps,
            symprec=self.symprec,
            primitive=self.primitive,
        )
        for message in result.warnings:
            logger.warning("%s", message)
        return OrderingDoc.from_result(
            result, structure, relax_cell=self.relax_cell, settings=settings
        )

    def settings(self) -> dict[str, Any]:
        """The knobs stored with the document."""
        return {
            "max_orderings": self.max_orderings,
            "top_k": self.top_k,
            "temperature": self.temperature,
            "relax_cell": self.relax_cell,
            "max_atoms": self.max_atoms,
            "supercell": self.supercell,
            "enumerator": self.enumerator,
            "oxidation_states": self.oxidation_states,
            "fmax": self.fmax,
            "max_steps": self.max_steps,
            "symprec": self.symprec,
            "primitive": self.primitive,
        }
