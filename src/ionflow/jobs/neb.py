"""MLIP climbing-image NEB job."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from jobflow import Maker, job
from pymatgen.io.ase import AseAtomsAdaptor

from ionflow.core.errors import IonflowInputError
from ionflow.core.neb.engine import NebSettings, run_neb
from ionflow.jobs.base import route
from ionflow.mlip import get_evaluator, parse_model_spec
from ionflow.schemas.hops import NebDoc, NebImages

if TYPE_CHECKING:
    from jobflow import Job
    from pymatgen.core import Structure

logger = logging.getLogger(__name__)


def _to_atoms(structure: Structure):
    atoms = AseAtomsAdaptor.get_atoms(structure)
    # keep unwrapped Cartesian positions exactly as stored (no wrapping into the cell)
    atoms.positions = np.array([site.coords for site in structure])
    return atoms


def _checkpoint_name(initial: Structure, hop_id: str | None, model_label: str) -> str:
    raw = f"{initial.composition.reduced_formula}_{hop_id or 'neb'}_{model_label}"
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", raw) + ".npz"


@job(output_schema=NebDoc, data=["images"])
def run_mlip_neb(
    initial: Structure,
    final: Structure,
    model: str | dict = "chgnet",
    neb_settings: dict[str, Any] | None = None,
    n_images: int = 7,
    max_gap: float = 1.0,
    interpolation: str = "idpp",
    moving_index: int | None = 0,
    hop: dict[str, Any] | None = None,
    unwrap: bool = True,
    progress: bool = True,
    checkpoint_dir: str | None = None,
) -> NebDoc:
    """Relax endpoints, IDPP path, climbing-image NEB; a failure is reported, never raised.

    With ``checkpoint_dir`` the band is checkpointed there (one ``.npz`` per hop and model) and
    a rerun of the job after a wall-time kill continues from it; the file is removed once the
    band converges.
    """
    spec = parse_model_spec(model)
    settings = NebSettings(**(neb_settings or {}))
    hop_id = (hop or {}).get("hop_id")
    checkpoint = None
    if checkpoint_dir is not None:
        checkpoint = Path(checkpoint_dir) / _checkpoint_name(initial, hop_id, spec.label)
    try:
        evaluator = get_evaluator(spec)
        result = run_neb(
            _to_atoms(initial),
            _to_atoms(final),
            evaluator,
            settings,
            n_images=n_images,
            max_gap=max_gap,
            interpolation=interpolation,
            moving_index=moving_index,
            unwrap=unwrap,
            progress=progress,
            checkpoint=checkpoint,
        )
    except IonflowInputError:
        raise
    except Exception as exc:
        logger.exception("NEB of %s failed", hop_id)
        return NebDoc(
            hop_id=hop_id,
            formula=initial.composition.formula,
            model=spec.label,
            barrier_forward_eV=None,
            barrier_reverse_eV=None,
            converged=False,
            failure_reason=f"{type(exc).__name__}: {exc}",
            n_images=0,
            settings=settings.__dict__.copy(),
            hop=hop,
        )
    if checkpoint is not None and result.converged:
        checkpoint.unlink(missing_ok=True)
    summary = result.summary()
    for key in ("barrier_forward_eV", "barrier_reverse_eV"):
        if not np.isfinite(summary[key]):
            summary[key] = None
    logger.info(
        "hop %s: forward %s eV, reverse %s eV, converged=%s, %d force calls, %.0f s",
        hop_id,
        summary["barrier_forward_eV"],
        summary["barrier_reverse_eV"],
        summary["converged"],
        summary["force_calls"],
        summary["wall_time_s"],
    )
    return NebDoc(
        hop_id=hop_id,
        formula=initial.composition.formula,
        model=spec.label,
        settings=result.settings,
        hop=hop,
        images=NebImages(
            positions=result.positions.astype(np.float32).tolist(),
            numbers=result.numbers.tolist(),
            cell=result.cell.tolist(),
        ),
        **summary,
    )


@dataclass
class MLIPNebMaker(Maker):
    """Climbing-image NEB of one hop with an MLIP.

    Parameters
    ----------
    name
        Job name.
    model
        Model spec (``"chgnet"``, ``"sevennet"``, ``"mace:/path"``, a checkpoint path, or
        ``{"@module", "@callable", "kwargs"}``).
    n_images
        Images including endpoints (lian2025: 7).
    max_gap
        Images are added where neighbouring images are more than this apart (Å).
    interpolation
        ``"idpp"`` or ``"linear"``.
    neb_settings
        Overrides of :class:`ionflow.core.neb.engine.NebSettings` (``fmax``, ``max_steps``,
        ``optimizer``, ``climb``, ``relax_endpoints``, ...).
    checkpoint_dir
        Directory for band checkpoints (``None``: none). Give a path that outlives the job's
        launch directory (e.g. on scratch): a job killed at its wall-time limit and rerun
        continues its band instead of starting over.
    worker
        Kind of worker the job needs (``"gpu"``: MLIP work).
    """

    name: str = "mlip neb"
    model: str | dict = "chgnet"
    n_images: int = 7
    max_gap: float = 1.0
    interpolation: str = "idpp"
    neb_settings: dict[str, Any] = field(default_factory=dict)
    checkpoint_dir: str | None = None
    worker: str = "gpu"

    def __post_init__(self) -> None:
        NebSettings(**self.neb_settings)  # fail early on a bad knob
        spec = parse_model_spec(self.model)
        if not isinstance(self.model, str):
            # a plain dict that survives jobflow/monty serialisation unchanged
            self.model = spec.as_dict()

    def make(
        self,
        initial: Structure,
        final: Structure,
        moving_index: int | None = 0,
        hop: dict[str, Any] | None = None,
        unwrap: bool = True,
    ) -> Job:
        """Job computing the barrier between ``initial`` and ``final`` (same atom order).

        ``unwrap=True`` puts every atom of ``final`` at its minimum image relative to
        ``initial`` (for wrapped endpoint files); ionflow's own endpoints are already
        unwrapped and pass False.
        """
        j = run_mlip_neb(
            initial,
            final,
            model=self.model,
            neb_settings=self.neb_settings,
            n_images=self.n_images,
            max_gap=self.max_gap,
            interpolation=self.interpolation,
            moving_index=moving_index,
            hop=hop,
            unwrap=unwrap,
            checkpoint_dir=None if self.checkpoint_dir is None else str(self.checkpoint_dir),
        )
        j.name = f"{self.name} {hop['hop_id']}" if hop and hop.get("hop_id") else self.name
        return route(j, self.worker)
