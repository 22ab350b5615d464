"""ScreenHopsFlow: structure -> every inequivalent hop -> MLIP-NEB barrier -> summary.

With shared work: enumeration -> one relaxation per distinct vacancy -> one NEB per distinct
path (endpoints mapped from the relaxed vacancies) -> the same per-hop table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobflow import Flow, Maker, OnMissing, Response, job
from pymatgen.core import Structure

from ionflow.core.errors import IonflowInputError
from ionflow.core.hops import Hop
from ionflow.core.neb.result import INTERMEDIATE_MINIMUM_EV
from ionflow.core.neb.summary import summarize_hops
from ionflow.core.screen import MappedEndpoint, ScreenPlan, map_vacancy, plan_screen
from ionflow.core.screen.plan import HopEnds
from ionflow.flows.ordering import DEFAULT_MAX_HOPS, ordered_structure_job
from ionflow.jobs.base import route
from ionflow.jobs.hops import HopEnumerationMaker
from ionflow.jobs.neb import MLIPNebMaker
from ionflow.jobs.ordering import OrderingMaker
from ionflow.jobs.vacancy import VacancyRelaxMaker
from ionflow.schemas.hops import HopEnumerationDoc, HopScreenDoc, SiteDoc

if TYPE_CHECKING:
    from collections.abc import Sequence

logger = logging.getLogger(__name__)

_HOP_META = ("hop_id", "initial_label", "initial_wyckoff", "final_label", "final_wyckoff")


def _as_dict(doc: Any) -> dict[str, Any] | None:
    if doc is None:
        return None
    if hasattr(doc, "model_dump"):
        return doc.model_dump()
    return dict(doc)


@job(output_schema=HopScreenDoc)
def collect_hop_screen(
    enumeration: HopEnumerationDoc | dict,
    neb_outputs: Sequence[dict | None],
    model: str,
    bands: dict[str, dict[str, Any]] | None = None,
    vacancy_force_calls: Sequence[int | None] | None = None,
) -> HopScreenDoc:
    """Collect NEB results into the screen summary, tolerantly.

    A hop whose job failed or produced nothing keeps a reason instead of failing the screen.

    Parameters
    ----------
    enumeration
        Output of the hop enumeration job.
    neb_outputs
        One NEB output per hop in the enumeration's order, or with ``bands`` one per band
        (``None`` where a job died).
    model
        Label of the model used.
    bands
        Per ``hop_id``: ``band`` (index into ``neb_outputs``), ``band_id``, ``reversed``
        (``None``: one NEB per hop).
    vacancy_force_calls
        Force calls of each shared vacancy relaxation (``None`` where a job died).

    Returns
    -------
    HopScreenDoc
        Barrier table, lowest barrier and percolation barriers.
    """
    enum = _as_dict(enumeration)
    structure = enum["structure"]
    if isinstance(structure, dict):
        structure = Structure.from_dict(structure)
    hops = [Hop.from_dict(h["hop"]) for h in enum["hops"]]
    outputs = [_as_dict(out) for out in neb_outputs]
    results = _hop_results(hops, outputs, bands)
    symprec = enum.get("symprec") or 0.1  # documents written before symprec was stored: 0.1
    summary = summarize_hops(structure, hops, results, symprec=symprec, bands=bands)
    cost = _screen_cost(outputs, bands is not None, vacancy_force_calls)
    return HopScreenDoc(
        formula=structure.composition.formula,
        reduced_formula=structure.composition.reduced_formula,
        species=enum["species"],
        model=model,
        structure=structure,
        sites=[SiteDoc(**s) if isinstance(s, dict) else s for s in enum["sites"]],
        hops=summary["rows"],
        lowest_barrier_eV=summary["lowest_barrier_eV"],
        lowest_barrier_hop=summary["lowest_barrier_hop"],
        percolation_barriers_eV=summary["percolation_barriers_eV"],
        n_hops=len(hops),
        n_converged=summary["n_converged"],
        n_failed=summary["n_failed"],
        warnings=list(enum.get("warnings") or []) + _band_warnings(outputs),
        supercell=enum.get("supercell"),
        **cost,
    )


def _band_warnings(outputs: list[dict | None]) -> list[str]:
    """A line per band that passes through a state below both endpoints (not elementary)."""
    lines = []
    for out in outputs:
        depth = (out or {}).get("intermediate_minimum_eV") or 0.0
        if depth > INTERMEDIATE_MINIMUM_EV:
            lines.append(
                f"hop {out.get('hop_id')}: the band passes {depth:.3f} eV below its lower "
                "endpoint (an intermediate minimum): not an elementary hop, its barrier is "
                "not a migration barrier between the endpoints"
            )
    return lines


def _hop_results(
    hops: Sequence[Hop], outputs: list[dict | None], bands: dict[str, dict] | None
) -> dict[str, dict | None]:
    """Each hop's NEB summary; a hop that runs its band backwards swaps the two barriers."""
    if bands is None:
        return {hop.hop_id: out for hop, out in zip(hops, outputs)}
    results: dict[str, dict | None] = {}
    for hop in hops:
        info = bands.get(hop.hop_id)
        out = outputs[info["band"]] if info is not None else None
        if out is None:
            results[hop.hop_id] = None
            continue
        res = dict(out)
        if info["reversed"]:
            res["barrier_forward_eV"] = out.get("barrier_reverse_eV")
            res["barrier_reverse_eV"] = out.get("barrier_forward_eV")
        if (out.get("hop") or {}).get("hop_id", hop.hop_id) != hop.hop_id:
            res["force_calls"], res["wall_time_s"] = 0, 0.0  # counted on the band's own hop
        results[hop.hop_id] = res
    return results


