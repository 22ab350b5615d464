"""``ionflow conductivity``: MLIP-MD at several temperatures -> D(T), Ea, σ with intervals."""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ionflow.cli.common import (
    add_command,
    add_json_option,
    add_model_options,
    add_ordering_knobs,
    add_species_option,
    check_model,
    configure_torch,
    fmt,
    oxidation_states,
    print_json,
    report_warnings,
    run_on_store,
)
from ionflow.errors import IonflowError

if TYPE_CHECKING:
    import argparse
    from typing import TextIO

logger = logging.getLogger(__name__)

#: Thermostats of ``MDSettings.thermostat`` (kept here so that ``--help`` stays fast).
THERMOSTATS = ("nose-hoover-chain", "langevin", "berendsen", "nve")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``ionflow conductivity``."""
    parser = add_command(
        subparsers,
        "conductivity",
        "MLIP-MD at several T -> Ea, sigma(300 K)",
        run,
        description="The conductivity flow, run locally on the store: MLIP-MD at each "
        "temperature x runs, D(T) with errors, the Arrhenius fit, D and σ at --T-extrapolate "
        "with intervals, MSD and Arrhenius plots. Exit status 1 when no Arrhenius fit was "
        "possible.",
    )
    parser.add_argument("structure", help="structure file (CIF, POSCAR, extxyz, ...)")
    add_species_option(parser)
    add_model_options(parser)
    _add_md_options(parser)
    _add_analysis_options(parser)
    add_ordering_options(parser)
    add_json_option(parser)


def add_ordering_options(parser: argparse.ArgumentParser, n_orderings: bool = True) -> None:
    """Options of a partially occupied input (ordered first, see ``ionflow order``)."""
    group = parser.add_argument_group(
        "disordered input", "a structure with partial occupancies is ordered first"
    )
    if n_orderings:
        group.add_argument(
            "--orderings",
            type=int,
            default=1,
            help="run on this many orderings: the lowest, then drawn by Boltzmann weight; "
            "results per ordering and weight-averaged",
        )
        group.add_argument("--ordering-seed", type=int, default=0, help="seed of the draw")
    add_ordering_knobs(
        group,
        top_k=5,
        temperature_flag="--ordering-temperature",
        temperature_help="temperature of the Boltzmann weights of the orderings, K",
    )


def ordering_maker(args: argparse.Namespace, structure: Any) -> Any:
    """Check a disordered structure (exit 2 on bad input) and return its OrderingMaker."""
    from ionflow.flows.ordering import check_orderable
    from ionflow.jobs.ordering import OrderingMaker

    oxidation = oxidation_states(args.oxidation_states)
    plan = check_orderable(
        structure,
        max_orderings=args.max_orderings,
        max_atoms=args.max_atoms,
        oxidation_states=oxidation,
    )
    logger.info(
        "%s is disordered: ordering first (%s; the best %d relaxed with %s)",
        structure.composition.reduced_formula,
        plan,
        args.top_k,
        args.model,
    )
    return OrderingMaker(
        max_orderings=args.max_orderings,
        top_k=args.top_k,
        temperature=args.ordering_temperature,
        model=args.model,
        max_atoms=args.max_atoms,
        oxidation_states=oxidation,
        relax_cell=args.relax_cell,
    )


def _add_md_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--temperatures",
        type=float,
        nargs="+",
        default=[600.0, 800.0, 1000.0],
        help="MD temperatures, K",
    )
    parser.add_argument("--runs", type=int, default=3, help="independent runs per temperature")
    parser.add_argument("--time-ps", type=float, default=20.0, help="production time per run, ps")
    parser.add_argument(
        "--equilibration-ps", type=float, default=2.0, help="NVT equilibration per run, ps"
    )
    parser.add_argument("--heating-ps", type=float, default=2.0, help="heating ramp from 100 K, ps")
    parser.add_argument(
        "--npt-ps", type=float, default=0.0, help="NpT equilibration first (0: none), ps"
    )
    parser.add_argument("--timestep-fs", type=float, default=1.0, help="MD time step, fs")
    parser.add_argument(
        "--sample-interval-fs", type=float, default=10.0, help="time between stored frames, fs"
    )
    parser.add_argument(
        "--thermostat", default="nose-hoover-chain", choices=THERMOSTATS, help="NVT thermostat"
    )
    parser.add_argument(
        "--supercell",
        type=int,
        nargs=3,
        default=None,
        help="explicit repeats, e.g. 2 2 2 (default: from --supercell-min)",
    )
    parser.add_argument(
        "--supercell-min", type=float, default=10.0, help="smallest MD cell length, Å"
    )


def _add_analysis_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--segments", type=int, default=1, help="non-overlapping MSD segments per run"
    )
    parser.add_argument(
        "--fit-t-max",
        type=float,
        default=None,
        help="fit only temperatures <= this, K (default: all)",
    )
    parser.add_argument(
        "--T-extrapolate", type=float, default=300.0, help="temperature of the reported D and σ, K"
    )
    parser.add_argument(
        "--plot-dir",
        default=None,
        help="where the PNG plots go (default: a new directory "
        "<store parent>/runs/<formula>-<YYYYmmdd-HHMMSS>, e.g. ~/.ionflow/runs/...)",
    )


def run(args: argparse.Namespace) -> int:
    """Run the conductivity flow; exit status 1 when there is no Arrhenius fit."""
    check_model(args.model)

    from ionflow.core.io import read_structure
    from ionflow.core.ordering import check_cif_occupancies
    from ionflow.flows import ConductivityFlow
    from ionflow.jobs import ArrheniusMaker, DiffusionAnalysisMaker, MLIPMDMaker
    from ionflow.store import output_as_dict

    check_cif_occupancies(args.structure)  # pymatgen's reader silently drops the excess
    structure = read_structure(args.structure)
    orderer = None
    if not structure.is_ordered:
        from ionflow.core.hops import validate_structure

        validate_structure(structure, args.species, allow_disordered=True)
        orderer = ordering_maker(args, structure)
    configure_torch(args.threads)
    plot_dir = Path(args.plot_dir).expanduser() if args.plot_dir else _default_plot_dir(structure)
    flow = ConductivityFlow(
        temperatures=tuple(args.temperatures),
        n_runs=args.runs,
        supercell=tuple(args.supercell) if args.supercell else None,
        supercell_min_length=args.supercell_min,
        mobile_species=args.species,
        md_maker=MLIPMDMaker(model=args.model, md_settings=_md_settings(args)),
        diffusion_maker=DiffusionAnalysisMaker(settings={"n_segments": args.segments}),
        arrhenius_maker=ArrheniusMaker(
            T_extrapolate=args.T_extrapolate, t_max=args.fit_t_max, plot_dir=str(plot_dir)
        ),
        n_orderings=args.orderings,
        ordering_maker=orderer,
        ordering_seed=args.ordering_seed,
    ).make(structure)
    logger.info("MSD and Arrhenius plots will go to %s", plot_dir)
    store = run_on_store(flow)
    doc = output_as_dict(store, flow.output.uuid, load=False)
    if not args.plot_dir:
        with contextlib.suppress(OSError):
            plot_dir.rmdir()  # only when empty: no plots, no run directory left behind
    if doc is None:
        raise IonflowError("the conductivity flow produced no result; see the log above")
    report_warnings(doc.get("warnings") or [])
    if doc.get("plot_paths"):
        logger.info("plots written to %s", plot_dir)
    if args.json:
        print_json(doc, args.stdout)
    elif "orderings" in doc:
        print_orderings_conductivity(doc, args.stdout)
    else:
        print_arrhenius(doc, args.stdout)
    return 0 if doc.get("Ea_eV") is not None else 1


def _md_settings(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "production_ps": args.time_ps,
        "equilibration_ps": args.equilibration_ps,
        "heating_ps": args.heating_ps,
        "timestep_fs": args.timestep_fs,
        "sample_interval_fs": args.sample_interval_fs,
        "thermostat": args.thermostat,
        "npt_equilibration_ps": args.npt_ps,
    }


def _default_plot_dir(structure: Any) -> Path:
    from ionflow.settings import get_settings

    runs = get_settings().store_dir.parent / "runs"
    return new_run_dir(runs, structure.composition.reduced_formula)


def new_run_dir(parent: str | Path, formula: str) -> Path:
    """Create and return a new directory ``parent/<formula>-<YYYYmmdd-HHMMSS>[-N]``.

    Parameters
    ----------
    parent
        Where the run directories live (created if needed).
    formula
        Reduced formula of the structure.

    Returns
    -------
    Path
        A directory that did not exist before this call.
    """
    base = Path(parent).expanduser() / f"{formula}-{time.strftime('%Y%m%d-%H%M%S')}"
    base.parent.mkdir(parents=True, exist_ok=True)
    path, n = base, 1
    while True:
        try:
            path.mkdir()
            return path
        except FileExistsError:
            n += 1
            path = base.with_name(f"{base.name}-{n}")


def print_arrhenius(doc: dict[str, Any], out: TextIO) -> None:
    """D per temperature, Ea and σ at the extrapolation temperature, plot paths."""
    print(f"\n{doc.get('formula')}: {doc.get('mobile_species')} diffusion", file=out)
    print(f"{'T/K':>7}{'D/cm2 s-1':>12}{'± err':>11}  {'fit':<4}{'hops ok':<8}", file=out)
    hops = doc.get("enough_hops") or [None] * len(doc["temperatures_K"])
    rows = zip(doc["temperatures_K"], doc["D_cm2_s"], doc["D_err_cm2_s"], doc["fitted"], hops)
    for T, D, err, fitted, ok in rows:
        print(
            f"{T:>7.0f}{fmt(D, '.3e'):>12}{fmt(err, '.1e'):>11}  "
            f"{'yes' if fitted else 'no':<4}{'-' if ok is None else ok!s:<8}",
            file=out,
        )
    print_fit(doc, out)
    for name, path in (doc.get("plot_paths") or {}).items():
        print(f"{name} plot: {path}", file=out)


def print_fit(doc: dict[str, Any], out: TextIO) -> None:
    """``Ea = ... eV`` and ``sigma(T K) = ... mS/cm (95 % interval ...)`` when there is a fit."""
    if doc.get("Ea_eV") is None:
        print("no Arrhenius fit", file=out)
        return
    print(f"Ea = {fmt(doc['Ea_eV'])} ± {fmt(doc.get('Ea_err_eV'))} eV", file=out)
    if doc.get("sigma_mS_cm") is None:
        return
    lo, hi = doc.get("sigma_interval_mS_cm") or (None, None)
    print(
        f"sigma({doc['T_extrapolate_K']:.0f} K) = {fmt(doc['sigma_mS_cm'], '.3g')} mS/cm "
        f"({100 * doc.get('confidence', 0.95):.0f} % interval "
        f"{fmt(lo, '.3g')} – {fmt(hi, '.3g')})",
        file=out,
    )


def print_orderings_conductivity(doc: dict[str, Any], out: TextIO) -> None:
    """Each ordering's Arrhenius result, then the weight average with its spread."""
    for row in doc["orderings"]:
        print(
            f"\nordering {row['index']} ({row.get('space_group') or '?'}, weight "
            f"{row['weight']:.3f}, E {fmt(row.get('energy_per_atom_eV'), '.4f')} eV/atom)",
            file=out,
        )
        if row.get("arrhenius"):
            print_arrhenius(row["arrhenius"], out)
        else:
            print(f"failed: {row.get('failure')}", file=out)
    print(
        f"\n{doc['formula']} (disordered), {doc['n_orderings']} ordering(s), weight average:",
        file=out,
    )
    print(f"{'T/K':>7}{'D/cm2 s-1':>12}{'± spread':>11}", file=out)
    for T, D, s in zip(doc["temperatures_K"], doc["D_cm2_s"], doc["D_spread_cm2_s"]):
        print(f"{T:>7.0f}{fmt(D, '.3e'):>12}{fmt(s, '.1e'):>11}", file=out)
    print(f"Ea = {fmt(doc.get('Ea_eV'))} ± {fmt(doc.get('Ea_spread_eV'))} eV (spread)", file=out)
    if doc.get("sigma_mS_cm") is not None:
        lo, hi = doc.get("sigma_range_mS_cm") or (None, None)
        print(
            f"sigma({fmt(doc.get('T_extrapolate_K'), '.0f')} K) = {fmt(doc['sigma_mS_cm'], '.3g')}"
            f" mS/cm (orderings {fmt(lo, '.3g')} – {fmt(hi, '.3g')})",
            file=out,
        )
