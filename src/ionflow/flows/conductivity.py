"""ConductivityFlow: structure -> MLIP-MD at each T x runs -> D(T) -> Arrhenius, σ(300 K)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from jobflow import Flow, Maker, OnMissing

from ionflow.core.errors import IonflowInputError
from ionflow.core.hops import normalize_species, supercell_matrix, validate_structure
from ionflow.jobs.diffusion import ArrheniusMaker, DiffusionAnalysisMaker
from ionflow.jobs.md import MLIPMDMaker

if TYPE_CHECKING:
    from pymatgen.core import Structure


@dataclass
class ConductivityFlow(Maker):
    """MD-based conductivity of one structure (lian2025, bohm-champagne, deng2025).

    Parameters
    ----------
    name
        Flow name.
    temperatures
        MD temperatures (K), typically well above 300 K so that hops are sampled.
    n_runs
        Independent runs per temperature (seeds ``seed0 .. seed0 + n_runs - 1``).
    seed0
        First seed.
    supercell_min_length
        Make a diagonal supercell with every lattice length at least this (Å) before MD;
        None keeps the structure as given.
    supercell
        Explicit diagonal repeats (e.g. ``(2, 2, 2)``), overriding ``supercell_min_length``.
    mobile_species
        The diffusing ion.
    md_maker, diffusion_maker, arrhenius_maker
        The step Makers (MD settings such as ``production_ps`` and ``npt_equilibration_ps``
        live in ``md_maker.md_settings``).
    """

    name: str = "conductivity"
    temperatures: tuple[float, ...] = (600.0, 800.0, 1000.0)
    n_runs: int = 3
    seed0: int = 0
    supercell_min_length: float | None = 10.0
    supercell: tuple[int, int, int] | None = None
    mobile_species: str = "Li"
    md_maker: MLIPMDMaker = field(default_factory=MLIPMDMaker)
    diffusion_maker: DiffusionAnalysisMaker = field(default_factory=DiffusionAnalysisMaker)
    arrhenius_maker: ArrheniusMaker = field(default_factory=ArrheniusMaker)

    def __post_init__(self) -> None:
        if not self.temperatures:
            raise IonflowInputError("ConductivityFlow needs at least one temperature")
        if any(t <= 0 for t in self.temperatures):
            raise IonflowInputError(f"Temperatures must be positive, got {self.temperatures}")
        if self.n_runs < 1:
            raise IonflowInputError(f"n_runs must be >= 1, got {self.n_runs}")
        self.mobile_species = normalize_species(self.mobile_species)
        if self.md_maker.md_settings.mobile_species != self.mobile_species:
            # the MD run records the mobile species' trajectory: a copy, never the caller's
            self.md_maker = replace(
                self.md_maker,
                md_settings=replace(self.md_maker.md_settings, mobile_species=self.mobile_species),
            )

    def prepare(self, structure: Structure) -> Structure:
        """Return the MD cell: validated, ordered, expanded to the requested supercell.

        Parameters
        ----------
        structure
            The input structure.

        Returns
        -------
        Structure
            The supercell the MD runs on.
        """
        validate_structure(structure, self.mobile_species)
        s = structure.copy()
        if self.supercell is not None:
            s.make_supercell(list(self.supercell))
        elif self.supercell_min_length:
            s.make_supercell(supercell_matrix(s, self.supercell_min_length))
        return s

    def make(self, structure: Structure) -> Flow:
        """Flow whose output is the :class:`~ionflow.schemas.diffusion.ArrheniusDoc`.

        Parameters
        ----------
        structure
            The structure (ordered, containing the mobile species).

        Returns
        -------
        Flow
            MD at each temperature x runs, one analysis per temperature, the Arrhenius fit.
        """
        cell = self.prepare(structure)
        jobs = []
        diffusion_outputs = []
        for T in self.temperatures:
            md_jobs = [
                self.md_maker.make(cell, float(T), seed=self.seed0 + k) for k in range(self.n_runs)
            ]
            analysis = self.diffusion_maker.make([j.output for j in md_jobs], float(T))
            # a run that died (killed worker) must not block the analysis of the others
            analysis.config.on_missing_references = OnMissing.NONE
            jobs += [*md_jobs, analysis]
            diffusion_outputs.append(analysis.output)
        arrhenius = self.arrhenius_maker.make(
            diffusion_outputs,
            formula=cell.composition.reduced_formula,
            mobile_species=self.mobile_species,
        )
        arrhenius.config.on_missing_references = OnMissing.NONE
        jobs.append(arrhenius)
        return Flow(jobs, output=arrhenius.output, name=f"{self.name} {cell.formula}")
