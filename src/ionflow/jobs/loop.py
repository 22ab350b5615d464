"""Jobs of the temperature-ladder fine-tuning loop (bohm-champagne, Fig. 6).

One rung at temperature T, built by :meth:`LoopRungMaker.rung_flow`::

    md       = MLIPMDMaker(model=current).make(cell, T)            # full frames kept
    D        = DiffusionAnalysisMaker().make([md.output], T)
    select   = SnapshotSelectMaker().make(md.output, cell, ...)    # furthest point (+ committee)
    labels   = <labeller>.make(select.output.structures, ...)      # teacher MLIP or VASP
    dataset  = DatasetMaker().make([labels of every rung so far])
    model    = FineTuneMaker(base_model=current).make(dataset.output)
    metrics  = RungAssessMaker().make(held-out labels, current, model.output, ...)
    next     = LoopRungMaker.make([metrics of every rung])         # replaced by the next rung,
                                                                   # or the final LoopDoc
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from jobflow import Maker
from pydantic import BaseModel
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from ionflow.core.errors import IonflowInputError
from ionflow.core.training.selection import (
    force_disagreement,
    heldout_errors,
    rattled_configs,
    select_by_disagreement,
)
from ionflow.core.training.sources import configs_from_frames
from ionflow.jobs.base import check_worker, ionflow_job
from ionflow.mlip import get_evaluator
from ionflow.schemas.arrays import unpack
from ionflow.schemas.label import LabelSetDoc
from ionflow.schemas.loop import HeldoutMetrics, RungDoc
from ionflow.schemas.training import ConfigSetDoc

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ase import Atoms

__all__ = [
    "HeldoutConfigsMaker",
    "RungAssessMaker",
    "SnapshotSelectMaker",
    "heldout_metrics",
    "loop_table",
    "md_frames",
]

logger = logging.getLogger(__name__)


def _as_dict(doc: Any) -> dict:
    return doc.model_dump() if isinstance(doc, BaseModel) else dict(doc or {})


def _structure(obj: Any) -> Structure:
    return obj if isinstance(obj, Structure) else Structure.from_dict(obj)


@dataclass
class HeldoutConfigsMaker(Maker):
    """The fixed held-out set: rattled and strained copies of the MD cell, never trained on.

    Parameters
    ----------
    name
        Job name.
    n_configs
        Configurations in the held-out set.
    amplitudes
        Gaussian displacement amplitudes (Å), cycled over the set (0.05–0.2 Å spans the
        thermal displacements of a 200–800 K ladder).
    strains
        Isotropic strains, cycled over the set.
    seed
        Seed of the displacements.
    worker
        Worker kind.
    """

    name: str = "loop held-out configurations"
    n_configs: int = 10
    amplitudes: tuple[float, ...] = (0.05, 0.1, 0.15, 0.2)
    strains: tuple[float, ...] = (-0.02, 0.0, 0.02)
    seed: int = 12345
    worker: str = "cpu"

    def __post_init__(self) -> None:
        self.amplitudes = tuple(float(a) for a in self.amplitudes)
        self.strains = tuple(float(s) for s in self.strains)
        from ase import Atoms

        probe = Atoms("H", cell=[3, 3, 3], pbc=True)
        rattled_configs(probe, self.n_configs, self.amplitudes, self.strains)  # validates
        check_worker(self.worker)

    @ionflow_job(output_schema=ConfigSetDoc)
    def make(self, structure: Structure) -> ConfigSetDoc:
        """Rattled and strained copies of ``structure``.

        Parameters
        ----------
        structure
            The MD cell of the loop.

        Returns
        -------
        ConfigSetDoc
            The configurations to label, ``kind: "heldout"`` each.
        """
        atoms = AseAtomsAdaptor.get_atoms(_structure(structure))
        configs = rattled_configs(atoms, self.n_configs, self.amplitudes, self.strains, self.seed)
        return ConfigSetDoc(
            structures=[AseAtomsAdaptor.get_structure(a) for a in configs],
            sources=[
                {"kind": "heldout", "rattle_A": a.info["rattle_A"], "strain": a.info["strain"]}
                for a in configs
            ],
            n_configs=len(configs),
        )


def md_frames(md_doc: Any, structure: Structure) -> list[Atoms]:
    """The full frames of an MD run as ``Atoms`` (species from ``structure``, wrapped).

    :class:`~ionflow.schemas.md.MDDoc` stores no atomic numbers: the frames are in the atom
    order of the structure the run started from, which must be given.

    Parameters
    ----------
    md_doc
        An :class:`~ionflow.schemas.md.MDDoc` (or its dict) with full frames.
    structure
        The structure the run started from.

    Returns
    -------
    list[Atoms]
        One periodic configuration per stored full frame.

    Raises
    ------
    IonflowInputError
        If the run stored no full frames or their atom count differs from ``structure``.
    """
    from ase import Atoms as AseAtoms

    traj = _as_dict(_as_dict(md_doc).get("trajectory"))
    frames = unpack(traj.get("full_frames"))
    if frames is None or len(frames) == 0:
        raise IonflowInputError(
            "the MD run stored no full frames (MDSettings.store_full_frames=True is needed)"
        )
    numbers = [site.specie.Z for site in structure]
    if frames.shape[1] != len(numbers):
        raise IonflowInputError(
            f"MD frames have {frames.shape[1]} atoms, the structure {len(numbers)}"
        )
    out = []
    for x in frames:
        atoms = AseAtoms(numbers=numbers, positions=x, cell=traj["cell"], pbc=True)
        atoms.wrap()
        out.append(atoms)
    return out


@dataclass
class SnapshotSelectMaker(Maker):
    """Snapshots of a rung's MD to label: furthest point, optionally where two models disagree.

    Parameters
    ----------
    name
        Job name.
    n_snapshots
        Snapshots kept per rung.
    disagreement
        Among ``pool_factor * n_snapshots`` furthest-point candidates keep the ``n_snapshots``
        where the current and the previous model's forces differ most (a two-model
        committee); the first rung, which has no previous model, uses furthest point only.
    pool_factor
        Candidate pool size, in multiples of ``n_snapshots``.
    worker
        Worker kind (``"gpu"`` is worth it only with ``disagreement``).
    """

    name: str = "loop select snapshots"
    n_snapshots: int = 20
    disagreement: bool = False
    pool_factor: int = 3
    worker: str = "cpu"

    def __post_init__(self) -> None:
        if self.n_snapshots < 1 or self.pool_factor < 1:
            raise IonflowInputError("n_snapshots and pool_factor must be >= 1")
        check_worker(self.worker)

    @ionflow_job(output_schema=ConfigSetDoc)
    def make(
        self,
        md_doc: Any,
        structure: Structure,
        model: str | dict | None = None,
        previous_model: str | dict | None = None,
    ) -> ConfigSetDoc:
        """Select snapshots of one MD run.

        Parameters
        ----------
        md_doc
            The rung's :class:`~ionflow.schemas.md.MDDoc` (full frames).
        structure
            The structure the run started from (atom order and species of the frames).
        model, previous_model
            The committee when ``disagreement`` is on (current and previous model specs).

        Returns
        -------
        ConfigSetDoc
            Selected configurations, one provenance dict each.
        """
        doc = _as_dict(md_doc)
        frames = md_frames(doc, _structure(structure))
        committee = self.disagreement and model is not None and previous_model is not None
        n_pool = self.pool_factor * self.n_snapshots if committee else self.n_snapshots
        picked = configs_from_frames(frames, n_pool)
        scores: list[float | None] = [None] * len(picked)
        if committee:
            preds = [get_evaluator(m).evaluate(picked) for m in (model, previous_model)]
            gaps = force_disagreement(*preds)
            keep = select_by_disagreement(gaps, self.n_snapshots)
            picked, scores = [picked[i] for i in keep], [float(gaps[i]) for i in keep]
        method = "disagreement" if committee else "furthest-point"
        sources = [
            {
                "kind": "md_frame",
                "frame": int(a.info["frame"]),
                "temperature_K": doc.get("temperature_K"),
                "formula": doc.get("formula"),
                "model": doc.get("model"),
                "selection": method,
                **({"force_disagreement_eV_A": s} if s is not None else {}),
            }
            for a, s in zip(picked, scores)
        ]
        logger.info(
            "%d of %d frames of the %.0f K run selected (%s)",
            len(picked),
            len(frames),
            doc.get("temperature_K") or 0.0,
            method,
        )
        return ConfigSetDoc(
            structures=[AseAtomsAdaptor.get_structure(a) for a in picked],
            sources=sources,
            n_configs=len(picked),
        )


def heldout_metrics(heldout: Any, model: str) -> HeldoutMetrics:
    """Errors of ``model`` against the held-out labels.

    Parameters
    ----------
    heldout
        The held-out :class:`~ionflow.schemas.label.LabelSetDoc` (or its dict).
    model
        Model spec.

    Returns
    -------
    HeldoutMetrics
        Energy, force and stress MAE (stress None when it cannot be compared).
    """
    labels = LabelSetDoc.model_validate(_as_dict(heldout)).to_atoms_list()
    if not labels:
        raise IonflowInputError("the held-out set has no usable label")
    preds = get_evaluator(model).evaluate(labels, stress=True)
    err = heldout_errors(labels, preds)
    stress = err["stress_GPa"]
    return HeldoutMetrics(
        model=str(model),
        energy_eV_atom=err["energy_eV_atom"],
        forces_eV_A=err["forces_eV_A"],
        stress_GPa=None if np.isnan(stress) else stress,
        n_configs=err["n_configs"],
    )


@dataclass
class RungAssessMaker(Maker):
    """Per-rung metrics: held-out errors before and after the rung's fine-tune, D at T.

    Parameters
    ----------
    name
        Job name.
    worker
        Worker kind (``"gpu"``: two model evaluations of the held-out set).
    """

    name: str = "loop rung metrics"
    worker: str = "gpu"

    def __post_init__(self) -> None:
        check_worker(self.worker)

    @ionflow_job(output_schema=RungDoc)
    def make(
        self,
        rung: int,
        temperature: float,
        heldout: Any,
        model_before: str,
        finetune: Any,
        md: Any,
        diffusion: Any,
        counts: dict[str, Any],
        job_uuids: dict[str, str] | None = None,
    ) -> RungDoc:
        """Evaluate both models on the held-out set and collect the rung's numbers.

        Parameters
        ----------
        rung
            1-based rung number.
        temperature
            The rung's temperature (K).
        heldout
            Held-out labels.
        model_before, finetune
            Model spec that ran the MD; the rung's :class:`~ionflow.schemas.training.FineTuneDoc`.
        md, diffusion
            The rung's MD summary and D analysis (either may be None).
        counts
            ``n_selected``, ``n_labelled``, ``n_train_configs``, ``selection``.
        job_uuids
            uuids of the rung's jobs.

        Returns
        -------
        RungDoc
            The rung's metrics.
        """
        ft, md, dd = _as_dict(finetune), _as_dict(md), _as_dict(diffusion)
        before = heldout_metrics(heldout, model_before)
        after = heldout_metrics(heldout, ft["model_spec"])
        logger.info(
            "rung %d (%.0f K): held-out force MAE %.4f -> %.4f eV/Å, energy %.4f -> %.4f eV/atom",
            rung,
            temperature,
            before.forces_eV_A,
            after.forces_eV_A,
            before.energy_eV_atom,
            after.energy_eV_atom,
        )
        return RungDoc(
            rung=int(rung),
            temperature_K=float(temperature),
            model_before=str(model_before),
            model_after=ft["model_spec"],
            heldout_before=before,
            heldout_after=after,
            D_cm2_s=dd.get("D_cm2_s"),
            D_err_cm2_s=dd.get("D_err_cm2_s"),
            D_enough_hops=dd.get("enough_hops"),
            D_note=dd.get("hops_reason"),
            md_completed=bool(md.get("completed", False)),
            md_failure_reason=md.get("failure_reason"),
            md_n_frames=int(md.get("n_frames") or 0),
            n_selected=int(counts.get("n_selected") or 0),
            n_labelled=int(counts.get("n_labelled") or 0),
            n_train_configs=int(counts.get("n_train_configs") or 0),
            selection=str(counts.get("selection") or "furthest-point"),
            finetune_metrics=ft.get("metrics") or {},
            dataset_version=ft.get("dataset_version"),
            job_uuids=dict(job_uuids or {}),
        )


def loop_table(rungs: Sequence[RungDoc]) -> list[dict[str, Any]]:
    """One row per model: the initial one (rung 0), then the model after each rung.

    Parameters
    ----------
    rungs
        The rungs in order.

    Returns
    -------
    list[dict]
        ``rung``, ``label``, ``model``, ``temperature_K``, held-out MAEs, ``D_cm2_s`` (from
        the rung's MD, run with the previous row's model).
    """
    keys = ("energy_eV_atom", "forces_eV_A", "stress_GPa")
    first = rungs[0].heldout_before
    rows = [
        {"rung": 0, "label": "initial", "model": first.model, "temperature_K": None}
        | {k: getattr(first, k) for k in keys}
        | {"D_cm2_s": None}
    ]
    for r in rungs:
        rows.append(
            {
                "rung": r.rung,
                "label": f"{r.temperature_K:.0f} K",
                "model": r.model_after,
                "temperature_K": r.temperature_K,
            }
            | {k: getattr(r.heldout_after, k) for k in keys}
            | {"D_cm2_s": r.D_cm2_s, "D_enough_hops": r.D_enough_hops}
        )
    return rows
