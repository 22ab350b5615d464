"""The ``ionflow`` command line.

::

    ionflow hops STRUCTURE [--species Li] [--json]
    ionflow screen STRUCTURE [--species Li --model chgnet --supercell-min 10 --fmax 0.05] [--json]
    ionflow neb INITIAL FINAL [--model chgnet --n-images 7] [--json]
    ionflow results [--formula LiFePO4] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from typing import TYPE_CHECKING, Any

from ionflow import __version__
from ionflow.core.errors import IonflowError

if TYPE_CHECKING:
    from collections.abc import Sequence

logger = logging.getLogger("ionflow")


def _setup_logging(verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else (logging.WARNING if quiet else logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("jobflow").setLevel(logging.WARNING if not verbose else logging.INFO)
    for noisy in ("matplotlib", "numexpr", "h5py"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad")
    warnings.filterwarnings("ignore", category=UserWarning, module="pymatgen")


def _print_json(obj: Any) -> None:
    from monty.json import jsanitize

    print(json.dumps(jsanitize(obj, strict=False, allow_bson=False), indent=2))


def _configure_torch(threads: int | None) -> None:
    from ionflow.settings import get_settings

    n = threads if threads is not None else get_settings().TORCH_THREADS
    if n:
        import torch

        torch.set_num_threads(n)


# ---------------------------------------------------------------------------- hops
def cmd_hops(args: argparse.Namespace) -> int:
    from ionflow.core.hops import (
        enumerate_hops,
        find_mobile_sites,
        normalize_species,
        supercell_matrix,
        validate_structure,
    )
    from ionflow.core.io import read_structure

    structure = read_structure(args.structure)
    species = normalize_species(args.species)
    validate_structure(structure, species)
    sites = find_mobile_sites(structure, species, symprec=args.symprec)
    hops = enumerate_hops(structure, species, symprec=args.symprec, sites=sites)
    sc = supercell_matrix(structure, args.supercell_min).diagonal().tolist()
    if args.json:
        _print_json(
            {
                "formula": structure.composition.reduced_formula,
                "species": species,
                "supercell": sc,
                "sites": [s.as_dict() for s in sites],
                "hops": [
                    {
                        "hop_id": h.hop_id,
                        "initial": h.initial.label,
                        "initial_wyckoff": h.initial.wyckoff,
                        "final": h.final.label,
                        "final_wyckoff": h.final.wyckoff,
                        "length_A": h.length,
                        "min_ion_distance_A": h.min_ion_distance,
                        "close_approach": h.close_approach,
                    }
                    for h in hops
                ],
            }
        )
        return 0
    print(f"{structure.composition.reduced_formula}: {len(sites)} distinct {species} site(s)")
    print(f"{'site':<8}{'Wyckoff':>8}{'mult.':>7}   frac. coords")
    for s in sites:
        coords = " ".join(f"{x:7.4f}" for x in s.frac_coords)
        print(f"{s.label:<8}{s.wyckoff:>8}{s.multiplicity:>7}   {coords}")
    print(f"\n{len(hops)} hop(s) (supercell {'x'.join(map(str, sc))} for NEB)")
    print(f"{'IS -> FS':<26}{'length/Å':>9}{'closest ion/Å':>15}")
    for h in hops:
        flag = "  <- passes within 0.5 Å of an ion" if h.close_approach else ""
        name = f"{h.initial.label} ({h.initial.wyckoff}) -> {h.final.label} ({h.final.wyckoff})"
        print(f"{name:<26}{h.length:>9.3f}{h.min_ion_distance:>15.3f}{flag}")
    return 0


# ---------------------------------------------------------------------------- screen
def _neb_settings(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"fmax": args.fmax, "max_steps": args.max_steps}
    if getattr(args, "optimizer", None):
        out["optimizer"] = args.optimizer
    return out


def cmd_screen(args: argparse.Namespace) -> int:
    from jobflow import run_locally

    from ionflow.core.hops import normalize_species, validate_structure
    from ionflow.core.io import read_structure
    from ionflow.flows import ScreenHopsFlow
    from ionflow.jobs import HopEnumerationMaker, MLIPNebMaker
    from ionflow.store import get_store, output_as_dict

    structure = read_structure(args.structure)
    species = normalize_species(args.species)
    validate_structure(structure, species)
    _configure_torch(args.threads)
    flow = ScreenHopsFlow(
        enumeration_maker=HopEnumerationMaker(
            species=species, supercell_min_length=args.supercell_min, symprec=args.symprec
        ),
        neb_maker=MLIPNebMaker(
            model=args.model,
            n_images=args.n_images,
            neb_settings=_neb_settings(args),
            checkpoint_dir=args.checkpoint_dir,
        ),
    ).make(structure)
    store = get_store()
    logger.info("Screening %s hops with %s", structure.composition.reduced_formula, args.model)
    run_locally(flow, store=store, log=False, ensure_success=False)
    store.connect()
    doc = output_as_dict(store, flow.output.uuid)
    if doc is None or not isinstance(doc, dict) or "hops" not in doc:
        raise IonflowError("The screen produced no summary; see the log above for the failure")
    if args.json:
        doc.pop("structure", None)
        _print_json(doc)
    else:
        _print_screen(doc)
    return 0 if doc["n_failed"] == 0 else 1


def _print_screen(doc: dict[str, Any]) -> None:
    from ionflow.core.neb.summary import format_barrier_table

    print(f"\n{doc['reduced_formula']} ({doc['formula']}), {doc['species']} hops, {doc['model']}")
    print(format_barrier_table(doc["hops"]))
    low = doc.get("lowest_barrier_eV")
    print(
        "lowest barrier: "
        + (f"{low:.3f} eV ({doc['lowest_barrier_hop']})" if low is not None else "none")
    )
    perc = doc.get("percolation_barriers_eV") or {}
    print(
        "percolation barriers: "
        + ", ".join(
            f"{k} {v:.3f} eV" if v is not None else f"{k} none" for k, v in sorted(perc.items())
        )
    )
    print(f"{doc['n_converged']}/{doc['n_hops']} hops converged")


# ---------------------------------------------------------------------------- neb
def cmd_neb(args: argparse.Namespace) -> int:
    from jobflow import run_locally

    from ionflow.core.io import read_structure
    from ionflow.core.neb.engine import detect_moving_index
    from ionflow.jobs import MLIPNebMaker
    from ionflow.store import get_store, output_as_dict

    initial = read_structure(args.initial)
    final = read_structure(args.final)
    if len(initial) != len(final):
        raise IonflowError(
            f"{args.initial} has {len(initial)} atoms but {args.final} has {len(final)}: "
            "the endpoints must be the same vacancy supercell"
        )
    if [s.specie for s in initial] != [s.specie for s in final]:
        raise IonflowError("The endpoints must list the same species in the same order")
    moving = args.moving_index
    if moving is None:
        moving = detect_moving_index(initial, final)
    _configure_torch(args.threads)
    maker = MLIPNebMaker(
        model=args.model,
        n_images=args.n_images,
        interpolation=args.interpolation,
        neb_settings=_neb_settings(args),
        checkpoint_dir=args.checkpoint_dir,
    )
    job = maker.make(initial, final, moving_index=moving, hop={"hop_id": args.label})
    store = get_store()
    run_locally(job, store=store, log=False, ensure_success=False)
    store.connect()
    doc = output_as_dict(store, job.uuid, load=False)
    if doc is None:
        raise IonflowError("The NEB job produced no output; see the log above")
    row = {
        k: doc.get(k)
        for k in (
            "barrier_forward_eV",
            "barrier_reverse_eV",
            "converged",
            "failure_reason",
            "ts_index",
            "n_images",
            "relative_energies_eV",
            "n_steps",
            "force_calls",
            "max_force_eV_A",
            "wall_time_s",
        )
    }
    row["moving_index"] = moving
    if args.json:
        _print_json({"model": doc["model"], "hops": [row]})
    else:
        fwd, rev = row["barrier_forward_eV"], row["barrier_reverse_eV"]
        print(f"model {doc['model']}, moving ion index {moving}")
        print(
            "relative energies (eV): " + " ".join(f"{e:.3f}" for e in row["relative_energies_eV"])
        )
        if fwd is not None:
            print(f"barrier forward {fwd:.3f} eV, reverse {rev:.3f} eV")
        print(
            f"converged: {row['converged']}  force calls: {row['force_calls']}  "
            f"wall time: {row['wall_time_s']:.1f} s"
        )
        if row["failure_reason"]:
            print(f"failure: {row['failure_reason']}")
    return 0 if row["converged"] else 1


# ---------------------------------------------------------------------------- results
def cmd_results(args: argparse.Namespace) -> int:
    from ionflow.store import get_store

    store = get_store()
    store.connect()
    query: dict[str, Any] = {"output.n_hops": {"$exists": True}}
    if args.formula:
        from pymatgen.core import Composition

        try:
            reduced = Composition(args.formula).reduced_formula
        except Exception as exc:
            raise IonflowError(f"Cannot read formula {args.formula!r}: {exc}") from exc
        query["output.reduced_formula"] = reduced
    docs = list(
        store.query(
            query,
            properties=["uuid", "completed_at", "output"],
            sort={"completed_at": -1},
            limit=args.limit,
        )
    )
    screens = []
    for d in docs:
        out = d["output"]
        out.pop("structure", None)
        out["uuid"] = d["uuid"]
        out["completed_at"] = d.get("completed_at")
        screens.append(out)
    if args.json:
        _print_json({"n_results": len(screens), "results": screens})
        return 0
    if not screens:
        what = f" for {args.formula}" if args.formula else ""
        print(f"No hop screens in the store{what}.")
        return 0
    for out in screens:
        print(f"[{out['completed_at']}] uuid {out['uuid']}")
        _print_screen(out)
        print()
    return 0


# ---------------------------------------------------------------------------- conductivity
def _print_arrhenius(doc: dict[str, Any]) -> None:
    print(f"\n{doc.get('formula')}: {doc.get('mobile_species')} diffusion")
    print(f"{'T/K':>7}{'D/cm2 s-1':>12}{'± err':>11}  {'fit':<4}{'hops ok':<8}")
    hops = doc.get("enough_hops") or [None] * len(doc["temperatures_K"])
    for T, D, E, f, h in zip(
        doc["temperatures_K"], doc["D_cm2_s"], doc["D_err_cm2_s"], doc["fitted"], hops
    ):
        d = f"{D:.3e}" if D is not None else "-"
        e = f"{E:.1e}" if E is not None else "-"
        print(f"{T:>7.0f}{d:>12}{e:>11}  {'yes' if f else 'no':<4}{h!s:<8}")
    if doc.get("Ea_eV") is not None:
        T = doc["T_extrapolate_K"]
        lo, hi = doc["sigma_interval_mS_cm"]
        print(f"Ea = {doc['Ea_eV']:.3f} ± {doc['Ea_err_eV']:.3f} eV")
        print(
            f"sigma({T:.0f} K) = {doc['sigma_mS_cm']:.3g} mS/cm "
            f"({100 * doc.get('confidence', 0.95):.0f} % interval {lo:.3g} – {hi:.3g})"
        )
    for w in doc.get("warnings", []):
        print(f"warning: {w}")
    for k, v in (doc.get("plot_paths") or {}).items():
        print(f"{k} plot: {v}")


def cmd_conductivity(args: argparse.Namespace) -> int:
    from jobflow import run_locally

    from ionflow.core.io import read_structure
    from ionflow.flows import ConductivityFlow
    from ionflow.jobs import ArrheniusMaker, DiffusionAnalysisMaker, MLIPMDMaker
    from ionflow.store import get_store, output_as_dict

    structure = read_structure(args.structure)
    _configure_torch(args.threads)
    md_settings = {
        "production_ps": args.time_ps,
        "equilibration_ps": args.equilibration_ps,
        "heating_ps": args.heating_ps,
        "timestep_fs": args.timestep_fs,
        "sample_interval_fs": args.sample_interval_fs,
        "thermostat": args.thermostat,
        "npt_equilibration_ps": args.npt_ps,
    }
    flow = ConductivityFlow(
        temperatures=tuple(args.temperatures),
        n_runs=args.runs,
        supercell=tuple(args.supercell) if args.supercell else None,
        supercell_min_length=args.supercell_min,
        mobile_species=args.species,
        md_maker=MLIPMDMaker(model=args.model, md_settings=md_settings),
        diffusion_maker=DiffusionAnalysisMaker(n_segments=args.segments),
        arrhenius_maker=ArrheniusMaker(
            T_extrapolate=args.T_extrapolate, t_max=args.fit_t_max, plot_dir=args.plot_dir
        ),
    ).make(structure)
    store = get_store()
    run_locally(flow, store=store, log=False, ensure_success=False)
    store.connect()
    doc = output_as_dict(store, flow.output.uuid, load=False)
    if doc is None:
        raise IonflowError("The conductivity flow produced no result; see the log above")
    if args.json:
        _print_json(doc)
    else:
        _print_arrhenius(doc)
    return 0 if doc.get("Ea_eV") is not None else 1


# ---------------------------------------------------------------------------- diffusion
def cmd_diffusion(args: argparse.Namespace) -> int:
    from ionflow.core.diffusion import diffusion_coefficient, read_trajectory
    from ionflow.core.diffusion.report import summarize_arrhenius

    temps = args.temperature or []
    if temps and len(temps) not in (1, len(args.files)):
        raise IonflowError(
            f"--temperature takes one value per file ({len(args.files)}) or one for all, "
            f"got {len(temps)}"
        )
    rows = []
    n_mobile = volume = None
    for k, path in enumerate(args.files):
        t_given = temps[k] if len(temps) > 1 else (temps[0] if temps else None)
        data = read_trajectory(
            path, args.species, timestep_fs=args.timestep_fs, temperature=t_given
        )
        if data.temperature is None:
            raise IonflowError(f"{path}: no temperature in the file; give it with --temperature")
        res = diffusion_coefficient(
            data.positions,
            data.timestep_fs,
            n_segments=args.segments,
            temperature=data.temperature,
            dims=tuple(args.dims),
        )
        n_mobile, volume = data.positions.shape[1], data.volume_A3
        rows.append(
            {
                "file": str(path),
                "T": data.temperature,
                "D_cm2_s": res.D_cm2_s,
                "D_err_cm2_s": res.D_err_cm2_s,
                "n_frames": int(data.positions.shape[0]),
                "frame_interval_fs": data.timestep_fs,
                "n_mobile": int(n_mobile),
                "enough_hops": res.enough_hops,
                "hops_reason": res.hops_reason,
            }
        )
    out: dict[str, Any] = {"species": args.species, "files": rows}
    summary = None
    if len(rows) >= 2:
        summary, _ = summarize_arrhenius(
            [r["T"] for r in rows],
            [r["D_cm2_s"] for r in rows],
            [r["D_err_cm2_s"] for r in rows],
            n_mobile=n_mobile,
            volume_A3=volume,
            charge=_charge(args.species),
            T_extrapolate=args.T_extrapolate,
        )
        out.update(
            {
                "Ea_eV": summary["Ea_eV"],
                "Ea_err_eV": summary["Ea_err_eV"],
                "D0_cm2_s": summary["D0_cm2_s"],
                "sigma_300K_mS_cm": summary.get("sigma_mS_cm"),
                "sigma_300K_interval_mS_cm": summary.get("sigma_interval_mS_cm"),
                "T_extrapolate_K": args.T_extrapolate,
                "warnings": summary["warnings"],
            }
        )
    if args.json:
        _print_json(out)
        return 0
    for r in rows:
        d, e = r["D_cm2_s"], r["D_err_cm2_s"]
        print(
            f"{r['file']}: T = {r['T']:.0f} K, D = {d:.3e} ± {e:.1e} cm²/s "
            f"({r['n_frames']} frames x {r['frame_interval_fs']} fs, {r['n_mobile']} ions)"
            + ("" if r["enough_hops"] else f"  [few hops: {r['hops_reason']}]")
        )
    if summary is not None and summary["Ea_eV"] is not None:
        lo, hi = summary["sigma_interval_mS_cm"]
        print(f"Ea = {summary['Ea_eV']:.3f} ± {summary['Ea_err_eV']:.3f} eV")
        print(
            f"sigma({args.T_extrapolate:.0f} K) = {summary['sigma_mS_cm']:.3g} mS/cm "
            f"(95 % interval {lo:.3g} – {hi:.3g})"
        )
    return 0


def _charge(species: str) -> float:
    from ionflow.core.diffusion import ion_charge

    return ion_charge(species)


# ---------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ionflow", description="Find fast ion conductors with MLIP workflows."
    )
    parser.add_argument("--version", action="version", version=f"ionflow {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    sub = parser.add_subparsers(dest="command", required=True)

    def common_structure(p: argparse.ArgumentParser) -> None:
        p.add_argument("structure", help="structure file (CIF, POSCAR, extxyz, ...)")
        p.add_argument("--species", default="Li", help="mobile species (default Li)")
        p.add_argument(
            "--symprec", type=float, default=0.1, help="symmetry tolerance, Å (MP uses 0.1)"
        )
        p.add_argument("--supercell-min", type=float, default=10.0, help="min supercell length, Å")
        p.add_argument("--json", action="store_true", help="print one JSON object")

    def common_neb(p: argparse.ArgumentParser) -> None:
        from ionflow.settings import get_settings

        st = get_settings()
        p.add_argument("--model", default=st.DEFAULT_MODEL, help="model spec (default chgnet)")
        p.add_argument("--n-images", type=int, default=7, help="images incl. endpoints")
        p.add_argument("--fmax", type=float, default=st.NEB_FMAX, help="NEB fmax, eV/Å")
        p.add_argument("--max-steps", type=int, default=500, help="NEB step limit")
        p.add_argument("--optimizer", choices=["fire", "ode", "bfgs", "lbfgs", "mdmin"])
        p.add_argument("--threads", type=int, default=None, help="torch threads")
        p.add_argument(
            "--checkpoint-dir",
            default=None,
            help="save each band there every 10 steps; a rerun continues unfinished bands",
        )

    p = sub.add_parser("hops", help="list distinct sites and hops (no calculation)")
    common_structure(p)
    p.set_defaults(func=cmd_hops)

    p = sub.add_parser("screen", help="MLIP-NEB barrier of every inequivalent hop")
    common_structure(p)
    common_neb(p)
    p.set_defaults(func=cmd_screen)

    p = sub.add_parser("neb", help="barrier between two endpoint structures")
    p.add_argument("initial")
    p.add_argument("final")
    p.add_argument("--moving-index", type=int, default=None, help="default: largest shift")
    p.add_argument("--interpolation", choices=["idpp", "linear"], default="idpp")
    p.add_argument("--label", default=None, help="name stored with the result")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    common_neb(p)
    p.set_defaults(func=cmd_neb)

    p = sub.add_parser("results", help="query hop screens in the store")
    p.add_argument("--formula", default=None, help="e.g. LiFePO4")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_results)

    p = sub.add_parser("conductivity", help="MLIP-MD at several T -> Ea, sigma(300 K)")
    p.add_argument("structure")
    p.add_argument("--species", default="Li")
    p.add_argument("--model", default="chgnet")
    p.add_argument("--temperatures", type=float, nargs="+", default=[600.0, 800.0, 1000.0])
    p.add_argument("--runs", type=int, default=3, help="independent runs per temperature")
    p.add_argument("--time-ps", type=float, default=20.0, help="production time per run, ps")
    p.add_argument("--equilibration-ps", type=float, default=2.0)
    p.add_argument("--heating-ps", type=float, default=2.0, help="ramp from 100 K, ps")
    p.add_argument("--npt-ps", type=float, default=0.0, help="NpT equilibration first, ps")
    p.add_argument("--timestep-fs", type=float, default=1.0)
    p.add_argument("--sample-interval-fs", type=float, default=10.0)
    p.add_argument(
        "--thermostat",
        default="nose-hoover-chain",
        choices=["nose-hoover-chain", "langevin", "berendsen"],
    )
    p.add_argument("--segments", type=int, default=1, help="non-overlapping segments per run")
    p.add_argument("--supercell", type=int, nargs=3, default=None, help="e.g. 2 2 2")
    p.add_argument("--supercell-min", type=float, default=10.0, help="min supercell length, Å")
    p.add_argument("--fit-t-max", type=float, default=None, help="fit only T <= this")
    p.add_argument("--T-extrapolate", type=float, default=300.0)
    p.add_argument("--plot-dir", default=".", help="where the PNG plots go")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_conductivity)

    p = sub.add_parser("diffusion", help="D, Ea, sigma from trajectories you already have")
    p.add_argument("files", nargs="+", help=".traj, extxyz, XDATCAR or vasprun.xml")
    p.add_argument("--species", default="Li")
    p.add_argument("--temperature", type=float, nargs="+", default=None, help="K, per file")
    p.add_argument("--timestep-fs", type=float, default=None, help="time between frames, fs")
    p.add_argument("--segments", type=int, default=1)
    p.add_argument("--dims", type=int, nargs="+", default=[0, 1, 2], help="axes (0 1 2: 3D)")
    p.add_argument("--T-extrapolate", type=float, default=300.0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_diffusion)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose, args.quiet or getattr(args, "json", False))
    try:
        return int(args.func(args) or 0)
    except (IonflowError, FileNotFoundError) as exc:
        print(f"ionflow {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished jobs are in the store", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
