"""ConductivityFlow: structure -> MLIP-MD at each T x runs -> D(T) -> Arrhenius, σ(300 K).

A partially occupied structure is ordered first (:class:`~ionflow.jobs.ordering.OrderingMaker`)
and the flow runs on ``n_orderings`` orderings selected by Boltzmann weight (the lowest always),
one Arrhenius result per ordering, combined by weight (:class:`OrderingsConductivityDoc`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from jobflow import Flow, Maker, OnMissing, Response, job

from ionflow.core.errors import IonflowInputError
from ionflow.core.hops import normalize_species, supercell_matrix, validate_structure
from ionflow.flows.ordering import ordering_rows, select_orderings
from ionflow.jobs.base import route
from ionflow.jobs.diffusion import ArrheniusMaker, DiffusionAnalysisMaker
from ionflow.jobs.md import MLIPMDMaker
from ionflow.jobs.ordering import OrderingMaker
from ionflow.schemas.solid_solution import OrderingConductivity, OrderingsConductivityDoc

if TYPE_CHECKING:
    from collections.abc import Sequence

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
    n_orderings
        For a partially occupied input: how many orderings to run, the lowest always and the
        others drawn by Boltzmann weight (1: the lowest only).
    ordering_maker
        For a partially occupied input: the :class:`~ionflow.jobs.ordering.OrderingMaker`
        (``None``: its defaults).
    ordering_seed
        Seed of the draw of orderings.
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
    n_orderings: int = 1
    ordering_maker: Any = None
    ordering_seed: int = 0

    def __post_init__(self) -> None:
        if not self.temperatures:
            raise IonflowInputError("ConductivityFlow needs at least one temperature")
        if any(t <= 0 for t in self.temperatures):
            raise IonflowInputError(f"Temperatures must be positive, got {self.temperatures}")
        if self.n_runs < 1:
            raise IonflowInputError(f"n_runs must be >= 1, got {self.n_runs}")
        if self.n_orderings < 1:
            raise IonflowInputError(f"n_orderings must be >= 1, got {self.n_orderings}")
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
            The structure containing the mobile species; a partially occupied one is ordered
            first and the output is then an :class:`OrderingsConductivityDoc`.

        Returns
        -------
        Flow
            MD at each temperature x runs, one analysis per temperature, the Arrhenius fit.
        """
        if not structure.is_ordered:
            return self._make_disordered(structure)
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

    def _make_disordered(self, structure: Structure) -> Flow:
        validate_structure(structure, self.mobile_species, allow_disordered=True)
        maker = self.ordering_maker if self.ordering_maker is not None else OrderingMaker()
        order_job = maker.make(structure)
        per_ordering = replace(self, n_orderings=1, ordering_maker=None)
        fan = conductivity_of_orderings(
            order_job.output,
            per_ordering,
            n_orderings=self.n_orderings,
            seed=self.ordering_seed,
            formula=structure.composition.reduced_formula,
        )
        fan.name = "conductivity of orderings"
        route(fan, "cpu")
        name = f"{self.name} {structure.composition.reduced_formula} (disordered)"
        return Flow([order_job, fan], output=fan.output, name=name)


@job
def conductivity_of_orderings(
    ordering_doc: Any,
    flow_maker: ConductivityFlow,
    n_orderings: int = 1,
    seed: int = 0,
    formula: str | None = None,
) -> Response:
    """Fan out one conductivity flow per selected ordering, then combine them.

    Parameters
    ----------
    ordering_doc
        Output of the ordering job (orderings lowest first, with Boltzmann weights).
    flow_maker
        The :class:`ConductivityFlow` run on each (ordered) ordering.
    n_orderings
        How many orderings (the lowest always, the others drawn by weight).
    seed
        Seed of the draw.
    formula
        Formula of the disordered input.

    Returns
    -------
    Response
        Replaces this job by the per-ordering flows and the combining job.
    """
    rows = ordering_rows(ordering_doc)
    chosen = select_orderings([r.get("weight") or 0.0 for r in rows], n_orderings, seed)
    flows, meta = [], []
    for i in chosen:
        row = rows[i]
        sub = flow_maker.make(row["structure"])
        sub.name = f"{sub.name} ordering {i}"
        arrhenius = sub.jobs[-1]  # its plots are named by formula: one name per ordering
        label = arrhenius.function_kwargs.get("formula") or "ordering"
        arrhenius.function_kwargs["formula"] = f"{label}_ordering{i}"
        flows.append(sub)
        meta.append(
            {
                "index": int(row.get("index", i)),
                "weight": float(row.get("weight") or 0.0),
                "energy_per_atom_eV": row.get("energy_per_atom_eV"),
                "space_group": row.get("space_group"),
                "formula": row["structure"].composition.reduced_formula,
            }
        )
    combine = combine_orderings_conductivity(
        [f.output for f in flows],
        meta,
        formula=formula,
        mobile_species=flow_maker.mobile_species,
        seed=seed,
    )
    combine.name = "combine orderings conductivity"
    # an ordering whose flow died must not block the combination of the others
    combine.config.on_missing_references = OnMissing.NONE
    route(combine, "cpu", _allow_fizzled_parents=True)
    return Response(replace=Flow([*flows, combine], output=combine.output, name="orderings"))


