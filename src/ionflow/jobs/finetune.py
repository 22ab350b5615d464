"""Training data and fine-tuning jobs: configurations to label, datasets, fine-tuned models.

The lian2025 loop, one Maker per step::

    configs = TrainingConfigsMaker().make(neb_docs)                    # band images (cpu)
    labels = TeacherLabelMaker().make(configs.output.structures,        # or VaspStaticLabelMaker
                                      configs.output.sources)
    dataset = DatasetMaker().make(labels.output)                       # extxyz, split (cpu)
    model = FineTuneMaker().make(dataset.output)                       # CHGNet (gpu)
    MLIPNebMaker(model=model.output.model_spec)                        # the new model everywhere
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobflow import Maker
from pydantic import BaseModel
from pymatgen.io.ase import AseAtomsAdaptor

from ionflow.core.errors import IonflowInputError
from ionflow.core.training import (
    FineTuneSettings,
    check_labelled,
    configs_from_band,
    configs_from_frames,
    get_backend,
    read_extxyz,
    split_indices,
    strain_configs,
    write_extxyz,
)
from ionflow.jobs.base import check_worker, ionflow_job
from ionflow.schemas.training import ConfigSetDoc, DatasetDoc, FineTuneDoc, TrainingDataset
from ionflow.settings import get_settings

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ase import Atoms
    from pymatgen.core import Structure

__all__ = ["DatasetMaker", "FineTuneMaker", "TrainingConfigsMaker"]

logger = logging.getLogger(__name__)


def _as_dict(doc: Any) -> dict:
    return doc.model_dump() if isinstance(doc, BaseModel) else dict(doc)


def _band_configs(neb_docs: Sequence[Any], uuids: Sequence[str | None]) -> list[Atoms]:
    out = []
    for doc, uuid in zip(neb_docs, uuids):
        if doc is None:  # a NEB job that died (tolerant flows pass None): no band
            logger.warning("NEB job %s produced no document: skipped", uuid)
            continue
        doc = _as_dict(doc)
        images = doc.get("images")
        if not images:
            logger.warning("NEB of %s has no band images: skipped", doc.get("hop_id"))
            continue
        for atoms in configs_from_band(images["positions"], images["numbers"], images["cell"]):
            atoms.info["source"] = {
                "kind": "neb_image",
                "image": atoms.info["image"],
                "hop_id": doc.get("hop_id"),
                "model": doc.get("model"),
                "job_uuid": uuid,
            }
            out.append(atoms)
    return out


def _md_configs(
    md_docs: Sequence[Any], structures: Sequence[Structure], n_select: int
) -> list[Atoms]:
    """Furthest-point snapshots of MD runs with full frames (atoms in ``structures`` order)."""
    from ase import Atoms as AseAtoms

    from ionflow.schemas.arrays import PackedArray

    if len(structures) != len(md_docs):
        raise IonflowInputError(
            f"{len(md_docs)} MD documents but {len(structures)} structures: give the structure "
            "each run started from"
        )
    out = []
    for doc, structure in zip(md_docs, structures):
        doc = _as_dict(doc)
        traj = doc.get("trajectory") or {}
        if not traj.get("full_frames"):
            logger.warning("MD run of %s has no full frames: skipped", doc.get("formula"))
            continue
        frames_xyz = PackedArray.model_validate(traj["full_frames"]).unpack()
        numbers = [site.specie.Z for site in structure]
        frames = [
            AseAtoms(numbers=numbers, positions=x, cell=traj["cell"], pbc=True) for x in frames_xyz
        ]
        for atoms in configs_from_frames(frames, n_select):
            atoms.info["source"] = {
                "kind": "md_frame",
                "frame": atoms.info["frame"],
                "temperature_K": doc.get("temperature_K"),
                "formula": doc.get("formula"),
            }
            out.append(atoms)
    return out


@dataclass
class TrainingConfigsMaker(Maker):
    """Configurations to label: every NEB band image, furthest-point MD snapshots, strains.

    Parameters
    ----------
    name
        Job name.
    md_frames
        Snapshots kept per MD run (furthest-point selection, bohm-champagne).
    strains
        Linear strains applied to every NEB endpoint (deng2025: ``(-0.03, 0.03)``; empty:
        none).
    worker
        Worker kind (``"cpu"``: no model needed).
    """

    name: str = "training configurations"
    md_frames: int = 20
    strains: tuple[float, ...] = ()
    worker: str = "cpu"

    def __post_init__(self) -> None:
        if self.md_frames < 1:
            raise IonflowInputError(f"md_frames must be >= 1, got {self.md_frames}")
        self.strains = tuple(float(s) for s in self.strains)
        if any(abs(s) > 0.1 for s in self.strains):
            raise IonflowInputError(f"strains are fractions (0.03 = 3 %), got {self.strains}")
        check_worker(self.worker)

    @ionflow_job(output_schema=ConfigSetDoc)
    def make(
        self,
        neb_docs: Sequence[Any] = (),
        md_docs: Sequence[Any] = (),
        md_structures: Sequence[Structure] = (),
        neb_uuids: Sequence[str] | None = None,
    ) -> ConfigSetDoc:
        """Collect configurations from NEB and MD documents.

        Parameters
        ----------
        neb_docs
            :class:`~ionflow.schemas.neb.NebDoc` s (with their band images).
        md_docs
            :class:`~ionflow.schemas.md.MDDoc` s with full frames.
        md_structures
            The structure each MD run started from (atom order of its frames).
        neb_uuids
            The NEB jobs' uuids, recorded as provenance.

        Returns
        -------
        ConfigSetDoc
            Structures and one provenance dict each.
        """
        uuids = list(neb_uuids or [None] * len(neb_docs))
        configs = _band_configs(neb_docs, uuids)
        endpoints = [a for a in configs if a.info["source"]["image"] == 0]
        for atoms in endpoints if self.strains else []:
            for strained in strain_configs(atoms, self.strains):
                strained.info["source"] = {
                    **atoms.info["source"],
                    "kind": "strained",
                    "strain": strained.info["strain"],
                }
                configs.append(strained)
        configs.extend(_md_configs(md_docs, md_structures, self.md_frames))
        if not configs:
            raise IonflowInputError("no configurations: the NEB/MD documents hold no geometry")
        return ConfigSetDoc(
            structures=[AseAtomsAdaptor.get_structure(a) for a in configs],
            sources=[a.info["source"] for a in configs],
            n_configs=len(configs),
        )


def _labelled_atoms(dataset: Any) -> tuple[list[Atoms], dict[str, Any]]:
    """Labelled configurations and provenance from any dataset input a Maker accepts."""
    from ase import Atoms as AseAtoms

    if isinstance(dataset, Path) or (isinstance(dataset, str) and "\n" not in dataset.strip()):
        return read_extxyz(dataset), {"file": str(Path(dataset).resolve())}  # a file name
    if isinstance(dataset, str):
        return read_extxyz(dataset, text=True), {}  # the extxyz text itself
    if isinstance(dataset, list | tuple) and all(isinstance(a, AseAtoms) for a in dataset):
        return list(dataset), {}
    doc = _as_dict(dataset) if isinstance(dataset, BaseModel | dict) else None
    if doc is not None and doc.get("dataset"):  # DatasetDoc / FineTuneDoc
        inner = doc["dataset"]
        return read_extxyz(inner["extxyz"], text=True), dict(doc.get("provenance") or {})
    if doc is not None and "labels" in doc:  # LabelSetDoc
        from ionflow.schemas.label import LabelSetDoc

        labels = LabelSetDoc.model_validate(doc)
        prov = {"labeller": labels.labeller, "labeller_settings": labels.settings}
        return labels.to_atoms_list(), prov
    raise IonflowInputError(
        "dataset must be an extxyz file or text, a list of labelled Atoms, a LabelSetDoc or a "
        f"DatasetDoc, got {type(dataset).__name__}"
    )


def _stored(configs: Sequence[Atoms]) -> TrainingDataset:
    text = write_extxyz(configs)
    version = hashlib.sha256(text.encode()).hexdigest()[:16]
    return TrainingDataset(extxyz=text, n_configs=len(configs), version=version)


@dataclass
class DatasetMaker(Maker):
    """A labelled dataset, stored versioned as extxyz in the data store, with its split.

    Parameters
    ----------
    name
        Job name.
    fractions
        Train/validation/test fractions (lian2025: 80/10/10).
    seed
        Split seed (the same dataset and seed give the same split).
    worker
        Worker kind.
    """

    name: str = "training dataset"
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    worker: str = "cpu"

    def __post_init__(self) -> None:
        self.fractions = tuple(float(f) for f in self.fractions)
        split_indices(3, self.fractions, self.seed)  # validates the fractions
        check_worker(self.worker)

    @ionflow_job(output_schema=DatasetDoc, data=["dataset"])
    def make(self, labels: Any, sources: Sequence[str] | None = None) -> DatasetDoc:
        """Check, version and split labelled configurations.

        Parameters
        ----------
        labels
            A :class:`~ionflow.schemas.label.LabelSetDoc` (or several in a list), an extxyz
            file/text, or labelled ASE Atoms.
        sources
            Upstream job uuids or names, recorded as provenance.

        Returns
        -------
        DatasetDoc
            Sizes, version, split, provenance; the extxyz text in the data store.
        """
        sets = (
            labels if isinstance(labels, list) and labels and not _is_atoms(labels[0]) else [labels]
        )
        configs: list[Atoms] = []
        provenance: dict[str, Any] = {"labellers": [], "labeller_settings": [], "jobs": []}
        for one in sets:
            atoms, prov = _labelled_atoms(one)
            configs.extend(atoms)
            if prov.get("labeller") and prov["labeller"] not in provenance["labellers"]:
                provenance["labellers"].append(prov["labeller"])
                provenance["labeller_settings"].append(prov.get("labeller_settings", {}))
        provenance["jobs"] = list(sources or [])
        labels_ = check_labelled(configs)
        stored = _stored(configs)
        return DatasetDoc(
            version=stored.version,
            n_configs=len(configs),
            n_atoms_total=sum(len(a) for a in configs),
            formulas=sorted({a.get_chemical_formula() for a in configs}),
            has_stress=all(lab.stress is not None for lab in labels_),
            split_indices=split_indices(len(configs), self.fractions, self.seed),
            split_seed=self.seed,
            provenance=provenance,
            dataset=stored,
        )


def _is_atoms(obj: Any) -> bool:
    from ase import Atoms as AseAtoms

    return isinstance(obj, AseAtoms)


def _default_model_dir() -> Path:
    return get_settings().store_dir.parent / "models"


@dataclass
class FineTuneMaker(Maker):
    """Fine-tune a model on a labelled dataset (CHGNet by default; lian2025's settings).

    Parameters
    ----------
    name
        Job name.
    backend
        Fine-tuning backend (``"chgnet"``).
    settings
        :class:`~ionflow.core.training.FineTuneSettings` (a dict of its fields is accepted):
        targets, loss weights, optimizer, learning rate, epochs, early stopping, frozen parts.
    fractions, seed
        Split used when the dataset carries none (a :class:`DatasetDoc` carries its own).
    model_dir
        Parent directory of the checkpoints (default ``~/.ionflow/models``, next to the
        embedded store); each run writes ``<model_dir>/<backend>-<dataset version>-<hash>/``.
    worker
        Worker kind (``"gpu"``).
    """

    name: str = "fine-tune"
    backend: str = "chgnet"
    settings: FineTuneSettings = field(default_factory=FineTuneSettings)
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    model_dir: str | None = None
    worker: str = "gpu"

    def __post_init__(self) -> None:
        backend = get_backend(self.backend)  # unknown backends fail when the Maker is built
        if isinstance(self.settings, dict):  # each backend has its own settings (MACE: mode, ...)
            self.settings = backend.settings_class(**self.settings)
        self.fractions = tuple(float(f) for f in self.fractions)
        split_indices(3, self.fractions, self.seed)
        if self.model_dir is not None:
            self.model_dir = str(self.model_dir)
        check_worker(self.worker)

    @ionflow_job(output_schema=FineTuneDoc, data=["dataset"])
    def make(self, dataset: Any) -> FineTuneDoc:
        """Split, fine-tune, evaluate; the checkpoint is written under ``model_dir``.

        Parameters
        ----------
        dataset
            A :class:`~ionflow.schemas.training.DatasetDoc`, a
            :class:`~ionflow.schemas.label.LabelSetDoc`, an extxyz file or text, or labelled
            ASE Atoms.

        Returns
        -------
        FineTuneDoc
            Metrics, curve, checkpoint and model spec; the dataset (extxyz) in the data store.

        Raises
        ------
        IonflowInputError
            For an empty or unlabelled dataset or a bad base model (nothing is written).
        """
        configs, provenance = _labelled_atoms(dataset)
        check_labelled(configs, require_stress="s" in self.settings.targets)
        doc = _as_dict(dataset) if isinstance(dataset, BaseModel | dict) else {}
        split = doc.get("split_indices") or split_indices(len(configs), self.fractions, self.seed)
        inner = doc.get("dataset") or {}
        stored = TrainingDataset(**inner) if inner.get("version") else _stored(configs)
        key = hashlib.sha256(repr(self.settings.as_plain_dict()).encode()).hexdigest()[:8]
        out_dir = Path(self.model_dir or _default_model_dir()).expanduser()
        out_dir = out_dir / f"{self.backend}-{stored.version}-{key}"
        result = get_backend(self.backend).train(
            [configs[i] for i in split["train"]],
            [configs[i] for i in split["val"]],
            [configs[i] for i in split["test"]],
            self.settings,
            out_dir,
        )
        return FineTuneDoc(
            backend=result.backend,
            model_spec=result.model_spec,
            checkpoint=str(result.checkpoint),
            base_model=self.settings.base_model,
            metrics=result.metrics,
            history=result.history,
            best_epoch=result.best_epoch,
            epochs_run=result.epochs_run,
            stopped_early=result.stopped_early,
            curve_png=str(result.curve_png) if result.curve_png else None,
            wall_time_s=result.wall_time_s,
            n_configs=result.n_configs,
            dataset_version=stored.version,
            energy_reference_shift=result.reference_shift,
            settings=self.settings.as_plain_dict(),
            provenance={**provenance, "split_indices": split},
            dataset=stored,
        )
