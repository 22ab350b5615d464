"""DiscoveryFlow (lian2025): screen, label the band images, fine-tune, screen again.

::

    hop enumeration
      -> NEB per hop with the pretrained model       (first screen: HopScreenDoc)
      -> every band image of those NEBs              (TrainingConfigsMaker)
      -> labels                                      (VASP statics, or a teacher MLIP)
      -> dataset, 80/10/10                           (DatasetMaker)
      -> fine-tuned model                            (FineTuneMaker: FineTuneDoc)
      -> NEB per hop with the fine-tuned model       (second screen, same hops)
      -> optional MD conductivity with it            (ConductivityFlow)
      -> DiscoveryDoc: both screens side by side, the model's spec, uuid and metrics

The NEB jobs exist only once the hops are known and the fine-tuned model only once it has
been trained, so two jobs build the rest of the flow at run time (``Response(replace=...)``):
:func:`discovery_pipeline` after the enumeration, :func:`screen_with_finetuned` after the
fine-tuning, whose FineTuneDoc gives the model spec. Both take the :class:`DiscoveryFlow`
as an argument, so ``flow.update_maker_kwargs(..., class_filter=FineTuneMaker)`` on the
whole flow still reaches the Makers they use.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobflow import Flow, Maker, OnMissing, OutputReference, Response, job

from ionflow.core.errors import IonflowInputError
from ionflow.flows.conductivity import ConductivityFlow
from ionflow.flows.screen import ScreenHopsFlow, screen_hop_nebs
from ionflow.jobs.base import route
from ionflow.jobs.finetune import DatasetMaker, FineTuneMaker, TrainingConfigsMaker
from ionflow.jobs.label import TeacherLabelMaker, VaspStaticLabelMaker
from ionflow.mlip import parse_model_spec
from ionflow.schemas.discovery import DiscoveryDoc, HopComparisonRow

if TYPE_CHECKING:
    from pymatgen.core import Structure

__all__ = ["DiscoveryFlow", "collect_discovery", "discovery_pipeline", "screen_with_finetuned"]

#: FineTuneDoc fields the discovery document keeps (not the dataset, not the curve).
_MODEL_FIELDS = (
    "model_spec", "checkpoint", "base_model", "metrics", "n_configs", "dataset_version",
    "provenance",
)  # fmt: skip


def _as_dict(doc: Any) -> dict[str, Any] | None:
    if doc is None:
        return None
    return doc.model_dump() if hasattr(doc, "model_dump") else dict(doc)


@dataclass
class DiscoveryFlow(Maker):
    """lian2025's discovery loop, once: pretrained screen -> labels -> fine-tune -> rescreen.

    Parameters
    ----------
    name
        Flow name.
    screen_maker
        The hop screen (enumeration and NEB settings); its NEB model is the pretrained
        model of the first screen. The second screen uses the same settings with the
        fine-tuned model.
    configs_maker
        Configurations to label from the first screen's NEBs (every band image; optional
        strained endpoints).
    labeller
        :class:`~ionflow.jobs.label.VaspStaticLabelMaker` (DFT, on a cluster) or
        :class:`~ionflow.jobs.label.TeacherLabelMaker` (a teacher MLIP: runs anywhere).
    dataset_maker
        Dataset versioning and split (80/10/10).
    finetune_maker
        Fine-tuning (CHGNet, lian2025's settings); its ``settings.base_model`` should be
        the first screen's model (checked when the flow is made).
    conductivity_maker
        MD conductivity with the fine-tuned model after the second screen (``None``: no MD).
    """

    name: str = "discovery"
    screen_maker: ScreenHopsFlow = field(default_factory=ScreenHopsFlow)
    configs_maker: TrainingConfigsMaker = field(default_factory=TrainingConfigsMaker)
    labeller: VaspStaticLabelMaker | TeacherLabelMaker = field(default_factory=VaspStaticLabelMaker)
    dataset_maker: DatasetMaker = field(default_factory=DatasetMaker)
    finetune_maker: FineTuneMaker = field(default_factory=FineTuneMaker)
    conductivity_maker: ConductivityFlow | None = None

    def __post_init__(self) -> None:
        checks = (
            ("screen_maker", ScreenHopsFlow),
            ("configs_maker", TrainingConfigsMaker),
            ("labeller", (VaspStaticLabelMaker, TeacherLabelMaker)),
            ("dataset_maker", DatasetMaker),
            ("finetune_maker", FineTuneMaker),
        )
        for key, kind in checks:
            if not isinstance(getattr(self, key), kind):
                raise IonflowInputError(
                    f"DiscoveryFlow.{key} must be a {kind}, got {type(getattr(self, key))}"
                )
        if self.conductivity_maker is not None and not isinstance(
            self.conductivity_maker, ConductivityFlow
        ):
            raise IonflowInputError("DiscoveryFlow.conductivity_maker must be a ConductivityFlow")

    def check_models(self) -> None:
        """Refuse a fine-tune whose base model is not the first screen's model.

        lian2025 fine-tunes the model it screened with; starting from another model makes
        the before/after comparison meaningless.

        Raises
        ------
        IonflowInputError
            When the two model specs differ.
        """
        screen = parse_model_spec(self.screen_maker.neb_maker.model)
        base = parse_model_spec(self.finetune_maker.settings.base_model)
        if screen.label != base.label:
            raise IonflowInputError(
                f"the first screen uses {screen.label!r} but the fine-tune starts from "
                f"{base.label!r}: set finetune_maker.settings.base_model to the screen's model"
            )

    def make(self, structure: Structure) -> Flow:
        """Flow whose output is the :class:`~ionflow.schemas.discovery.DiscoveryDoc`.

        Parameters
        ----------
        structure
            The structure to screen (ordered, containing the mobile species).

        Returns
        -------
        Flow
            The enumeration and the job that builds the rest once the hops are known.
        """
        self.check_models()
        enum = self.screen_maker.enumeration_maker.make(structure)
        pipeline = discovery_pipeline(enum.output, structure, self, enum.uuid)
        pipeline.name = f"{self.name} pipeline"
        route(pipeline, "cpu")
        return Flow([enum, pipeline], output=pipeline.output, name=self.name)


@job
def discovery_pipeline(
    enumeration: Any, structure: Structure, maker: DiscoveryFlow, enumeration_uuid: str
) -> Response:
    """First screen, band images, labels, dataset, fine-tune and the second screen's builder.

    Parameters
    ----------
    enumeration
        Output of the hop enumeration job.
    structure
        The structure screened.
    maker
        The :class:`DiscoveryFlow` (its Makers).
    enumeration_uuid
        uuid of the enumeration job (the second screen reuses its hops).

    Returns
    -------
    Response
        Replaces this job by the rest of the flow; its output is the DiscoveryDoc.
    """
    first = screen_hop_nebs.original(enumeration, maker.screen_maker.neb_maker).replace
    collect_uuid = first.output.uuid
    nebs = [j for j in first.jobs if j.uuid != collect_uuid]
    neb_uuids = [j.uuid for j in nebs]
    configs = maker.configs_maker.make([j.output for j in nebs], neb_uuids=neb_uuids)
    # a NEB job that died leaves no band: its hop gives no configuration, the others do
    configs.config.on_missing_references = OnMissing.NONE
    route(configs, maker.configs_maker.worker, _allow_fizzled_parents=True)
    labels = maker.labeller.make(configs.output.structures, configs.output.sources)
    dataset = maker.dataset_maker.make(labels.output, sources=neb_uuids)
    finetune = maker.finetune_maker.make(dataset.output)
    rescreen = screen_with_finetuned(
        finetune.output,
        {
            "labeller": labels.output.labeller,
            "n_labels": labels.output.n_ok,
            "n_labels_failed": labels.output.n_failed,
        },
        structure,
        maker,
        enumeration_uuid=enumeration_uuid,
        first_screen_uuid=collect_uuid,
        model_uuid=finetune.uuid,
    )
    rescreen.name = f"{maker.name} fine-tuned screen"
    route(rescreen, "cpu")
    first.name = f"{maker.name} pretrained screen"
    flow = Flow(
        [first, configs, labels, dataset, finetune, rescreen],
        output=rescreen.output,
        name=f"{maker.name} steps",
    )
    return Response(replace=flow)


@job
def screen_with_finetuned(
    finetune: Any,
    labels: dict[str, Any],
    structure: Structure,
    maker: DiscoveryFlow,
    enumeration_uuid: str,
    first_screen_uuid: str,
    model_uuid: str,
) -> Response:
    """Second screen (and MD) with the fine-tuned model, then the discovery document.

    Parameters
    ----------
    finetune
        The :class:`~ionflow.schemas.training.FineTuneDoc` (its ``model_spec``).
    labels
        Labeller name and label counts.
    structure
        The structure screened.
    maker
        The :class:`DiscoveryFlow`.
    enumeration_uuid, first_screen_uuid, model_uuid
        uuids of the enumeration, of the first screen's summary and of the fine-tuning job.

    Returns
    -------
    Response
        Replaces this job by the second screen, the optional MD and the collection.
    """
    model = {k: _as_dict(finetune).get(k) for k in _MODEL_FIELDS}
    spec = model["model_spec"]
    neb_maker = dataclasses.replace(maker.screen_maker.neb_maker, model=spec)
    second = screen_hop_nebs(OutputReference(enumeration_uuid), neb_maker)
    second.name = "fan out hop nebs"
    route(second, "cpu")
    jobs: list[Any] = [second]
    conductivity = None
    if maker.conductivity_maker is not None:
        cond = maker.conductivity_maker
        cond = dataclasses.replace(cond, md_maker=dataclasses.replace(cond.md_maker, model=spec))
        conductivity = cond.make(structure)
        jobs.append(conductivity)
    summary = collect_discovery(
        OutputReference(first_screen_uuid),
        second.output,
        model,
        labels,
        conductivity.output if conductivity is not None else None,
        {
            "model_uuid": model_uuid,
            "pretrained": first_screen_uuid,
            "finetuned": second.uuid,
            "conductivity": conductivity.output.uuid if conductivity is not None else None,
        },
    )
    summary.name = f"{maker.name} collect"
    # a failed MD (or a dead NEB) must not hide the comparison of the screens
    summary.config.on_missing_references = OnMissing.NONE
    route(summary, "cpu", _allow_fizzled_parents=True)
    jobs.append(summary)
    return Response(replace=Flow(jobs, output=summary.output, name=f"{maker.name} fine-tuned"))


def _rows(first: dict[str, Any] | None, second: dict[str, Any] | None) -> list[HopComparisonRow]:
    before = {r["hop_id"]: r for r in (first or {}).get("hops") or []}
    after = {r["hop_id"]: r for r in (second or {}).get("hops") or []}
    rows = []
    for hop_id in list(before) + [h for h in after if h not in before]:
        b, a = before.get(hop_id) or {}, after.get(hop_id) or {}
        ref = b or a
        fb, fa = b.get("barrier_forward_eV"), a.get("barrier_forward_eV")
        rows.append(
            HopComparisonRow(
                hop_id=hop_id,
                initial=ref.get("initial"),
                final=ref.get("final"),
                length_A=ref.get("length_A"),
                pretrained_forward_eV=fb,
                pretrained_reverse_eV=b.get("barrier_reverse_eV"),
                pretrained_converged=b.get("converged"),
                finetuned_forward_eV=fa,
                finetuned_reverse_eV=a.get("barrier_reverse_eV"),
                finetuned_converged=a.get("converged"),
                change_forward_eV=None if fb is None or fa is None else fa - fb,
            )
        )
    return rows


def _conductivity(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    if doc is None:
        return None
    keys = ("temperatures_K", "Ea_eV", "Ea_err_eV", "D0_cm2_s", "T_extrapolate_K",
            "sigma_mS_cm", "sigma_interval_mS_cm", "warnings")  # fmt: skip
    return {k: doc.get(k) for k in keys}


@job(output_schema=DiscoveryDoc)
def collect_discovery(
    first_screen: Any,
    second_screen: Any,
    model: dict[str, Any],
    labels: dict[str, Any],
    conductivity: Any,
    uuids: dict[str, str | None],
) -> DiscoveryDoc:
    """Both screens side by side, the fine-tuned model and the optional conductivity.

    Parameters
    ----------
    first_screen, second_screen
        The :class:`~ionflow.schemas.hops.HopScreenDoc` s (pretrained, fine-tuned); ``None``
        where a screen produced nothing.
    model
        Fields of the :class:`~ionflow.schemas.training.FineTuneDoc`.
    labels
        Labeller name and label counts.
    conductivity
        The :class:`~ionflow.schemas.diffusion.ArrheniusDoc` or ``None``.
    uuids
        ``model_uuid``, ``pretrained``, ``finetuned`` and ``conductivity`` job uuids.

    Returns
    -------
    DiscoveryDoc
        The comparison.
    """
    first, second = _as_dict(first_screen), _as_dict(second_screen)
    ref = first or second or {}
    warnings = []
    if first is None:
        warnings.append("the pretrained screen produced no summary")
    if second is None:
        warnings.append("the fine-tuned screen produced no summary")
    if uuids.get("conductivity") and conductivity is None:
        warnings.append("the conductivity MD with the fine-tuned model produced no result")
    provenance = model.get("provenance") or {}
    return DiscoveryDoc(
        formula=ref.get("formula", ""),
        reduced_formula=ref.get("reduced_formula", ""),
        species=ref.get("species", ""),
        pretrained_model=(first or {}).get("model") or "",
        finetuned_model=model["model_spec"],
        finetuned_checkpoint=model.get("checkpoint"),
        model_uuid=uuids.get("model_uuid"),
        base_model=model.get("base_model"),
        labeller=labels.get("labeller") or ",".join(provenance.get("labellers") or []) or None,
        n_labels=labels.get("n_labels"),
        n_labels_failed=labels.get("n_labels_failed"),
        dataset_version=model.get("dataset_version"),
        n_configs=model.get("n_configs") or {},
        metrics=model.get("metrics") or {},
        hops=_rows(first, second),
        lowest_barrier_pretrained_eV=(first or {}).get("lowest_barrier_eV"),
        lowest_barrier_finetuned_eV=(second or {}).get("lowest_barrier_eV"),
        percolation_pretrained_eV=(first or {}).get("percolation_barriers_eV") or {},
        percolation_finetuned_eV=(second or {}).get("percolation_barriers_eV") or {},
        screen_uuids={"pretrained": uuids.get("pretrained"), "finetuned": uuids.get("finetuned")},
        conductivity=_conductivity(_as_dict(conductivity)),
        conductivity_uuid=uuids.get("conductivity"),
        warnings=warnings + list(ref.get("warnings") or []),
    )