def _weighted(values: Sequence[float | None], weights: Sequence[float]) -> tuple[Any, Any]:
    pairs = [(v, w) for v, w in zip(values, weights) if v is not None and np.isfinite(v)]
    if not pairs:
        return None, None
    v = np.array([p[0] for p in pairs], dtype=float)
    w = np.array([p[1] for p in pairs], dtype=float)
    w = w / w.sum() if w.sum() > 0 else np.full(len(v), 1.0 / len(v))
    mean = float(np.sum(w * v))
    return mean, float(np.sqrt(np.sum(w * (v - mean) ** 2)))


def _ordering_result(doc: Any, meta: dict[str, Any]) -> OrderingConductivity:
    if doc is None:
        return OrderingConductivity(**meta, failure="the ordering's conductivity flow failed")
    d = doc.model_dump() if hasattr(doc, "model_dump") else dict(doc)
    d.pop("plots_png_b64", None)
    return OrderingConductivity(
        **meta,
        Ea_eV=d.get("Ea_eV"),
        Ea_err_eV=d.get("Ea_err_eV"),
        sigma_mS_cm=d.get("sigma_mS_cm"),
        D_cm2_s=list(d.get("D_cm2_s") or []),
        temperatures_K=list(d.get("temperatures_K") or []),
        arrhenius=d,
    )


def _ordering_warnings(rows: Sequence[OrderingConductivity]) -> list[str]:
    """Each ordering's failure or doubtful fit, and its own Arrhenius warnings, prefixed."""
    out = []
    for r in rows:
        if r.failure:
            out.append(f"ordering {r.index}: {r.failure}")
        elif r.Ea_eV is None:
            out.append(f"ordering {r.index}: no Arrhenius fit")
        elif r.Ea_eV <= 0:
            out.append(
                f"ordering {r.index}: Ea = {r.Ea_eV:.3f} eV <= 0 (D does not rise with T: MD too "
                "short or too few hops); its σ enters the average but is not meaningful"
            )
        out += [f"ordering {r.index}: {w}" for w in (r.arrhenius or {}).get("warnings") or []]
    return out


@job(output_schema=OrderingsConductivityDoc)
def combine_orderings_conductivity(
    arrhenius_docs: Sequence[Any],
    orderings: Sequence[dict[str, Any]],
    formula: str | None = None,
    mobile_species: str = "Li",
    seed: int = 0,
) -> OrderingsConductivityDoc:
    """Per-ordering Arrhenius results and their weight average (weights renormalised).

    Parameters
    ----------
    arrhenius_docs
        :class:`~ionflow.schemas.diffusion.ArrheniusDoc` per ordering (``None`` where a flow
        died).
    orderings
        Index, Boltzmann weight, energy, space group of each ordering, in the same order.
    formula
        Formula of the disordered input.
    mobile_species
        The diffusing ion.
    seed
        Seed the orderings were drawn with.

    Returns
    -------
    OrderingsConductivityDoc
        One entry per ordering; D per temperature, Ea and σ weight-averaged with their spread.
    """
    rows = [_ordering_result(doc, dict(m)) for doc, m in zip(arrhenius_docs, orderings)]
    total = sum(r.weight for r in rows) or 1.0
    for r in rows:
        r.weight = r.weight / total if total else 1.0 / len(rows)
    weights = [r.weight for r in rows]
    temps = next((r.temperatures_K for r in rows if r.temperatures_K), [])
    d_mean, d_spread = [], []
    for k in range(len(temps)):
        m, s = _weighted([r.D_cm2_s[k] if k < len(r.D_cm2_s) else None for r in rows], weights)
        d_mean.append(m)
        d_spread.append(s)
    ea, ea_s = _weighted([r.Ea_eV for r in rows], weights)
    sig, sig_s = _weighted([r.sigma_mS_cm for r in rows], weights)
    sigmas = [r.sigma_mS_cm for r in rows if r.sigma_mS_cm is not None]
    warnings = _ordering_warnings(rows)
    t_ext = next((r.arrhenius.get("T_extrapolate_K") for r in rows if r.arrhenius), None)
    return OrderingsConductivityDoc(
        formula=formula or next((r.formula for r in rows if r.formula), ""),
        mobile_species=mobile_species,
        n_orderings=len(rows),
        selection_seed=seed,
        orderings=rows,
        temperatures_K=list(temps),
        D_cm2_s=d_mean,
        D_spread_cm2_s=d_spread,
        Ea_eV=ea,
        Ea_spread_eV=ea_s,
        sigma_mS_cm=sig,
        sigma_spread_mS_cm=sig_s,
        sigma_range_mS_cm=[min(sigmas), max(sigmas)] if sigmas else None,
        T_extrapolate_K=t_ext,
        warnings=warnings,
    )
