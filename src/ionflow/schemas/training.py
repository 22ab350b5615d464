"""Documents of training datasets and fine-tuning runs (:mod:`ionflow.jobs.finetune`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pymatgen.core import Structure

__all__ = ["ConfigSetDoc", "DatasetDoc", "FineTuneDoc", "TrainingDataset"]


class ConfigSetDoc(BaseModel):
    """Output of :class:`~ionflow.jobs.finetune.TrainingConfigsMaker`: what to label."""

    structures: list[Structure] = Field(default_factory=list)
    sources: list[dict[str, Any]] = Field(
        default_factory=list, description="Provenance per configuration (kind, hop_id, job_uuid)"
    )
    n_configs: int = 0


class TrainingDataset(BaseModel):
    """A labelled dataset as extxyz text (``data`` store), versioned by its content."""

    extxyz: str = Field(description="extxyz with energy (eV), forces (eV/Å), stress (eV/Å^3)")
    n_configs: int
    version: str = Field(description="sha256 (first 16 hex digits) of the extxyz text")


class DatasetDoc(BaseModel):
    """Output of :class:`~ionflow.jobs.finetune.DatasetMaker`: a labelled, split dataset."""

    version: str
    n_configs: int
    n_atoms_total: int
    formulas: list[str] = Field(default_factory=list)
    has_stress: bool
    split_indices: dict[str, list[int]] = Field(default_factory=dict)
    split_seed: int = 0
    provenance: dict[str, Any] = Field(
        default_factory=dict, description="sources (jobs), labellers, settings"
    )
    dataset: TrainingDataset | None = None


class FineTuneDoc(BaseModel):
    """Output of :class:`~ionflow.jobs.finetune.FineTuneMaker`: one fine-tuned model."""

    backend: str
    model_spec: str = Field(description="e.g. 'chgnet:/abs/path/chgnet_finetuned.pth.tar'")
    checkpoint: str
    base_model: str
    metrics: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="MAE per split: energy_eV_atom, forces_eV_A, stress_GPa"
    )
    history: dict[str, list[float]] = Field(default_factory=dict)
    best_epoch: int = Field(description="Epoch of the kept model, 0-based (-1: none)")
    epochs_run: int
    stopped_early: bool
    curve_png: str | None = None
    wall_time_s: float = 0.0
    n_configs: dict[str, int] = Field(default_factory=dict)
    dataset_version: str
    energy_reference_shift: dict[str, Any] | None = Field(
        None, description="Per-element reference shifts fitted before training (eV/atom)"
    )
    settings: dict[str, Any] = Field(default_factory=dict)
    provenance: dict[str, Any] = Field(default_factory=dict)
    dataset: TrainingDataset | None = None
