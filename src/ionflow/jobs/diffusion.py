"""Diffusion analysis per temperature and the Arrhenius fit."""

from __future__ import annotations

import base64
import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobflow import Maker

from ionflow.core.diffusion import (
    DiffusionResult,
    DiffusionSettings,
    diffusion_coefficient,
    plot_arrhenius,
    plot_msd,
)
from ionflow.core.diffusion.report import conductivity_report
from ionflow.core.errors import IonflowInputError
from ionflow.jobs.base import check_worker, ionflow_job
from ionflow.schemas.arrays import unpack
from ionflow.schemas.diffusion import ArrheniusDoc, DiffusionDoc

if TYPE_CHECKING:
    from collections.abc import Sequence

logger = logging.getLogger(__name__)


def _get(doc: Any, key: str, default: Any = None) -> Any:
    if doc is None:
        return default
    if isinstance(doc, dict):
        return doc.get(key, default)
    return getattr(doc, key, default)


def _temperature_suffix(arguments: dict[str, Any]) -> str:
    return f"{arguments['temperature']:.0f}K"


def completed_runs(
    md_outputs: Sequence[Any], min_frames: int = 20
) -> tuple[list[Any], list[str], dict[str, Any]]:
    """Mobile-ion trajectories of the completed MD runs, and a reason for each other run.

    Parameters
    ----------
    md_outputs
        :class:`~ionflow.schemas.md.MDDoc` outputs (or dicts; ``None`` for a run that
        produced nothing).
    min_frames
        Runs with fewer frames are left out.

    Returns
    -------
    tuple
        ``(positions per run, failure reasons, {"frame_fs", "n_mobile", "volume_A3"})``.
    """
    runs, failed = [], []
    meta: dict[str, Any] = {"frame_fs": None, "n_mobile": None, "volume_A3": None}
    for k, doc in enumerate(md_outputs):
        if doc is None:
            failed.append(f"run {k}: job produced no output")
            continue
        if not _get(doc, "completed"):
            failed.append(f"run {k} (seed {_get(doc, 'seed')}): {_get(doc, 'failure_reason')}")
            continue
        pos = unpack(_get(_get(doc, "trajectory"), "positions_mobile"))
        if pos is None or len(pos) < min_frames:
            failed.append(f"run {k}: only {0 if pos is None else len(pos)} frames")
            continue
        runs.append(pos)
        meta = {
            "frame_fs": float(_get(doc, "frame_interval_fs")),
            "n_mobile": _get(doc, "n_mobile"),
            "volume_A3": _get(doc, "volume_A3"),
        }
    return runs, failed, meta


@dataclass
class DiffusionAnalysisMaker(Maker):
    """MSD -> D at one temperature, over runs and non-overlapping segments.

    Parameters
    ----------
    name
        Job name (each job appends its temperature).
    settings
        :class:`ionflow.core.diffusion.DiffusionSettings`: segments per run (lian2025:
        3 x 200 ps -> 12 x 50 ps is ``n_segments=4``), fit window (20–80 %), axes (``dims``;
        one or two for 1D/2D conductors), equilibration frames to skip, weighting, preset,
        hop check, ...; a dict of its fields is accepted. The charge diffusivity and Haven
        ratio are computed by default here (``collective=True``).
    min_frames
        Runs with fewer sampled frames are not used.
    worker
        ``"cpu"``.
    """

    name: str = "diffusion analysis"
    settings: DiffusionSettings = field(default_factory=lambda: DiffusionSettings(collective=True))
    min_frames: int = 20
    worker: str = "cpu"

    def __post_init__(self) -> None:
        if isinstance(self.settings, dict):
            self.settings = DiffusionSettings(**{"collective": True, **self.settings})
        if self.min_frames < 2:
            raise IonflowInputError(f"min_frames must be >= 2, got {self.min_frames}")
        check_worker(self.worker)

    @ionflow_job(
        output_schema=DiffusionDoc,
        data=["curves"],
        name_suffix=_temperature_suffix,
        allow_fizzled_parents=True,
    )
    def make(self, md_outputs: Sequence[Any], temperature: float) -> DiffusionDoc:
        """D at one temperature from every completed run (failed runs are listed, not used).

        Parameters
        ----------
        md_outputs
            Outputs of the MD jobs at this temperature.
        temperature
            The temperature (K).

        Returns
        -------
        DiffusionDoc
            D with its error, hop check, Haven ratio; MSD curves in the data store.
        """
        runs, failed, meta = completed_runs(md_outputs, self.min_frames)
        base = {
            "temperature_K": float(temperature),
            "n_runs": len(runs),
            "n_segments": self.settings.n_segments,
            "failed_runs": failed,
            "n_mobile": meta["n_mobile"],
            "volume_A3": meta["volume_A3"],
            "dim": len(self.settings.dims),
            "fit_window": list(self.settings.fit_window),
        }
        if not runs:
            return DiffusionDoc(D_cm2_s=None, D_err_cm2_s=None, **base)
        res = diffusion_coefficient(
            None, meta["frame_fs"], runs=runs, temperature=temperature, settings=self.settings
        )
        base["n_segments"] = res.n_segments
        return DiffusionDoc(
            D_cm2_s=res.D_cm2_s,
            D_err_cm2_s=res.D_err_cm2_s,
            error_method=getattr(res, "error_method", None),
            enough_hops=res.enough_hops,
            hops_reason=getattr(res, "hops_reason", None),
            hop_count=None if res.hop_count is None else int(res.hop_count),
            D_sigma_cm2_s=res.D_sigma_cm2_s,
            haven_ratio=res.haven_ratio,
            result=res.as_dict(include_curves=False),
            curves=res.as_dict(include_curves=True),
            **base,
        )