def _screen_cost(
    outputs: list[dict | None], shared: bool, vacancy_calls: Sequence[int | None] | None
) -> dict[str, int]:
    """NEBs run, endpoint relaxations and force calls of the whole screen."""
    done = [o for o in outputs if o is not None and o.get("n_images")]
    calls = sum(int(o.get("force_calls") or 0) for o in done)
    if shared:
        relaxations = len([c for c in vacancy_calls or [] if c is not None])
        calls += sum(int(c or 0) for c in vacancy_calls or [])
    else:
        relaxations = 2 * sum(1 for o in done if o.get("endpoint_force_calls"))
    return {"n_nebs": len(done), "n_endpoint_relaxations": relaxations, "total_force_calls": calls}


@job
def screen_hop_nebs(
    enumeration: HopEnumerationDoc | dict,
    neb_maker: MLIPNebMaker,
    collect_worker: str = "cpu",
) -> Response:
    """Fan out one NEB job per hop, then collect them into a :class:`HopScreenDoc`.

    ``neb_maker`` is an argument of this job, so ``flow.update_maker_kwargs(...,
    class_filter=MLIPNebMaker)`` on the screen flow reaches the NEB jobs made at run time
    (jobflow updates Makers found in a job's arguments).

    Parameters
    ----------
    enumeration
        Output of the hop enumeration job.
    neb_maker
        Maker of each hop's NEB job.
    collect_worker
        Worker kind of the collection job.

    Returns
    -------
    Response
        Replaces this job by the NEB jobs and the collection job.
    """
    enum = _as_dict(enumeration)
    jobs = []
    outputs = []
    for hop in enum["hops"]:
        meta = {k: hop[k] for k in _HOP_META}
        meta["length_A"] = hop["length_A"]
        ini, fin = hop["initial_structure"], hop["final_structure"]
        if isinstance(ini, dict):
            ini, fin = Structure.from_dict(ini), Structure.from_dict(fin)
        neb_job = neb_maker.make(ini, fin, moving_index=hop["moving_index"], hop=meta, unwrap=False)
        jobs.append(neb_job)
        outputs.append(neb_job.output)
    collect = collect_hop_screen(enumeration, outputs, model=str(neb_maker.model))
    collect.name = "collect hop screen"
    # a NEB job that dies (e.g. a killed worker) must not block the summary of the others
    collect.config.on_missing_references = OnMissing.NONE
    route(collect, collect_worker, _allow_fizzled_parents=True)
    return Response(replace=Flow([*jobs, collect], output=collect.output, name="hop nebs"))


def _hop_ends(enum: dict) -> list[HopEnds]:
    out = []
    for h in enum["hops"]:
        ini, fin = h["initial_structure"], h["final_structure"]
        if isinstance(ini, dict):
            ini, fin = Structure.from_dict(ini), Structure.from_dict(fin)
        out.append(
            HopEnds(
                h["hop_id"],
                ini,
                fin,
                h["moving_index"],
                f"{h['initial_label']} ({h['initial_wyckoff']})",
                f"{h['final_label']} ({h['final_wyckoff']})",
                (h.get("hop") or {}).get("start_frac"),
                (h.get("hop") or {}).get("end_frac"),
            )
        )
    return out


