"""``ionflow diffusion``: D, Ea and σ from trajectories you already have.

The JSON document carries the conductivity document's keys (``temperatures_K``, ``D_cm2_s``,
``Ea_eV``, ``sigma_mS_cm`` and ``sigma_interval_mS_cm`` at ``T_extrapolate_K``, ``warnings``,
...), the analysis ``settings`` and one row per file under ``files``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ionflow.cli.common import (
    add_command,
    add_json_option,
    add_species_option,
    fmt,
    print_json,
    report_warnings,
)
from ionflow.cli.conductivity import print_fit
from ionflow.errors import IonflowInputError

if TYPE_CHECKING:
    import argparse
    from typing import TextIO

    from ionflow.core.diffusion import DiffusionSettings


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``ionflow diffusion``."""
    parser = add_command(
        subparsers,
        "diffusion",
        "D, Ea, sigma from trajectories you already have",
        run,
        description="The conductivity analysis on existing trajectories (ASE .traj, extxyz, "
        "VASP XDATCAR or vasprun.xml): D per file with its error, and with two or more "
        "temperatures the Arrhenius fit, D and σ at --T-extrapolate with intervals.",
    )
    parser.add_argument("files", nargs="+", help=".traj, extxyz, XDATCAR or vasprun.xml files")
    add_species_option(parser)
    parser.add_argument(
        "--temperature",
        type=float,
        nargs="+",
        default=None,
        help="K, one per file or one for all (default: read from the files)",
    )
    parser.add_argument(
        "--timestep-fs",
        type=float,
        default=None,
        help="time between stored frames, fs (default: read from the files)",
    )
    parser.add_argument(
        "--equilibration-frames",
        type=int,
        default=0,
        help="frames dropped at the start of every file (equilibration) before the analysis",
    )
    parser.add_argument(
        "--drift-correct",
        action="store_true",
        help="subtract the drift of the framework (all atoms not of --species) first",
    )
    parser.add_argument(
        "--preset",
        choices=["ionflow", "pymatgen_max"],
        default="ionflow",
        help="pymatgen_max: pymatgen DiffusionAnalyzer(smoothed='max')'s lags and 1/Δt "
        "weights (with --drift-correct and --segments 1: pymatgen's D)",
    )
    parser.add_argument(
        "--segments", type=int, default=1, help="non-overlapping MSD segments per file"
    )
    parser.add_argument(
        "--dims", type=int, nargs="+", default=[0, 1, 2], help="Cartesian axes (0 1 2: 3D)"
    )
    parser.add_argument(
        "--T-extrapolate", type=float, default=300.0, help="temperature of the reported D and σ, K"
    )
    add_json_option(parser)


def run(args: argparse.Namespace) -> int:
    """Analyse ``args.files``; exit status 0."""
    from ionflow.core.diffusion import DiffusionSettings, read_trajectory
    from ionflow.core.diffusion.report import conductivity_report

    temps = _temperatures(args)
    settings = DiffusionSettings(
        n_segments=args.segments,
        dims=tuple(args.dims),
        preset=args.preset,
        equilibration_frames=args.equilibration_frames,
    )
    rows, n_mobile, volume = [], None, None
    for path, t_given in zip(args.files, temps):
        data = read_trajectory(
            path, args.species, timestep_fs=args.timestep_fs, temperature=t_given
        )
        if data.temperature is None:
            raise IonflowInputError(
                f"{path}: no temperature in the file; give it with --temperature"
            )
        result = data.diffusion(drift_correct=args.drift_correct, settings=settings)
        rows.append(_row(path, data, result, settings))
        n_mobile, volume = data.n_mobile, data.volume_A3
    summary, _ = conductivity_report(
        [r["T"] for r in rows],
        [r["D_cm2_s"] for r in rows],
        [r["D_err_cm2_s"] for r in rows],
        n_mobile=n_mobile,
        volume_A3=volume,
        species=args.species,
        T_extrapolate=args.T_extrapolate,
        enough_hops=[r["enough_hops"] for r in rows],
        hops_reasons=[r["hops_reason"] for r in rows],
    )
    report_warnings(summary["warnings"])
    doc = {"species": args.species, "settings": settings, "files": rows, **summary}
    if args.json:
        print_json(doc, args.stdout)
    else:
        _print_report(doc, args.stdout)
    return 0


def _temperatures(args: argparse.Namespace) -> list[float | None]:
    """One temperature (or None: read it from the file) per file."""
    temps = args.temperature or []
    if len(temps) > 1 and len(temps) != len(args.files):
        raise IonflowInputError(
            f"--temperature takes one value per file ({len(args.files)}) or one for all, "
            f"got {len(temps)}"
        )
    if len(temps) <= 1:
        return [temps[0] if temps else None] * len(args.files)
    return list(temps)


def _row(path: str, data: Any, result: Any, settings: DiffusionSettings) -> dict[str, Any]:
    return {
        "file": str(path),
        "T": data.temperature,
        "D_cm2_s": result.D_cm2_s,
        "D_err_cm2_s": result.D_err_cm2_s,
        "n_frames": data.n_frames - settings.equilibration_frames,
        "equilibration_frames": settings.equilibration_frames,
        "frame_interval_fs": data.timestep_fs,
        "n_mobile": data.n_mobile,
        "drift_corrected": bool(result.drift_corrected),
        "preset": settings.preset,
        "enough_hops": result.enough_hops,
        "hops_reason": result.hops_reason,
    }


def _print_report(doc: dict[str, Any], out: TextIO) -> None:
    for r in doc["files"]:
        print(
            f"{r['file']}: T = {r['T']:.0f} K, D = {fmt(r['D_cm2_s'], '.3e')} ± "
            f"{fmt(r['D_err_cm2_s'], '.1e')} cm²/s ({r['n_frames']} frames x "
            f"{r['frame_interval_fs']:g} fs, {r['n_mobile']} ions)",
            file=out,
        )
    if len(doc["files"]) >= 2:
        print_fit(doc, out)
