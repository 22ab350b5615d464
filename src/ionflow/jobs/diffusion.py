"""Diffusion analysis per temperature and the Arrhenius fit."""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobflow import Maker, job

from ionflow.core.diffusion import diffusion_coefficient, ion_charge, plot_arrhenius, plot_msd
from ionflow.core.diffusion.analysis import DiffusionResult
from ionflow.core.diffusion.report import summarize_arrhenius
from ionflow.jobs.base import route
from ionflow.schemas.arrays import unpack
from ionflow.schemas.md import ArrheniusDoc, DiffusionDoc

if TYPE_CHECKING:
    from collections.abc import Sequence

    from jobflow import Job

logger = logging.getLogger(__name__)


def _get(doc: Any, key: str, default: Any = None) -> Any:
    if doc is None:
        return default
    if isinstance(doc, dict):
        return doc.get(key, default)
    return getattr(doc, key, default)


@job(output_schema=DiffusionDoc, data=["curves"])
def analyse_diffusion(
    md_outputs: Sequence[Any],
    temperature: float,
    n_segments: int = 1,
    fit_window: tuple[float, float] = (0.2, 0.8),
    dims: tuple[int, ...] = (0, 1, 2),
    collective: bool = True,
    min_frames: int = 20,
) -> DiffusionDoc:
    """D at one temperature from every completed run (failed runs are listed, not used)."""
    runs, failed = [], []
    frame_fs = None
    n_mobile = volume = None
    for k, doc in enumerate(md_outputs):
        if doc is None:
            failed.append(f"run {k}: job produced no output")
            continue
        traj = _get(doc, "trajectory")
        if not _get(doc, "completed"):
            failed.append(f"run {k} (seed {_get(doc, 'seed')}): {_get(doc, 'failure_reason')}")
            continue
        pos = unpack(_get(traj, "positions_mobile"))
        if pos is None or len(pos) < min_frames:
            failed.append(f"run {k}: only {0 if pos is None else len(pos)} frames")
            continue
        runs.append(pos)
        frame_fs = float(_get(doc, "frame_interval_fs"))
        n_mobile, volume = _get(doc, "n_mobile"), _get(doc, "volume_A3")
    base = {
        "temperature_K": float(temperature),
        "n_runs": len(runs),
        "n_segments": n_segments,
        "failed_runs": failed,
        "n_mobile": n_mobile,
        "volume_A3": volume,
        "dim": len(dims),
        "fit_window": list(fit_window),
    }
    if not runs:
        return DiffusionDoc(D_cm2_s=None, D_err_cm2_s=None, **base)
    res = diffusion_coefficient(
        None,
        frame_fs,
        runs=runs,
        n_segments=n_segments,
        fit_window=tuple(fit_window),
        dims=tuple(dims),
        temperature=temperature,
        collective=collective,
    )
    d = res.as_dict(include_curves=False)
    return DiffusionDoc(
        D_cm2_s=res.D_cm2_s,
        D_err_cm2_s=res.D_err_cm2_s,
        error_method=getattr(res, "error_method", None),
        enough_hops=res.enough_hops,
        hops_reason=getattr(res, "hops_reason", None),
        hop_count=None if res.hop_count is None else int(res.hop_count),
        D_sigma_cm2_s=res.D_sigma_cm2_s,
        haven_ratio=res.haven_ratio,
        result=d,
        curves=res.as_dict(include_curves=True),
        **{**base, "n_segments": res.n_segments},
    )


@dataclass
class DiffusionAnalysisMaker(Maker):
    """MSD -> D at one temperature, over runs and non-overlapping segments.

    Parameters
    ----------
    name
        Job name.
    n_segments
        Non-overlapping segments per run (lian2025: 3 x 200 ps -> 12 x 50 ps is 4 per run).
    fit_window
        Fitted fraction of the lag range (20–80 %).
    dims
        Cartesian axes for D (``(0, 1, 2)``: 3D; one or two axes for 1D/2D conductors).
    collective
        Also compute the charge diffusivity and the Haven ratio.
    worker
        ``"cpu"``.
    """

    name: str = "diffusion analysis"
    n_segments: int = 1
    fit_window: tuple[float, float] = (0.2, 0.8)
    dims: tuple[int, ...] = (0, 1, 2)
    collective: bool = True
    worker: str = "cpu"

    def make(self, md_outputs: Sequence[Any], temperature: float) -> Job:
        j = analyse_diffusion(
            md_outputs,
            temperature,
            n_segments=self.n_segments,
            fit_window=tuple(self.fit_window),
            dims=tuple(self.dims),
            collective=self.collective,
        )
        j.name = f"{self.name} {temperature:.0f}K"
        return route(j, self.worker, _allow_fizzled_parents=True)


