"""MLIP climbing-image NEB job."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from jobflow import Maker
from pymatgen.io.ase import AseAtomsAdaptor

from ionflow.core.errors import IonflowInputError
from ionflow.core.neb.engine import NebSettings, RelaxResult, max_atomic_force, run_neb
from ionflow.core.neb.result import INTERMEDIATE_MINIMUM_EV
from ionflow.core.npz import checkpoint_path
from ionflow.jobs.base import check_model_fields, ionflow_job
from ionflow.mlip import ModelLoadError, get_evaluator, parse_model_spec
from ionflow.schemas.neb import NebDoc, NebImages
from ionflow.settings import default_model, default_neb_fmax

if TYPE_CHECKING:
    from pathlib import Path

    from ase import Atoms
    from pymatgen.core import Structure

    from ionflow.core.neb.engine import NebResult

logger = logging.getLogger(__name__)

#: NEB settings that change the converged band and so name its checkpoint (step limits do not:
#: a rerun with a higher ``max_steps`` continues the band).
_BAND_KEYS = ("fmax", "climb", "method", "spring_constant", "relax_endpoints", "endpoint_fmax")


def _to_atoms(structure: Structure) -> Atoms:
    atoms = AseAtomsAdaptor.get_atoms(structure)
    # keep unwrapped Cartesian positions exactly as stored (no wrapping into the cell)
    atoms.positions = np.array([site.coords for site in structure])
    return atoms


def _hop_suffix(arguments: dict[str, Any]) -> str | None:
    return (arguments.get("hop") or {}).get("hop_id")


def _given_endpoints(
    initial: Structure,
    final: Structure,
    energies: list[float] | None,
    forces: list | None,
) -> tuple[RelaxResult, RelaxResult] | None:
    """Relaxed endpoints handed to the job, or None (the job relaxes them)."""
    if energies is None and forces is None:
        return None
    if energies is None or forces is None or len(energies) != 2 or len(forces) != 2:
        raise IonflowInputError(
            "endpoint_energies and endpoint_forces go together, two of each (initial, final)"
        )
    out = []
    for structure, energy, f in zip((initial, final), energies, forces):
        f = np.asarray(f, dtype=float)
        out.append(RelaxResult(_to_atoms(structure), float(energy), f, 0, 0, True, 0.0))
        out[-1].max_force = max_atomic_force(f) if f.size else 0.0
    return out[0], out[1]


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@dataclass
class MLIPNebMaker(Maker):
    """Climbing-image NEB of one hop with an MLIP.

    Parameters
    ----------
    name
        Job name (each job appends its hop, e.g. ``"mlip neb Li1(4a)->Li1(4a)"``).
    model
        Model spec (``"chgnet"``, ``"sevennet"``, ``"mace:/path"``, a checkpoint path, or
        ``{"@module", "@callable", "kwargs"}``); default ``IONFLOW_DEFAULT_MODEL``.
    n_images
        Images including endpoints (lian2025: 7).
    max_gap
        Images are added where neighbouring images are more than this apart (Å).
    interpolation
        ``"idpp"`` or ``"linear"``.
    neb_settings
        :class:`ionflow.core.neb.engine.NebSettings` (``fmax``, ``max_steps``, ``optimizer``,
        ``climb``, ``relax_endpoints``, ...); a dict of its fields is accepted. ``fmax``
        defaults to ``IONFLOW_NEB_FMAX``.
    checkpoint_dir
        Directory for band checkpoints (``None``: none). Give a path that outlives the job's
        launch directory (e.g. on scratch): a job killed at its wall-time limit and rerun
        continues its band instead of starting over.
    progress
        Show band progress (a bar on a terminal, log lines otherwise).
    worker
        Kind of worker the job needs (``"gpu"``: MLIP work).

    Examples
    --------
    The settings of every NEB job of a flow can be changed after the flow is made:

    >>> from ionflow.flows import ScreenHopsFlow
    >>> flow = ScreenHopsFlow().make(structure)  # doctest: +SKIP
    >>> flow.update_maker_kwargs(  # doctest: +SKIP
    ...     {"_set": {"n_images": 5, "neb_settings->fmax": 0.1}},
    ...     dict_mod=True,
    ...     class_filter=MLIPNebMaker,
    ... )
    """

    name: str = "mlip neb"
    model: str | dict = field(default_factory=default_model)
    n_images: int = 7
    max_gap: float = 1.0
    interpolation: str = "idpp"
    neb_settings: NebSettings = field(default_factory=lambda: NebSettings(fmax=default_neb_fmax()))
    checkpoint_dir: str | None = None
    progress: bool = True
    worker: str = "gpu"

    def __post_init__(self) -> None:
        if isinstance(self.neb_settings, dict):
            self.neb_settings = NebSettings(**self.neb_settings)
        if self.n_images < 3:
            raise IonflowInputError(
                f"n_images must be >= 3 (endpoints included), got {self.n_images}"
            )
        if self.interpolation not in ("idpp", "linear"):
            raise IonflowInputError(
                f"interpolation must be 'idpp' or 'linear', got {self.interpolation!r}"
            )
        check_model_fields(self)

    @ionflow_job(output_schema=NebDoc, data=["images"], name_suffix=_hop_suffix)
    def make(
        self,
        initial: Structure,
        final: Structure,
        moving_index: int | None = 0,
        hop: dict[str, Any] | None = None,
        unwrap: bool = True,
        endpoint_energies: list[float] | None = None,
        endpoint_forces: list | None = None,
    ) -> NebDoc:
        """Relax endpoints, IDPP path, climbing-image NEB; a failure is reported, not raised.

        Parameters
        ----------
        initial, final
            Endpoint structures, same atom order.
        moving_index
            Index of the moving ion (None: found by the largest displacement).
        hop
            Hop metadata stored with the result (``hop_id``, labels, length).
        unwrap
            Put every atom of ``final`` at its minimum image relative to ``initial`` (for
            wrapped endpoint files); ionflow's own endpoints are already unwrapped.
        endpoint_energies, endpoint_forces
            Energies (eV) and forces (eV/Å, ``(2, n_atoms, 3)``) of ``initial`` and ``final``
            when they are already relaxed (a screen's mapped vacancy relaxations): the
            endpoints are not relaxed again and cost no force call. Give both or neither.

        Returns
        -------
        NebDoc
            Barriers, energies, convergence, cost; the band images go to the data store.
        """
        spec = parse_model_spec(self.model)
        hop_id = (hop or {}).get("hop_id")
        given = _given_endpoints(initial, final, endpoint_energies, endpoint_forces)
        checkpoint = self._checkpoint(initial, final, hop_id, spec.label, given is not None)
        try:
            result = run_neb(
                _to_atoms(initial),
                _to_atoms(final),
                get_evaluator(spec),
                self.neb_settings,
                n_images=self.n_images,
                max_gap=self.max_gap,
                interpolation=self.interpolation,
                moving_index=moving_index,
                unwrap=unwrap,
                progress=self.progress,
                checkpoint=checkpoint,
                relaxed_endpoints=given,
            )
        except ModelLoadError as exc:  # reported per hop: the screen goes on and says why
            logger.error("NEB of %s: %s", hop_id or initial.composition.reduced_formula, exc)
            return self._failure(initial, hop, spec.label, exc)
        except IonflowInputError:
            raise
        except Exception as exc:
            logger.exception("NEB of %s failed", hop_id or initial.composition.reduced_formula)
            return self._failure(initial, hop, spec.label, exc)
        if checkpoint is not None and result.converged:
            checkpoint.unlink(missing_ok=True)  # the band is in the store now
        return self._document(result, initial, hop, spec.label)

    def _failure(self, initial: Structure, hop: dict | None, label: str, exc: Exception) -> NebDoc:
        """The document of a hop whose NEB could not run or crashed."""
        return NebDoc(
            hop_id=(hop or {}).get("hop_id"),
            formula=initial.composition.formula,
            model=label,
            barrier_forward_eV=None,
            barrier_reverse_eV=None,
            converged=False,
            failure_reason=f"{type(exc).__name__}: {exc}",
            n_images=0,
            settings=self.neb_settings.__dict__.copy(),
            hop=hop,
        )

    def _checkpoint(
        self,
        initial: Structure,
        final: Structure,
        hop_id: str | None,
        label: str,
        given_endpoints: bool = False,
    ) -> Path | None:
        """The band checkpoint of this calculation (one rule for MD and NEB)."""
        if self.checkpoint_dir is None:
            return None
        key = {
            "initial": initial,
            "final": final,
            "model": label,
            "n_images": self.n_images,
            "max_gap": self.max_gap,
            "interpolation": self.interpolation,
            **{k: getattr(self.neb_settings, k) for k in _BAND_KEYS},
        }
        if given_endpoints:
            key["given_endpoints"] = True
        name = f"{initial.composition.reduced_formula}_{hop_id or 'neb'}_{label}"
        return checkpoint_path(self.checkpoint_dir, "neb", name, key)

    def _document(
        self, result: NebResult, initial: Structure, hop: dict | None, label: str
    ) -> NebDoc:
        """The stored document of a finished band."""
        hop_id = (hop or {}).get("hop_id")
        summary = result.summary()
        for key in ("barrier_forward_eV", "barrier_reverse_eV"):
            if not np.isfinite(summary[key]):
                summary[key] = None
        logger.info(
            "hop %s: forward %s eV, reverse %s eV, converged=%s, %d force calls, %.0f s",
            hop_id or initial.composition.reduced_formula,
            _fmt(summary["barrier_forward_eV"]),
            _fmt(summary["barrier_reverse_eV"]),
            summary["converged"],
            summary["force_calls"],
            summary["wall_time_s"],
        )
        if summary["intermediate_minimum_eV"] > INTERMEDIATE_MINIMUM_EV:
            logger.warning(
                "hop %s: the band passes %.3f eV below its lower endpoint (an intermediate "
                "minimum): the hop is not elementary and its barrier is not a migration barrier",
                hop_id or initial.composition.reduced_formula,
                summary["intermediate_minimum_eV"],
            )
        return NebDoc(
            hop_id=hop_id,
            formula=initial.composition.formula,
            model=label,
            settings=result.settings,
            hop=hop,
            images=NebImages(
                positions=result.positions.astype(np.float32).tolist(),
                numbers=result.numbers.tolist(),
                cell=result.cell.tolist(),
            ),
            **summary,
        )
