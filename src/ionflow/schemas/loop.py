"""Documents of the temperature-ladder fine-tuning loop (:mod:`ionflow.flows.loop`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = ["HeldoutMetrics", "LoopDoc", "RungDoc"]


class HeldoutMetrics(BaseModel):
    """Errors of one model against the labels of the fixed held-out set."""

    model: str = Field(description="model spec evaluated (e.g. 'chgnet:/abs/path')")
    energy_eV_atom: float | None = Field(None, description="energy MAE per atom (eV/atom)")
    forces_eV_A: float | None = Field(None, description="force MAE over components (eV/Å)")
    stress_GPa: float | None = Field(None, description="stress MAE over components (GPa)")
    n_configs: int = 0


class RungDoc(BaseModel):
    """One rung of the ladder: MD at T with the current model, select, label, fine-tune."""

    rung: int = Field(description="1-based rung number")
    temperature_K: float
    model_before: str = Field(description="model spec that ran this rung's MD")
    model_after: str = Field(description="model spec fine-tuned in this rung (next rung's)")
    heldout_before: HeldoutMetrics
    heldout_after: HeldoutMetrics
    D_cm2_s: float | None = Field(None, description="D at this T from this rung's MD run")
    D_err_cm2_s: float | None = None
    D_enough_hops: bool | None = Field(
        None, description="the diffusion analysis' hop check (False: D is not trustworthy)"
    )
    D_note: str | None = Field(None, description="why D is not trustworthy, when it is not")
    md_completed: bool = True
    md_failure_reason: str | None = None
    md_n_frames: int = 0
    n_selected: int = Field(0, description="snapshots selected and sent to the labeller")
    n_labelled: int = Field(0, description="snapshots the labeller labelled")
    n_train_configs: int = Field(0, description="configurations in the accumulated dataset")
    selection: str = Field("furthest-point", description="how the snapshots were chosen")
    finetune_metrics: dict[str, dict[str, float]] = Field(default_factory=dict)
    dataset_version: str | None = None
    job_uuids: dict[str, str] = Field(default_factory=dict, description="md, label, finetune")


class LoopDoc(BaseModel):
    """Output of :class:`~ionflow.flows.loop.FineTuneLoopFlow`: the whole ladder."""

    formula: str
    temperatures_K: list[float] = Field(description="the ladder as requested")
    n_rungs: int
    stop_reason: str = Field(description="'ladder end', 'iteration cap' or 'error threshold'")
    initial_model: str
    final_model: str = Field(description="model spec of the last fine-tuned model")
    backend: str
    labeller: str | None = None
    n_heldout: int = 0
    stop_force_mae_eV_A: float | None = None
    rungs: list[RungDoc] = Field(default_factory=list)
    table: list[dict[str, Any]] = Field(
        default_factory=list,
        description="one row per model: rung 0 (initial) then each fine-tune; held-out MAEs, D",
    )
    plot_path: str | None = None
    plot_png_b64: str | None = Field(None, description="the PNG (data store)")
