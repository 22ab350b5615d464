"""ScreenHopsFlow: structure -> every inequivalent hop -> MLIP-NEB barrier -> summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobflow import Flow, Maker, OnMissing, Response, job
from pymatgen.core import Structure

from ionflow.core.hops import Hop
from ionflow.core.neb.summary import summarize_hops
from ionflow.jobs.base import route
from ionflow.jobs.hops import HopEnumerationMaker
from ionflow.jobs.neb import MLIPNebMaker
from ionflow.schemas.hops import HopEnumerationDoc, HopScreenDoc, SiteDoc

if TYPE_CHECKING:
    from collections.abc import Sequence

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
) -> HopScreenDoc:
    """Collect per-hop NEB results into the screen summary, tolerantly.

    A hop whose job failed or produced nothing keeps a reason instead of failing the screen.

    Parameters
    ----------
    enumeration
        Output of the hop enumeration job.
    neb_outputs
        One NEB output per hop, in the enumeration's order (``None`` where a job died).
    model
        Label of the model used.

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
    results: dict[str, dict | None] = {}
    for hop, out in zip(hops, neb_outputs):
        results[hop.hop_id] = _as_dict(out)
    symprec = enum.get("symprec") or 0.1  # documents written before symprec was stored: 0.1
    summary = summarize_hops(structure, hops, results, symprec=symprec)
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
        warnings=list(enum.get("warnings") or []),
    )


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


@dataclass
class ScreenHopsFlow(Maker):
    """Hop screen of one structure (lian2025 HT-NEB).

    Parameters
    ----------
    name
        Flow name.
    enumeration_maker
        Hop enumeration settings (species, supercell size, ...).
    neb_maker
        NEB settings (model, images, fmax, ...).
    """

    name: str = "hop screen"
    enumeration_maker: HopEnumerationMaker = field(default_factory=HopEnumerationMaker)
    neb_maker: MLIPNebMaker = field(default_factory=MLIPNebMaker)

    def make(self, structure: Structure) -> Flow:
        """Flow whose output is the :class:`HopScreenDoc` of ``structure``."""
        enum = self.enumeration_maker.make(structure)
        fan = screen_hop_nebs(enum.output, self.neb_maker)
        fan.name = "fan out hop nebs"
        route(fan, "cpu")
        return Flow([enum, fan], output=fan.output, name=self.name)
