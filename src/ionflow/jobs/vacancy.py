"""Fixed-cell relaxation of one symmetry-distinct vacancy supercell (shared by a screen's hops)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from jobflow import Maker
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from ionflow.core.errors import IonflowInputError
from ionflow.core.neb.relax import relax_fixed_cell
from ionflow.core.neb.result import RelaxResult
from ionflow.core.neb.settings import ENDPOINT_OPTIMIZERS
from ionflow.core.npz import checkpoint_path, read_npz, write_npz
from ionflow.jobs.base import check_model_fields, ionflow_job
from ionflow.mlip import get_evaluator, parse_model_spec
from ionflow.schemas.vacancy import VacancyDoc
from ionflow.settings import default_model

if TYPE_CHECKING:
    from pathlib import Path

    from ionflow.jobs.neb import MLIPNebMaker

__all__ = ["VacancyRelaxMaker"]

logger = logging.getLogger(__name__)


def _vacancy_suffix(arguments: dict[str, Any]) -> str | None:
    vac = arguments.get("vacancy") or {}
    parts = [str(vac[k]) for k in ("vacancy_id", "label") if vac.get(k)]
    return " ".join(parts) or None


def _save(path: Path, res: RelaxResult, wall: float) -> None:
    arrays = {"positions": res.atoms.positions, "forces": np.asarray(res.forces)}
    meta = {
        "wall_time_s": wall,
        "energy": res.energy,
        "n_steps": res.n_steps,
        "force_calls": res.force_calls,
        "converged": res.converged,
        "max_force": res.max_force,
    }
    write_npz(path, arrays, meta)


def _load(path: Path, structure: Structure) -> tuple[RelaxResult | None, float]:
    """The relaxation saved at ``path`` and its wall time (None when not of ``structure``)."""
    arrays, meta = read_npz(path)
    if arrays["positions"].shape != (len(structure), 3):
        return None, 0.0
    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.positions = arrays["positions"]
    res = RelaxResult(
        atoms,
        float(meta["energy"]),
        arrays["forces"],
        int(meta["n_steps"]),
        int(meta["force_calls"]),
        bool(meta["converged"]),
        float(meta["max_force"]),
    )
    return res, float(meta.get("wall_time_s", 0.0))


@dataclass
class VacancyRelaxMaker(Maker):
    """Relax one single-vacancy supercell at fixed cell (the endpoint relaxation of a screen).

    A screen relaxes each symmetry-distinct vacancy once with this job and maps the result onto
    every NEB endpoint of that kind (:func:`ionflow.core.screen.map_vacancy`).

    Parameters
    ----------
    name
        Job name (each job appends its vacancy, e.g. ``"vacancy relax V2 Li2 (2c)"``).
    model
        Model spec, as :class:`~ionflow.jobs.neb.MLIPNebMaker`'s.
    fmax, max_steps, optimizer
        Convergence threshold (eV/Å), step limit and ASE optimiser (``"bfgs"``, ``"fire"``,
        ``"lbfgs"``): a NEB's ``endpoint_fmax``, ``endpoint_max_steps``,
        ``endpoint_optimizer``.
    species
        Mobile species, whose largest displacement is reported (``max_mobile_shift_A``).
    checkpoint_dir
        Directory where the relaxed vacancy is kept (``None``: nowhere). A rerun of the same
        relaxation (same structure, model, settings) reads it instead of relaxing again, e.g.
        a screen rerun after its NEB jobs hit their wall-time limit; its document then reports
        the first run's force calls and wall time (as a continued NEB band does).
    worker
        Kind of worker the job needs (``"gpu"``: MLIP work).
    """

    name: str = "vacancy relax"
    model: str | dict = field(default_factory=default_model)
    fmax: float = 0.05
    max_steps: int = 300
    optimizer: str = "bfgs"
    species: str | None = None
    checkpoint_dir: str | None = None
    worker: str = "gpu"

    def __post_init__(self) -> None:
        if self.fmax <= 0 or self.max_steps < 1:
            raise IonflowInputError(
                f"fmax must be positive and max_steps >= 1, got {self.fmax}, {self.max_steps}"
            )
        if self.optimizer not in ENDPOINT_OPTIMIZERS:
            raise IonflowInputError(
                f"optimizer must be one of {ENDPOINT_OPTIMIZERS}, got {self.optimizer!r}"
            )
        check_model_fields(self)

    @classmethod
    def from_neb_maker(
        cls, neb_maker: MLIPNebMaker, species: str | None = None
    ) -> VacancyRelaxMaker:
        """The vacancy relaxation a NEB job would do on its endpoints (same model, settings).

        Its checkpoints go to ``vacancies/`` under the NEB maker's ``checkpoint_dir``.
        """
        s, ckpt = neb_maker.neb_settings, neb_maker.checkpoint_dir
        return cls(
            model=neb_maker.model,
            fmax=s.endpoint_fmax,
            max_steps=s.endpoint_max_steps,
            optimizer=s.endpoint_optimizer,
            species=species,
            checkpoint_dir=None if ckpt is None else f"{ckpt}/vacancies",
            worker=neb_maker.worker,
        )

    def _checkpoint(self, structure: Structure, label: str) -> Path | None:
        if self.checkpoint_dir is None:
            return None
        key = {
            "structure": structure,
            "model": label,
            "fmax": self.fmax,
            "max_steps": self.max_steps,
            "optimizer": self.optimizer,
        }
        name = f"{structure.composition.reduced_formula}_{label}"
        return checkpoint_path(self.checkpoint_dir, "vacancy", name, key)

    @ionflow_job(output_schema=VacancyDoc, name_suffix=_vacancy_suffix)
    def make(self, structure: Structure, vacancy: dict[str, Any] | None = None) -> VacancyDoc:
        """Relax ``structure`` at fixed cell; a model failure is reported, not raised.

        Parameters
        ----------
        structure
            The single-vacancy supercell (atom order is kept).
        vacancy
            Metadata stored with the result (``vacancy_id``, ``label``, ``site_index``).

        Returns
        -------
        VacancyDoc
            Relaxed structure, energy, forces, counters.
        """
        spec = parse_model_spec(self.model)
        meta = {k: (vacancy or {}).get(k) for k in ("vacancy_id", "label", "site_index")}
        base = {"formula": structure.composition.formula, "model": spec.label, **meta}
        settings = {"fmax": self.fmax, "max_steps": self.max_steps, "optimizer": self.optimizer}
        t0 = time.perf_counter()
        path = self._checkpoint(structure, spec.label)
        try:
            res, earlier = None, 0.0
            if path is not None and path.is_file():
                res, earlier = _load(path, structure)
            if res is None:
                res = relax_fixed_cell(
                    AseAtomsAdaptor.get_atoms(structure),
                    get_evaluator(spec),
                    fmax=self.fmax,
                    max_steps=self.max_steps,
                    optimizer=self.optimizer,
                    label=f"vacancy {meta['vacancy_id'] or ''}".strip(),
                )
                if path is not None:
                    _save(path, res, time.perf_counter() - t0)
            else:
                logger.info("vacancy %s read from %s", meta["vacancy_id"], path)
        except Exception as exc:  # a model or optimiser error is reported: the screen says why
            logger.exception("vacancy relaxation %s failed", meta["vacancy_id"])
            return VacancyDoc(
                **base,
                failure_reason=f"{type(exc).__name__}: {exc}",
                wall_time_s=time.perf_counter() - t0,
                settings=settings,
            )
        relaxed = Structure(
            structure.lattice,
            structure.species,
            res.atoms.positions,
            coords_are_cartesian=True,
            site_properties=structure.site_properties or None,
        )
        disp = np.linalg.norm(res.atoms.positions - structure.cart_coords, axis=1)
        mobile = [i for i, s in enumerate(structure) if s.species_string == self.species]
        return VacancyDoc(
            **base,
            energy_eV=res.energy,
            forces_eV_A=np.asarray(res.forces).tolist(),
            structure=relaxed,
            converged=res.converged,
            n_steps=res.n_steps,
            force_calls=res.force_calls,
            max_force_eV_A=res.max_force,
            max_mobile_shift_A=float(disp[mobile].max()) if mobile else None,
            wall_time_s=earlier + time.perf_counter() - t0,
            settings=settings,
            failure_reason=None
            if res.converged
            else (f"not converged: max force {res.max_force:.3f} eV/Å > fmax {self.fmax}"),
        )
