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
    warnings.filterwarnings("ignore", message=".*tensor.detach.*")
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