@dataclass
class ArrheniusMaker(Maker):
    """Arrhenius fit and room-temperature conductivity.

    Parameters
    ----------
    name
        Job name.
    T_extrapolate
        Temperature of the reported D and σ (K).
    t_max, t_min
        Fit only temperatures in this range (lian2025 fit the low-T points).
    charge
        Charge of the mobile ion (default: from its element, e.g. Li 1, Mg 2).
    haven_ratio
        Haven ratio in σ = n q² D / (H_R k_B T) (1: tracer D as charge D).
    plot_dir
        Directory the MSD and Arrhenius PNGs are also written to (``None``: only the store
        keeps them, base64 in the data store; files are never left in the working directory
        unasked).
    worker
        ``"cpu"``.
    """

    name: str = "arrhenius"
    T_extrapolate: float = 300.0
    t_max: float | None = None
    t_min: float | None = None
    charge: float | None = None
    haven_ratio: float = 1.0
    plot_dir: str | None = None
    worker: str = "cpu"

    def __post_init__(self) -> None:
        if self.T_extrapolate <= 0:
            raise IonflowInputError(f"T_extrapolate must be positive, got {self.T_extrapolate}")
        if self.haven_ratio <= 0:
            raise IonflowInputError(f"haven_ratio must be positive, got {self.haven_ratio}")
        if self.plot_dir is not None:
            self.plot_dir = str(self.plot_dir)
        check_worker(self.worker)

    @ionflow_job(output_schema=ArrheniusDoc, data=["plots_png_b64"], allow_fizzled_parents=True)
    def make(
        self,
        diffusion_outputs: Sequence[Any],
        formula: str | None = None,
        mobile_species: str = "Li",
    ) -> ArrheniusDoc:
        """Arrhenius fit of D(T), D and σ (Nernst–Einstein) at ``T_extrapolate``, plots.

        Parameters
        ----------
        diffusion_outputs
            :class:`~ionflow.schemas.diffusion.DiffusionDoc` per temperature (``None`` for a
            temperature whose analysis produced nothing).
        formula
            Formula of the MD cell (names the plots).
        mobile_species
            The diffusing ion.

        Returns
        -------
        ArrheniusDoc
            Ea, D0, D and σ at ``T_extrapolate`` with intervals, warnings, plots.
        """
        docs = sorted(
            (d for d in diffusion_outputs if d is not None), key=lambda d: _get(d, "temperature_K")
        )
        summary, fit = conductivity_report(
            [_get(d, "temperature_K") for d in docs],
            [_get(d, "D_cm2_s") for d in docs],
            [_get(d, "D_err_cm2_s") for d in docs],
            n_mobile=next((_get(d, "n_mobile") for d in docs if _get(d, "n_mobile")), None),
            volume_A3=next((_get(d, "volume_A3") for d in docs if _get(d, "volume_A3")), None),
            species=mobile_species,
            charge=self.charge,
            haven_ratio=self.haven_ratio,
            T_extrapolate=self.T_extrapolate,
            t_min=self.t_min,
            t_max=self.t_max,
            enough_hops=[_get(d, "enough_hops") for d in docs],
            hops_reasons=[_get(d, "hops_reason") for d in docs],
        )
        out_dir = Path(self.plot_dir or tempfile.mkdtemp(prefix="ionflow-plots-")).expanduser()
        plots = self._plots(out_dir, docs, fit, formula, summary["warnings"])
        png = {k: base64.b64encode(p.read_bytes()).decode() for k, p in plots.items()}
        if self.plot_dir is None:
            shutil.rmtree(out_dir, ignore_errors=True)
        for w in summary["warnings"]:
            logger.warning(w)
        return ArrheniusDoc(
            formula=formula,
            mobile_species=mobile_species,
            enough_hops=[_get(d, "enough_hops") for d in docs],
            plot_paths={k: str(p) for k, p in plots.items()} if self.plot_dir else {},
            plots_png_b64=png,
            **summary,
        )

    def _plots(
        self, out_dir: Path, docs: list[Any], fit: Any, formula: str | None, warnings: list[str]
    ) -> dict[str, Path]:
        """Render the MSD and Arrhenius plots (a failed plot is a warning, never an error)."""
        stem = (formula or "conductivity").replace(" ", "")
        out_dir.mkdir(parents=True, exist_ok=True)
        plots: dict[str, Path] = {}
        curves = [_get(d, "curves") for d in docs if _get(d, "curves")]
        try:
            if curves:
                results = [DiffusionResult.from_dict(c) for c in curves]
                plots["msd"] = Path(plot_msd(results, out_dir / f"{stem}_msd.png"))
            if fit is not None:
                path = out_dir / f"{stem}_arrhenius.png"
                plots["arrhenius"] = Path(
                    plot_arrhenius(fit, path, T_extrapolate=self.T_extrapolate)
                )
        except Exception as exc:  # a plot must never lose the numbers
            warnings.append(f"plot failed: {exc}")
        return plots
