"""Labelling jobs: VASP statics (atomate2 + custodian) and a teacher MLIP, one schema.

Both Makers take a list of configurations and give a :class:`~ionflow.schemas.label.LabelSetDoc`
whose ``labels`` are usable (converged) and whose ``failed`` say why the others are not.

- :class:`VaspStaticLabelMaker` composes atomate2's MP static Makers (``MPGGAStaticMaker``:
  pymatgen's ``MPStaticSet``, PBE, MP-compatible; ``MPMetaGGAStaticMaker``: ``MPScanStaticSet``,
  r2SCAN). Its job fans out one atomate2 static per configuration (custodian through
  ``atomate2.vasp.run.run_vasp``, emmet ``TaskDoc`` parsing) and a tolerant collection job.
- :class:`TeacherLabelMaker` labels the same configurations with any model spec (SevenNet-0,
  CHGNet's r2SCAN weights, a fine-tuned checkpoint), so the loop runs without VASP.

Without VASP or POTCARs (tests, demos): ``write_input_set_kwargs={"potcar_spec": True}``
writes POTCAR.spec (the symbols) instead of POTCAR, which is all that atomate2's input check,
custodian's handlers (pymatgen's ``VaspInput.from_directory`` reads a missing POTCAR as None)
and emmet's parsing need; ``run_vasp_kwargs={"vasp_cmd": fake_vasp_command(labels_file),
"custodian_kwargs": {"polling_time_step": 0.1, "monitor_freq": 1}}`` runs custodian's real
handler loop on :mod:`ionflow.core.dft.fake_vasp` in about a second per static (custodian's
default polling waits 10 s first). A ``PMG_VASP_PSP_DIR`` of fake POTCARs is not needed.
On a cluster: ``vasp_cmd`` (or atomate2's ``VASP_CMD`` setting) and real POTCARs.

Labels are in VASP's atom order (pymatgen's MP sets sort the sites by electronegativity);
``source["index"]`` names the configuration each label came from.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from jobflow import Flow, Maker, OnMissing, Response, job
from pymatgen.core import Structure

from ionflow.core.dft.parse import label_from_task_doc
from ionflow.core.errors import IonflowInputError
from ionflow.jobs.base import check_worker, ionflow_job, route
from ionflow.mlip import ModelLoadError, get_evaluator, parse_model_spec
from ionflow.schemas.label import ConfigLabel, LabelSetDoc

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ase import Atoms
    from atomate2.vasp.jobs.base import BaseVaspMaker

__all__ = [
    "TeacherLabelMaker",
    "VaspStaticLabelMaker",
    "collect_vasp_labels",
    "label_maker",
]

logger = logging.getLogger(__name__)

#: The atomate2 Maker each functional composes.
FUNCTIONALS = ("pbe", "r2scan")

#: Why a configuration without a VASP output is not labelled.
NO_OUTPUT = "the VASP job failed and left no output (custodian gave up or VASP crashed)"


def _structures(configs: Sequence[Structure | Atoms | dict]) -> list[Structure]:
    """Structures from Structures, ASE Atoms or Structure dicts; refuses an empty list."""
    from pymatgen.io.ase import AseAtomsAdaptor

    if not configs:
        raise IonflowInputError("nothing to label: the list of configurations is empty")
    out = []
    for i, config in enumerate(configs):
        if isinstance(config, Structure):
            out.append(config)
        elif isinstance(config, dict):
            out.append(Structure.from_dict(config))
        elif hasattr(config, "get_positions"):
            out.append(AseAtomsAdaptor.get_structure(config))
        else:
            raise IonflowInputError(
                f"configuration {i} is a {type(config).__name__}, not a Structure or Atoms"
            )
    return out


def _sources(sources: Sequence[dict] | None, n: int) -> list[dict[str, Any]]:
    """One provenance dict per configuration, each with its ``index``."""
    if sources is not None and len(sources) != n:
        raise IonflowInputError(f"{len(sources)} sources for {n} configurations")
    base = list(sources) if sources is not None else [{"kind": "user"} for _ in range(n)]
    return [{"kind": "user", **dict(src), "index": i} for i, src in enumerate(base)]


def _n_configs(arguments: dict[str, Any]) -> str | None:
    configs = arguments.get("structures")
    return f"({len(configs)} configurations)" if isinstance(configs, (list, tuple)) else None


@dataclass
class VaspStaticLabelMaker(Maker):
    """VASP static labels of many configurations: one atomate2 static each, then collect.

    Parameters
    ----------
    name
        Name of the fan-out job; the statics are named ``"<name> <i> <formula>"`` (unique,
        which atomate2's reference-file tests match on), the collection ``"<name> collect"``.
    functional
        ``"pbe"``: atomate2 ``MPGGAStaticMaker`` (``MPStaticSet``, MP-compatible: ENCUT 520,
        MP U values, Gamma-centred reciprocal density 100); ``"r2scan"``:
        ``MPMetaGGAStaticMaker`` (``MPScanStaticSet``, ENCUT 680, KSPACING from the gap).
    kpoint_density
        k-points per Å⁻³ of reciprocal volume (pymatgen's ``reciprocal_density``);
        ``None``: the input set's own.
    kspacing
        VASP ``KSPACING`` (Å⁻¹, 2π included) instead of a KPOINTS file; exclusive with
        ``kpoint_density``.
    encut
        Plane-wave cutoff (eV); ``None``: the input set's (520 PBE, 680 r2SCAN).
    incar_updates
        More INCAR settings (``user_incar_settings`` of the input set), e.g. ``{"NCORE": 4}``.
    run_vasp_kwargs
        Passed to ``atomate2.vasp.run.run_vasp``: ``vasp_cmd``, ``handlers`` (default:
        atomate2's custodian handlers), ``max_errors``, ``custodian_kwargs``
        (e.g. ``{"polling_time_step": 0.1}``), ``wall_time``.
    write_input_set_kwargs
        Passed to ``atomate2.vasp.files.write_vasp_input_set`` (``{"potcar_spec": True}``
        writes POTCAR.spec instead of POTCAR: tests without POTCARs).
    worker
        Worker kind of the VASP statics and the collection (``"cpu"``).
    """

    name: str = "vasp label"
    functional: str = "pbe"
    kpoint_density: float | None = None
    kspacing: float | None = None
    encut: float | None = None
    incar_updates: dict[str, Any] = field(default_factory=dict)
    run_vasp_kwargs: dict[str, Any] = field(default_factory=dict)
    write_input_set_kwargs: dict[str, Any] = field(default_factory=dict)
    worker: str = "cpu"

    def __post_init__(self) -> None:
        if self.functional not in FUNCTIONALS:
            raise IonflowInputError(
                f"functional must be one of {FUNCTIONALS}, got {self.functional!r}"
            )
        if self.kpoint_density is not None and self.kspacing is not None:
            raise IonflowInputError("give kpoint_density or kspacing, not both")
        for key in ("kpoint_density", "kspacing", "encut"):
            value = getattr(self, key)
            if value is not None and not value > 0:
                raise IonflowInputError(f"{key} must be positive, got {value!r}")
        check_worker(self.worker)

    @property
    def labeller(self) -> str:
        """Labeller name stored with every label (``"vasp:pbe"``, ``"vasp:r2scan"``)."""
        return f"vasp:{self.functional}"

    def settings(self) -> dict[str, Any]:
        """The settings stored with the label set (what makes two sets comparable)."""
        generator = self.static_maker().input_set_generator
        return {
            "functional": self.functional,
            "input_set": type(generator).__name__,
            "kpoint_density": self.kpoint_density,
            "kspacing": self.kspacing,
            "encut": self.encut,
            "incar_updates": dict(self.incar_updates),
            "user_incar_settings": dict(generator.user_incar_settings or {}),
        }

    def static_maker(self) -> BaseVaspMaker:
        """The atomate2 static Maker with this Maker's settings.

        Returns
        -------
        atomate2.vasp.jobs.base.BaseVaspMaker
            ``MPGGAStaticMaker`` or ``MPMetaGGAStaticMaker``; unsuccessful tasks complete
            (``handle_unsuccessful=False``) so that the collection can say why.
        """
        from atomate2.vasp.jobs.mp import MPGGAStaticMaker, MPMetaGGAStaticMaker

        base = MPGGAStaticMaker() if self.functional == "pbe" else MPMetaGGAStaticMaker()
        generator = base.input_set_generator
        incar = {**(generator.user_incar_settings or {}), **self.incar_updates}
        updates: dict[str, Any] = {}
        if self.encut is not None:
            incar["ENCUT"] = self.encut
        if self.kspacing is not None:
            incar["KSPACING"] = self.kspacing
        if self.kpoint_density is not None:
            if self.functional == "pbe":
                updates["reciprocal_density"] = self.kpoint_density
            else:  # r2SCAN sets KSPACING; a k-point density replaces it
                incar["KSPACING"] = None
                updates["user_kpoints_settings"] = {"reciprocal_density": self.kpoint_density}
        generator = dataclasses.replace(generator, user_incar_settings=incar, **updates)
        return dataclasses.replace(
            base,
            name=f"{self.name} static",
            input_set_generator=generator,
            run_vasp_kwargs=dict(self.run_vasp_kwargs),
            write_input_set_kwargs=dict(self.write_input_set_kwargs),
            stop_children_kwargs={"handle_unsuccessful": False},
        )

    # No output_schema: the job is replaced; its collection job returns the LabelSetDoc. No
    # name suffix either: jobflow renames the job's Maker with it, and the statics' names
    # ("<name> <i> <formula>", matched by reference-file tests) derive from ``self.name``.
    @ionflow_job
    def make(
        self,
        structures: Sequence[Structure | Atoms],
        sources: Sequence[dict] | None = None,
    ) -> Response:
        """Fan out one atomate2 static per configuration, then collect the labels.

        Parameters
        ----------
        structures
            Configurations to label (pymatgen Structures or ASE Atoms).
        sources
            Provenance per configuration (``kind``: ``"neb_image"``, ``"md_frame"``,
            ``"user"``; ``job_uuid``, ``image``, ``frame``, ...); ``index`` is added.

        Returns
        -------
        Response
            Replaces this job by the statics and the collection, whose output is the
            :class:`LabelSetDoc`.
        """
        configs = _structures(structures)
        provenance = _sources(sources, len(configs))
        static_maker = self.static_maker()
        statics = []
        for i, (structure, source) in enumerate(zip(configs, provenance)):
            static = static_maker.make(structure)
            static.name = f"{self.name} {i} {structure.composition.reduced_formula}"
            route(static, self.worker)
            source["vasp_job_uuid"] = static.uuid
            statics.append(static)
        collect = collect_vasp_labels(
            [static.output for static in statics],
            configs,
            provenance,
            labeller=self.labeller,
            settings=self.settings(),
        )
        collect.name = f"{self.name} collect"
        # a static that dies (custodian gives up) is reported, not a reason to lose the others
        collect.config.on_missing_references = OnMissing.NONE
        route(collect, self.worker, _allow_fizzled_parents=True)
        flow = Flow([*statics, collect], output=collect.output, name=f"{self.name} statics")
        return Response(replace=flow)


@job(output_schema=LabelSetDoc, data=["labels", "failed"])
def collect_vasp_labels(
    task_docs: Sequence[Any],
    structures: Sequence[Structure],
    sources: Sequence[dict],
    labeller: str,
    settings: dict | None = None,
) -> LabelSetDoc:
    """Labels from the statics' TaskDocs; a failed or unconverged static is reported.

    Parameters
    ----------
    task_docs
        One atomate2 ``TaskDoc`` per configuration (``None`` where the job died).
    structures
        The configurations, in the same order.
    sources
        Provenance per configuration.
    labeller
        Labeller name.
    settings
        Labeller settings stored with the set.

    Returns
    -------
    LabelSetDoc
        Usable labels, and failures with their reasons.
    """
    labels = []
    for doc, structure, source in zip(task_docs, structures, sources):
        if isinstance(structure, dict):
            structure = Structure.from_dict(structure)
        if doc is None:
            labels.append(_failed(structure, labeller, source, NO_OUTPUT))
            continue
        try:
            parsed = label_from_task_doc(doc, labeller)
        except Exception as exc:  # a broken document is one failed label, not a failed set
            logger.exception("configuration %s: VASP output could not be parsed", source["index"])
            labels.append(_failed(structure, labeller, source, f"unparsable output: {exc}"))
            continue
        values = {f.name: getattr(parsed, f.name) for f in dataclasses.fields(parsed)}
        labels.append(ConfigLabel(**values, source=source))
    doc = LabelSetDoc.from_labels(labels, labeller, settings)
    _log_set(doc)
    return doc


def _failed(structure: Structure, labeller: str, source: dict, reason: str) -> ConfigLabel:
    return ConfigLabel(
        structure=structure,
        converged=False,
        labeller=labeller,
        source=source,
        failure_reason=reason,
    )


def _log_set(doc: LabelSetDoc) -> None:
    logger.info(
        "%s: %d labels, %d failed, %d custodian corrections",
        doc.labeller,
        doc.n_ok,
        doc.n_failed,
        doc.n_corrections,
    )
    for label in doc.failed:
        logger.warning(
            "configuration %s not labelled: %s", label.source.get("index"), label.failure_reason
        )


@dataclass
class TeacherLabelMaker(Maker):
    """Labels from a teacher MLIP, in the VASP labeller's schema.

    Parameters
    ----------
    name
        Job name.
    model
        Model spec of the teacher (``"sevennet"``: SevenNet-0; ``"chgnet"``; a checkpoint;
        ``{"@module", "@callable", "kwargs"}`` for any ASE calculator).
    batch_size
        Configurations evaluated per model call.
    worker
        Worker kind (``"gpu"``: MLIP work).
    """

    name: str = "teacher label"
    model: str | dict = "sevennet"
    batch_size: int = 16
    worker: str = "gpu"

    def __post_init__(self) -> None:
        spec = parse_model_spec(self.model)
        if not isinstance(self.model, str):
            self.model = spec.as_dict()
        if self.batch_size < 1:
            raise IonflowInputError(f"batch_size must be >= 1, got {self.batch_size}")
        check_worker(self.worker)

    @ionflow_job(output_schema=LabelSetDoc, data=["labels", "failed"], name_suffix=_n_configs)
    def make(
        self,
        structures: Sequence[Structure | Atoms],
        sources: Sequence[dict] | None = None,
    ) -> LabelSetDoc:
        """Energy, forces and stress of every configuration from the teacher.

        Parameters
        ----------
        structures
            Configurations to label (pymatgen Structures or ASE Atoms).
        sources
            Provenance per configuration; ``index`` is added.

        Returns
        -------
        LabelSetDoc
            Labels; a configuration with non-finite output is reported as failed.

        Raises
        ------
        IonflowInputError
            No configuration, or a teacher that cannot be loaded (nothing is labelled).
        """
        from pymatgen.io.ase import AseAtomsAdaptor

        configs = _structures(structures)
        provenance = _sources(sources, len(configs))
        spec = parse_model_spec(self.model)
        start = time.perf_counter()
        try:
            evaluator = get_evaluator(spec)
        except ModelLoadError as exc:
            raise IonflowInputError(f"teacher {spec.label!r} cannot be loaded: {exc}") from exc
        labels = []
        for lo in range(0, len(configs), self.batch_size):
            batch = configs[lo : lo + self.batch_size]
            atoms = [AseAtomsAdaptor.get_atoms(s) for s in batch]
            predictions = _evaluate(evaluator, atoms)
            for structure, pred, source in zip(batch, predictions, provenance[lo:]):
                labels.append(_teacher_label(structure, pred, spec.label, source))
        doc = LabelSetDoc.from_labels(
            labels,
            spec.label,
            {"model": spec.as_dict(), "batch_size": self.batch_size},
            wall_time_s=time.perf_counter() - start,
        )
        _log_set(doc)
        return doc


def _evaluate(evaluator: Any, atoms: list[Atoms]) -> list[Any]:
    """Predictions of a batch; one by one when the batch fails (an Exception per config)."""
    try:
        return evaluator.evaluate(atoms, stress=True)
    except Exception:
        logger.exception(
            "teacher batch failed; labelling its %d configurations one by one", len(atoms)
        )
    out: list[Any] = []
    for one in atoms:
        try:
            out.extend(evaluator.evaluate([one], stress=True))
        except Exception as exc:
            out.append(exc)
    return out


def _teacher_label(structure: Structure, pred: Any, labeller: str, source: dict) -> ConfigLabel:
    from ase import units

    if isinstance(pred, Exception):
        return _failed(
            structure, labeller, source, f"teacher failed: {type(pred).__name__}: {pred}"
        )
    forces = np.asarray(pred.forces, dtype=float)
    stress = None if pred.stress is None else np.asarray(pred.stress, dtype=float) / units.GPa
    finite = np.isfinite(pred.energy) and np.all(np.isfinite(forces))
    if stress is not None:
        finite = finite and np.all(np.isfinite(stress))
    if not finite:
        return _failed(
            structure, labeller, source, "teacher gave non-finite energy, forces or stress"
        )
    return ConfigLabel(
        structure=structure,
        energy_eV=float(pred.energy),
        forces_eV_A=forces.tolist(),
        stress_GPa=None if stress is None else stress.tolist(),
        converged=True,
        labeller=labeller,
        source=source,
    )


def label_maker(labeller: str | dict, **kwargs: Any) -> VaspStaticLabelMaker | TeacherLabelMaker:
    """The Maker for a labeller name: ``"vasp"``/``"vasp:pbe"``/``"vasp:r2scan"`` or a model spec.

    Parameters
    ----------
    labeller
        ``"vasp"`` (PBE), ``"vasp:r2scan"``, or any model spec (the teacher).
    **kwargs
        Fields of the Maker.

    Returns
    -------
    VaspStaticLabelMaker or TeacherLabelMaker
        The Maker.
    """
    if isinstance(labeller, str) and labeller.split(":")[0].lower() == "vasp":
        functional = labeller.split(":", 1)[1] if ":" in labeller else "pbe"
        return VaspStaticLabelMaker(functional=functional.lower(), **kwargs)
    return TeacherLabelMaker(model=labeller, **kwargs)