def _plan(enum: dict) -> ScreenPlan:
    parent = enum["structure"]
    if isinstance(parent, dict):
        parent = Structure.from_dict(parent)
    return plan_screen(_hop_ends(enum), symprec=enum.get("symprec") or 0.1, parent=parent)


@job
def screen_shared_hops(
    enumeration: HopEnumerationDoc | dict,
    neb_maker: MLIPNebMaker,
    vacancy_maker: VacancyRelaxMaker | None = None,
    collect_worker: str = "cpu",
) -> Response:
    """Relax each distinct vacancy once, then run one NEB per distinct path (see ScreenHopsFlow).

    Falls back to one NEB per hop (:func:`screen_hop_nebs`) when the hops do not share one
    supercell.

    Parameters
    ----------
    enumeration
        Output of the hop enumeration job.
    neb_maker
        Maker of each band's NEB job (an argument, so ``update_maker_kwargs`` reaches it).
    vacancy_maker
        Maker of the vacancy relaxations; ``None``: the NEB maker's model and endpoint settings.
    collect_worker
        Worker kind of the bookkeeping jobs.

    Returns
    -------
    Response
        Replaces this job by the vacancy relaxations and the band fan-out.
    """
    enum = _as_dict(enumeration)
    try:
        plan = _plan(enum) if enum["hops"] else None
    except IonflowInputError as exc:
        logger.warning("no shared work (%s): one NEB per hop", exc)
        plan = None
    if plan is None:
        return screen_hop_nebs.original(enumeration, neb_maker, collect_worker)
    vac_maker = vacancy_maker or VacancyRelaxMaker.from_neb_maker(neb_maker, enum["species"])
    relax_jobs = [
        vac_maker.make(
            v.structure,
            vacancy={"vacancy_id": v.vacancy_id, "label": v.label, "site_index": v.site},
        )
        for v in plan.vacancies
    ]
    fan = shared_hop_nebs(enumeration, [j.output for j in relax_jobs], neb_maker, collect_worker)
    fan.name = "fan out shared bands"
    fan.config.on_missing_references = OnMissing.NONE  # a dead relaxation fails its bands only
    route(fan, collect_worker, _allow_fizzled_parents=True)
    return Response(replace=Flow([*relax_jobs, fan], output=fan.output, name="shared hop work"))


def _band_endpoints(
    plan: ScreenPlan, hop: HopEnds, vacancies: Sequence[dict | None], max_shift: float
) -> tuple[list[MappedEndpoint] | None, str | None]:
    """The band's two endpoints mapped from their relaxed vacancies, or why they cannot be."""
    mapped = []
    for which in ("initial", "final"):
        key = (hop.hop_id, which)
        vac = plan.vacancy_of(key)
        doc = _as_dict(vacancies[plan.vacancies.index(vac)])
        name = f"vacancy {vac.vacancy_id} ({vac.label})"
        if doc is None or doc.get("energy_eV") is None:
            reason = (doc or {}).get("failure_reason") or "job produced no output"
            return None, f"{name} not relaxed: {reason}"
        shift = doc.get("max_mobile_shift_A") or 0.0
        if shift > max_shift:
            return None, (
                f"{name}: relaxation moved a mobile ion by {shift:.2f} Å (> {max_shift} Å): "
                "the vacancy endpoint is not a minimum"
            )
        relaxed = doc["structure"]
        if isinstance(relaxed, dict):
            relaxed = Structure.from_dict(relaxed)
        target = getattr(hop, which)
        mapped.append(map_vacancy(plan, key, target, relaxed, doc["energy_eV"], doc["forces_eV_A"]))
    return mapped, None