def _png_b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


@job(output_schema=ArrheniusDoc, data=["plots_png_b64"])
def fit_conductivity(
    diffusion_outputs: Sequence[Any],
    formula: str | None = None,
    mobile_species: str = "Li",
    charge: float | None = None,
    haven_ratio: float = 1.0,
    T_extrapolate: float = 300.0,
    t_max: float | None = None,
    t_min: float | None = None,
    plot_dir: str | None = None,
) -> ArrheniusDoc:
    """Arrhenius fit of D(T), D and σ (Nernst–Einstein) at ``T_extrapolate``, plots."""
    docs = [d for d in diffusion_outputs if d is not None]
    docs.sort(key=lambda d: _get(d, "temperature_K"))
    n_mobile = next((_get(d, "n_mobile") for d in docs if _get(d, "n_mobile")), None)
    volume = next((_get(d, "volume_A3") for d in docs if _get(d, "volume_A3")), None)
    q = ion_charge(mobile_species) if charge is None else charge
    summary, fit = summarize_arrhenius(
        [_get(d, "temperature_K") for d in docs],
        [_get(d, "D_cm2_s") for d in docs],
        [_get(d, "D_err_cm2_s") for d in docs],
        n_mobile=n_mobile or 0,
        volume_A3=volume or float("nan"),
        charge=q,
        haven_ratio=haven_ratio,
        T_extrapolate=T_extrapolate,
        t_max=t_max,
        t_min=t_min,
    )
    for d in docs:
        if _get(d, "enough_hops") is False:
            summary["warnings"].append(
                f"{_get(d, 'temperature_K'):.0f} K: too few hops to trust D "
                f"({_get(d, 'hops_reason')})"
            )
    plots: dict[str, str] = {}
    out_dir = Path(plot_dir or Path.cwd()).expanduser()
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = (formula or "conductivity").replace(" ", "")
    curves = [_get(d, "curves") for d in docs if _get(d, "curves")]
    if curves:
        try:
            results = [DiffusionResult.from_dict(c) for c in curves]
            plots["msd"] = str(plot_msd(results, out_dir / f"{stem}_msd.png"))
        except Exception as exc:  # a plot must never lose the numbers
            summary["warnings"].append(f"MSD plot failed: {exc}")
    if fit is not None:
        try:
            plots["arrhenius"] = str(
                plot_arrhenius(fit, out_dir / f"{stem}_arrhenius.png", T_extrapolate=T_extrapolate)
            )
        except Exception as exc:
            summary["warnings"].append(f"Arrhenius plot failed: {exc}")
    for w in summary["warnings"]:
        logger.warning(w)
    return ArrheniusDoc(
        formula=formula,
        mobile_species=mobile_species,
        enough_hops=[_get(d, "enough_hops") for d in docs],
        plot_paths=plots,
        plots_png_b64={k: _png_b64(Path(v)) for k, v in plots.items()},
        **summary,
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
        Where the MSD and Arrhenius PNGs are written (default: the job directory); they
        are also stored, base64, in the data store.
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

    def make(
        self, diffusion_outputs: Sequence[Any], formula: str | None = None, mobile_species="Li"
    ) -> Job:
        j = fit_conductivity(
            diffusion_outputs,
            formula=formula,
            mobile_species=mobile_species,
            charge=self.charge,
            haven_ratio=self.haven_ratio,
            T_extrapolate=self.T_extrapolate,
            t_max=self.t_max,
            t_min=self.t_min,
            plot_dir=self.plot_dir,
        )
        j.name = self.name
        return route(j, self.worker, _allow_fizzled_parents=True)
