"""Document of the lian2025 discovery flow (:class:`~ionflow.flows.discovery.DiscoveryFlow`).

One :class:`DiscoveryDoc` per structure: the hop barriers of the pretrained and of the
fine-tuned model side by side, which model was produced (its spec, the uuid of its
fine-tuning job, its metrics) and, when MD was asked for, the conductivity with the
fine-tuned model. The fine-tuned model itself is the :class:`~ionflow.schemas.training.
FineTuneDoc` of the job named by ``model_uuid`` (``ionflow results models``).

The field names avoid those the store queries use to recognise other documents
(``n_hops`` for screens, ``model_spec`` with ``checkpoint`` for fine-tuned models), so a
discovery document is counted neither as a screen nor as a model.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = ["DiscoveryDoc", "HopComparisonRow"]


class HopComparisonRow(BaseModel):
    """One hop's barriers with the pretrained and with the fine-tuned model."""

    hop_id: str
    initial: str | None = None
    final: str | None = None
    length_A: float | None = None
    pretrained_forward_eV: float | None = None
    pretrained_reverse_eV: float | None = None
    pretrained_converged: bool | None = None
    finetuned_forward_eV: float | None = None
    finetuned_reverse_eV: float | None = None
    finetuned_converged: bool | None = None
    change_forward_eV: float | None = Field(
        None, description="Fine-tuned minus pretrained forward barrier (eV)"
    )


class DiscoveryDoc(BaseModel):
    """Output of :class:`~ionflow.flows.discovery.DiscoveryFlow` (lian2025's loop, once)."""

    formula: str
    reduced_formula: str
    species: str
    pretrained_model: str = Field(description="Model spec of the first screen")
    finetuned_model: str = Field(description="Model spec of the second screen (and the MD)")
    finetuned_checkpoint: str | None = None
    model_uuid: str | None = Field(
        None, description="uuid of the fine-tuning job (its FineTuneDoc: metrics, provenance)"
    )
    base_model: str | None = None
    labeller: str | None = None
    n_labels: int | None = Field(None, description="Configurations labelled (usable labels)")
    n_labels_failed: int | None = Field(None, description="Configurations the labeller failed")
    dataset_version: str | None = None
    n_configs: dict[str, int] = Field(default_factory=dict, description="train/val/test sizes")
    metrics: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="MAE per split of the fine-tuned model"
    )
    hops: list[HopComparisonRow] = Field(default_factory=list)
    lowest_barrier_pretrained_eV: float | None = None
    lowest_barrier_finetuned_eV: float | None = None
    percolation_pretrained_eV: dict[str, float | None] = Field(default_factory=dict)
    percolation_finetuned_eV: dict[str, float | None] = Field(default_factory=dict)
    screen_uuids: dict[str, str | None] = Field(
        default_factory=dict, description="uuids of the 'pretrained' and 'finetuned' screens"
    )
    conductivity: dict[str, Any] | None = Field(
        None, description="Arrhenius result with the fine-tuned model (Ea_eV, sigma_mS_cm, ...)"
    )
    conductivity_uuid: str | None = None
    warnings: list[str] = Field(default_factory=list)
