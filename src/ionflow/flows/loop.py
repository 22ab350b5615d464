"""FineTuneLoopFlow: bohm-champagne's temperature ladder (MD -> select -> label -> fine-tune).

::

    held-out set (rattled copies of the cell, labelled once, never trained on)
    rung 1 at T1 with the initial model: MD -> select -> label -> dataset -> fine-tune -> metrics
    rung 2 at T2 with rung 1's model: ... (built at run time by rung 1's last job)
    ...until the ladder ends, the iteration cap, or the held-out force MAE falls below a bound

Each rung's last job (:meth:`LoopRungMaker.make`) either replaces itself with the next rung
(``Response(replace=...)``), run with the model that rung fine-tuned, or returns the
:class:`~ionflow.schemas.loop.LoopDoc`: per-rung held-out errors, D at each rung's
temperature, the stop reason, and a plot of how they change over the rungs.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobflow import Flow, Maker, OutputReference, Response

from ionflow.core.errors import IonflowInputError
from ionflow.core.hops import normalize_species, validate_structure
from ionflow.core.training import get_backend
from ionflow.core.training.loop_plots import plot_loop
from ionflow.core.training.selection import stop_reason
from ionflow.jobs.base import ionflow_job
from ionflow.jobs.diffusion import DiffusionAnalysisMaker
from ionflow.jobs.finetune import DatasetMaker, FineTuneMaker
from ionflow.jobs.label import TeacherLabelMaker
from ionflow.jobs.loop import (
    HeldoutConfigsMaker,
    RungAssessMaker,
    SnapshotSelectMaker,
    loop_table,
)
from ionflow.jobs.md import MLIPMDMaker
from ionflow.mlip import parse_model_spec
from ionflow.schemas.loop import LoopDoc, RungDoc
from ionflow.settings import get_settings

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure

__all__ = ["FineTuneLoopFlow", "LoopRungMaker"]

logger = logging.getLogger(__name__)

#: bohm-champagne: 200 -> 800 K, ΔT = 200 K.
DEFAULT_LADDER = (200.0, 400.0, 600.0, 800.0)


def _short_md() -> MLIPMDMaker:
    settings = {
        "heating_ps": 1.0,
        "equilibration_ps": 1.0,
        "production_ps": 5.0,
        "store_full_frames": True,
        "full_frame_interval_fs": 50.0,
    }
    return MLIPMDMaker(name="loop md", md_settings=settings)


def continued_settings(settings: Any, model: str) -> Any:
    """Fine-tune settings that start from ``model`` (the rung's current model).

    ``base_model`` is the model every backend starts from; a backend whose settings also name
    a ``foundation`` file (MACE) gets the model there too, so that it does not go back to the
    original foundation.

    Parameters
    ----------
    settings
        The fine-tune settings (a :class:`~ionflow.core.training.FineTuneSettings`).
    model
        Model spec to continue from.

    Returns
    -------
    FineTuneSettings
        A validated copy.
    """
    changes: dict[str, Any] = {"base_model": model}
    if getattr(settings, "foundation", None):
        changes["foundation"] = model
    return replace(settings, **changes)


def _rung_suffix(arguments: dict[str, Any]) -> str:
    return f"after rung {len(arguments['rungs'])}"


@dataclass
class LoopRungMaker(Maker):
    """One rung of the ladder and the decision to climb on; built by :class:`FineTuneLoopFlow`.

    Parameters
    ----------
    name
        Name of the decision job (``"<name> after rung k"``).
    temperatures
        The ladder (K), in order.
    md_maker, diffusion_maker, select_maker, label_maker, dataset_maker, finetune_maker,
    assess_maker
        The step Makers (see :class:`FineTuneLoopFlow`).
    max_iterations
        Most rungs (None: the whole ladder).
    stop_force_mae
        Stop once the held-out force MAE of the newest model is below this (eV/Å).
    accumulate
        Train each rung on the labels of every rung so far (bohm-champagne's growing set);
        False: on this rung's labels only.
    continue_from_previous
        Fine-tune each rung from the previous rung's model (bohm-champagne: CHGNet <-
        CHGNet_T); False: every rung from ``finetune_maker.settings.base_model``.
    plot_dir
        Where the final plot goes (default ``<store parent>/runs/loop-<formula>-<uuid>``).
    seed0
        MD seed of rung 1 (rung k uses ``seed0 + k - 1``).
    worker
        Worker kind of the decision job.
    """

    name: str = "loop next"
    temperatures: tuple[float, ...] = DEFAULT_LADDER
    md_maker: MLIPMDMaker = field(default_factory=_short_md)
    diffusion_maker: DiffusionAnalysisMaker = field(default_factory=DiffusionAnalysisMaker)
    select_maker: SnapshotSelectMaker = field(default_factory=SnapshotSelectMaker)
    label_maker: Maker = field(default_factory=TeacherLabelMaker)
    dataset_maker: DatasetMaker = field(default_factory=DatasetMaker)
    finetune_maker: FineTuneMaker = field(default_factory=FineTuneMaker)
    assess_maker: RungAssessMaker = field(default_factory=RungAssessMaker)
    max_iterations: int | None = None
    stop_force_mae: float | None = None
    accumulate: bool = True
    continue_from_previous: bool = True
    plot_dir: str | None = None
    seed0: int = 0
    worker: str = "cpu"

    def rung_flow(self, rung: int, model: str, state: dict[str, Any]) -> Flow:
        """The jobs of rung ``rung`` (1-based) run with ``model``, ending in the decision job.

        Parameters
        ----------
        rung
            Rung number.
        model
            Model spec for the rung's MD (and the base of its fine-tune when
            ``continue_from_previous``).
        state
            ``cell`` (Structure dict), ``heldout_uuid``, ``label_uuids`` and ``rung_uuids``
            (earlier rungs' label and metrics jobs), ``previous_model``, ``initial_model``,
            ``formula``, ``loop_id``.

        Returns
        -------
        Flow
            MD, D, selection, labels, dataset, fine-tune, metrics, decision; its output is the
            decision's.
        """
        from pymatgen.core import Structure

        cell = state["cell"]
        cell = cell if isinstance(cell, Structure) else Structure.from_dict(cell)
        T = float(self.temperatures[rung - 1])
        md = replace(self.md_maker, model=model).make(cell, T, seed=self.seed0 + rung - 1)
        diffusion = self.diffusion_maker.make([md.output], T)
        previous = state.get("previous_model")
        select = self.select_maker.make(md.output, cell, model=model, previous_model=previous)
        labels = replace(self.label_maker, name=f"{self.label_maker.name} rung {rung}").make(
            select.output.structures, select.output.sources
        )
        earlier = [OutputReference(u) for u in state["label_uuids"]] if self.accumulate else []
        dataset = self.dataset_maker.make([*earlier, labels.output], sources=[md.uuid])
        ft_maker = self.finetune_maker
        if self.continue_from_previous:
            ft_maker = replace(ft_maker, settings=continued_settings(ft_maker.settings, model))
        finetune = ft_maker.make(dataset.output)
        committee = self.select_maker.disagreement and previous is not None
        assess = self.assess_maker.make(
            rung,
            T,
            OutputReference(state["heldout_uuid"]),
            model,
            finetune.output,
            md.output,
            diffusion.output,
            {
                "n_selected": select.output.n_configs,
                "n_labelled": labels.output.n_ok,
                "n_train_configs": dataset.output.n_configs,
                "selection": "disagreement" if committee else "furthest-point",
            },
            job_uuids={
                "md": md.uuid,
                "diffusion": diffusion.uuid,
                "select": select.uuid,
                "label": labels.uuid,
                "dataset": dataset.uuid,
                "finetune": finetune.uuid,
            },
        )
        assess.name = f"{self.assess_maker.name} rung {rung}"
        new_state = {
            **state,
            "label_uuids": [*state["label_uuids"], labels.uuid],
            "rung_uuids": [*state["rung_uuids"], assess.uuid],
            "previous_model": model,
        }
        history = [OutputReference(u) for u in new_state["rung_uuids"]]
        decide = self.make(history, new_state)
        jobs = [md, diffusion, select, labels, dataset, finetune, assess, decide]
        return Flow(jobs, output=decide.output, name=f"loop rung {rung} {T:.0f}K")

    # No output_schema: jobflow (0.4.0) gives the job that stores a replacing Flow's output the
    # replaced job's schema and then fails it on the (still unresolved) reference when the
    # replacement is itself replaced, as here from rung 2 on. The LoopDoc is built below.
    @ionflow_job(data=["plot_png_b64"], name_suffix=_rung_suffix)
    def make(self, rungs: Sequence[Any], state: dict[str, Any]) -> Response | LoopDoc:
        """Climb one rung (replace this job by the next rung) or finish with the LoopDoc.

        Parameters
        ----------
        rungs
            :class:`~ionflow.schemas.loop.RungDoc` of every rung so far.
        state
            See :meth:`rung_flow`.

        Returns
        -------
        Response or LoopDoc
            The next rung, or the ladder's summary.
        """
        docs = [RungDoc.model_validate(r if isinstance(r, dict) else r.model_dump()) for r in rungs]
        last = docs[-1]
        reason = stop_reason(
            len(docs),
            len(self.temperatures),
            self.max_iterations,
            last.heldout_after.forces_eV_A,
            self.stop_force_mae,
        )
        if reason is None:
            logger.info("rung %d done; climbing to %.0f K", last.rung, self.temperatures[len(docs)])
            return Response(replace=self.rung_flow(len(docs) + 1, last.model_after, state))
        logger.info("ladder stops after rung %d: %s", last.rung, reason)
        return self._finish(docs, reason, state)

    def _finish(self, docs: list[RungDoc], reason: str, state: dict[str, Any]) -> LoopDoc:
        table = loop_table(docs)
        plot_dir = Path(self.plot_dir).expanduser() if self.plot_dir else None
        if plot_dir is None:
            runs = get_settings().store_dir.parent / "runs"
            plot_dir = runs / f"loop-{state['formula']}-{state['loop_id'][:8]}"
        path = plot_loop(table, plot_dir / "finetune_loop.png")
        b64 = base64.b64encode(path.read_bytes()).decode() if path else None
        return LoopDoc(
            formula=state["formula"],
            temperatures_K=[float(t) for t in self.temperatures],
            n_rungs=len(docs),
            stop_reason=reason,
            initial_model=state["initial_model"],
            final_model=docs[-1].model_after,
            backend=self.finetune_maker.backend,
            labeller=state.get("labeller"),
            n_heldout=docs[0].heldout_before.n_configs,
            stop_force_mae_eV_A=self.stop_force_mae,
            rungs=docs,
            table=table,
            plot_path=str(path) if path else None,
            plot_png_b64=b64,
        )


def labeller_name(label_maker: Maker) -> str:
    """``"vasp:pbe"`` for a VASP labeller, the teacher's model label otherwise."""
    name = getattr(label_maker, "labeller", None)
    if isinstance(name, str):
        return name
    return parse_model_spec(getattr(label_maker, "model", None)).label


@dataclass
class FineTuneLoopFlow(Maker):
    """bohm-champagne's iterative fine-tuning over a temperature ladder (their Fig. 6).

    Parameters
    ----------
    name
        Flow name.
    temperatures
        The ladder (K), climbed in the order given (bohm-champagne: 200 -> 800 K, ΔT 200 K).
    model
        The initial model spec (fine-tunable by ``finetune_maker.backend``).
    md_maker
        MD of each rung (short: heating, equilibration and a few ps of production, full
        frames kept for the selection; ``store_full_frames`` is switched on here).
    n_snapshots
        Snapshots labelled per rung.
    disagreement
        Pick snapshots where the current and the previous model disagree most (among
        ``3 * n_snapshots`` furthest-point candidates); rung 1 uses furthest point only.
    label_maker
        The labeller (:func:`ionflow.jobs.label.label_maker`: a teacher MLIP or VASP).
    finetune_maker
        The fine-tune (backend, settings; its ``base_model`` is replaced by the rung's model
        when ``continue_from_previous``).
    max_iterations
        Most rungs (None: the whole ladder).
    stop_force_mae
        Stop once the held-out force MAE of the newest model is below this (eV/Å).
    heldout_maker
        The fixed held-out set: rattled/strained copies of the MD cell, labelled once by
        ``label_maker`` before rung 1 and never trained on.
    accumulate, continue_from_previous, plot_dir, seed0
        See :class:`LoopRungMaker`.
    supercell
        Diagonal repeats of the input before MD (None: the structure as given).
    mobile_species
        The diffusing ion (its D is reported per rung).
    dataset_maker, diffusion_maker, assess_maker
        The other step Makers.
    """

    name: str = "finetune loop"
    temperatures: tuple[float, ...] = DEFAULT_LADDER
    model: str = "chgnet"
    md_maker: MLIPMDMaker = field(default_factory=_short_md)
    n_snapshots: int = 20
    disagreement: bool = False
    label_maker: Maker = field(default_factory=TeacherLabelMaker)
    finetune_maker: FineTuneMaker = field(default_factory=FineTuneMaker)
    max_iterations: int | None = None
    stop_force_mae: float | None = None
    heldout_maker: HeldoutConfigsMaker = field(default_factory=HeldoutConfigsMaker)
    accumulate: bool = True
    continue_from_previous: bool = True
    plot_dir: str | None = None
    seed0: int = 0
    supercell: tuple[int, int, int] | None = None
    mobile_species: str = "Li"
    dataset_maker: DatasetMaker = field(default_factory=DatasetMaker)
    diffusion_maker: DiffusionAnalysisMaker = field(default_factory=DiffusionAnalysisMaker)
    assess_maker: RungAssessMaker = field(default_factory=RungAssessMaker)

    def __post_init__(self) -> None:
        self.temperatures = tuple(float(t) for t in self.temperatures)
        if not self.temperatures:
            raise IonflowInputError("the ladder needs at least one temperature")
        if any(not t > 0 for t in self.temperatures):
            raise IonflowInputError(f"temperatures must be positive, got {self.temperatures}")
        if self.max_iterations is not None and self.max_iterations < 1:
            raise IonflowInputError(f"max_iterations must be >= 1, got {self.max_iterations}")
        if self.stop_force_mae is not None and not self.stop_force_mae > 0:
            raise IonflowInputError(f"stop_force_mae must be > 0 eV/Å, got {self.stop_force_mae}")
        if self.n_snapshots < 1:
            raise IonflowInputError(f"n_snapshots must be >= 1, got {self.n_snapshots}")
        if not isinstance(self.model, str):
            raise IonflowInputError("the loop's model must be a spec string it can fine-tune")
        parse_model_spec(self.model)
        get_backend(self.finetune_maker.backend)
        self.mobile_species = normalize_species(self.mobile_species)
        settings = replace(
            self.md_maker.md_settings, store_full_frames=True, mobile_species=self.mobile_species
        )
        self.md_maker = replace(self.md_maker, md_settings=settings)

    def rung_maker(self) -> LoopRungMaker:
        """The Maker of each rung and of the decision to climb on."""
        select = SnapshotSelectMaker(
            n_snapshots=self.n_snapshots,
            disagreement=self.disagreement,
            worker="gpu" if self.disagreement else "cpu",
        )
        return LoopRungMaker(
            name=f"{self.name} next",
            temperatures=self.temperatures,
            md_maker=self.md_maker,
            diffusion_maker=self.diffusion_maker,
            select_maker=select,
            label_maker=self.label_maker,
            dataset_maker=self.dataset_maker,
            finetune_maker=self.finetune_maker,
            assess_maker=self.assess_maker,
            max_iterations=self.max_iterations,
            stop_force_mae=self.stop_force_mae,
            accumulate=self.accumulate,
            continue_from_previous=self.continue_from_previous,
            plot_dir=self.plot_dir,
            seed0=self.seed0,
        )

    def prepare(self, structure: Structure) -> Structure:
        """The MD cell: validated, expanded to ``supercell`` when given."""
        validate_structure(structure, self.mobile_species)
        cell = structure.copy()
        if self.supercell is not None:
            cell.make_supercell(list(self.supercell))
        return cell

    def make(self, structure: Structure) -> Flow:
        """Held-out set, its labels, rung 1 (which builds the later rungs at run time).

        Parameters
        ----------
        structure
            The starting structure (ordered, containing the mobile species).

        Returns
        -------
        Flow
            Its output is the :class:`~ionflow.schemas.loop.LoopDoc`.
        """
        cell = self.prepare(structure)
        heldout = self.heldout_maker.make(cell)
        heldout_labels = replace(self.label_maker, name=f"{self.label_maker.name} held-out").make(
            heldout.output.structures, heldout.output.sources
        )
        formula = cell.composition.reduced_formula
        state = {
            "cell": cell.as_dict(),
            "heldout_uuid": heldout_labels.uuid,
            "label_uuids": [],
            "rung_uuids": [],
            "previous_model": None,
            "initial_model": self.model,
            "formula": formula,
            "loop_id": heldout.uuid,
            "labeller": labeller_name(self.label_maker),
        }
        rung1 = self.rung_maker().rung_flow(1, self.model, state)
        return Flow(
            [heldout, heldout_labels, rung1], output=rung1.output, name=f"{self.name} {formula}"
        )