@job
def shared_hop_nebs(
    enumeration: HopEnumerationDoc | dict,
    vacancies: Sequence[dict | None],
    neb_maker: MLIPNebMaker,
    collect_worker: str = "cpu",
) -> Response:
    """One NEB per band, started from the mapped relaxed vacancies, then the collection.

    Parameters
    ----------
    enumeration
        Output of the hop enumeration job.
    vacancies
        Output of each distinct vacancy's relaxation, in the plan's order.
    neb_maker
        Maker of each band's NEB job.
    collect_worker
        Worker kind of the collection job.

    Returns
    -------
    Response
        Replaces this job by the NEB jobs and the collection job.
    """
    enum = _as_dict(enumeration)
    plan = _plan(enum)
    ends = {h.hop_id: h for h in _hop_ends(enum)}
    meta_of = {h["hop_id"]: h for h in enum["hops"]}
    jobs, outputs = [], []
    for band in plan.bands:
        hop = ends[band.hop_id]
        mapped, failure = _band_endpoints(
            plan, hop, vacancies, neb_maker.neb_settings.max_ion_shift
        )
        meta = {k: meta_of[band.hop_id][k] for k in _HOP_META}
        meta.update(length_A=meta_of[band.hop_id]["length_A"], band_id=band.band_id)
        if mapped is None:
            outputs.append({"hop": meta, "failure_reason": failure, "converged": False})
            continue
        neb_job = neb_maker.make(
            mapped[0].structure,
            mapped[1].structure,
            moving_index=hop.moving_index,
            hop=meta,
            unwrap=False,
            endpoint_energies=[m.energy for m in mapped],
            endpoint_forces=[m.forces.tolist() for m in mapped],
        )
        jobs.append(neb_job)
        outputs.append(neb_job.output)
    bands = {
        hop_id: {"band": k, "band_id": band.band_id, "reversed": rev}
        for k, band in enumerate(plan.bands)
        for hop_id, rev in band.members
    }
    calls = [_as_dict(v).get("force_calls") if v is not None else None for v in vacancies]
    collect = collect_hop_screen(
        enumeration, outputs, model=str(neb_maker.model), bands=bands, vacancy_force_calls=calls
    )
    collect.name = "collect hop screen"
    collect.config.on_missing_references = OnMissing.NONE
    route(collect, collect_worker, _allow_fizzled_parents=True)
    return Response(replace=Flow([*jobs, collect], output=collect.output, name="hop bands"))


@dataclass
class ScreenHopsFlow(Maker):
    """Hop screen of one structure (lian2025 HT-NEB).

    The output is lian2025's table: every one of the N² hops with its forward and reverse
    barrier. With ``share_work`` (default) the work underneath is done once per distinct piece:
    each symmetry-distinct vacancy supercell is relaxed once and mapped onto every endpoint of
    its kind, and hops that are one physical path (a hop and its reverse, or symmetry images)
    share one NEB; each row names its band (``band_id``, ``reversed``). Without it, every hop
    relaxes its own two endpoints and runs its own NEB (the procedure before ionflow 0.x).

    Parameters
    ----------
    name
        Flow name.
    enumeration_maker
        Hop enumeration settings (species, supercell size, ...).
    neb_maker
        NEB settings (model, images, fmax, ...).
    share_work
        One relaxation per distinct vacancy and one NEB per distinct path (True), or one NEB
        with its own endpoint relaxations per hop (False).
    vacancy_maker
        Settings of the shared vacancy relaxations; ``None``: the NEB maker's model and
        endpoint settings (``endpoint_fmax``, ``endpoint_max_steps``, ``endpoint_optimizer``).
    ordering_maker
        How a partially occupied input is ordered first (symmetry-distinct orderings ranked
        by MLIP energy; the lowest is screened); ``None``: default :class:`OrderingMaker`.
        Unused for an ordered input. The lowest ordering's hop count is capped (the enumeration
        maker's ``max_hops``, else 50) with a message pointing to conductivity MD.
    """

    name: str = "hop screen"
    enumeration_maker: HopEnumerationMaker = field(default_factory=HopEnumerationMaker)
    neb_maker: MLIPNebMaker = field(default_factory=MLIPNebMaker)
    share_work: bool = True
    vacancy_maker: VacancyRelaxMaker | None = None
    ordering_maker: OrderingMaker | None = None

    def make(self, structure: Structure) -> Flow:
        """Flow whose output is the :class:`HopScreenDoc` of ``structure``.

        A partially occupied ``structure`` is ordered first and its lowest ordering screened.
        """
        em = self.enumeration_maker
        pre, structure = ordered_structure_job(
            structure,
            self.ordering_maker,
            species=em.species,
            max_hops=em.max_hops if em.max_hops is not None else DEFAULT_MAX_HOPS,
            symprec=em.symprec,
        )
        enum = em.make(structure)
        if self.share_work:
            fan = screen_shared_hops(enum.output, self.neb_maker, self.vacancy_maker)
            fan.name = "fan out shared hop work"
        else:
            fan = screen_hop_nebs(enum.output, self.neb_maker)
            fan.name = "fan out hop nebs"
        route(fan, "cpu")
        return Flow([*pre, enum, fan], output=fan.output, name=self.name)
