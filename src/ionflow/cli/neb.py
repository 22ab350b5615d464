"""``ionflow neb``: one barrier between two endpoint files."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ionflow.cli.common import (
    add_command,
    add_json_option,
    add_neb_options,
    check_model,
    configure_torch,
    fmt,
    neb_settings,
    print_json,
    run_on_store,
)
from ionflow.errors import IonflowError

if TYPE_CHECKING:
    import argparse
    from typing import TextIO

logger = logging.getLogger(__name__)

#: The NebDoc fields reported per hop.
ROW_KEYS = (
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


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``ionflow neb``."""
    parser = add_command(
        subparsers,
        "neb",
        "barrier between two endpoint structures",
        run,
        description="Climbing-image NEB between two endpoint files of the same vacancy "
        "supercell. The final state's atoms may be listed in another order (they are matched "
        "to the initial state's by minimum-image distance, and refused with the atoms named "
        "when that is ambiguous) and may be wrapped; the moving ion is found by itself. "
        "Identical endpoints are refused. Exit status 1 when the band did not converge.",
    )
    parser.add_argument("initial", help="initial state (CIF, POSCAR, extxyz, ...)")
    parser.add_argument(
        "final", help="final state: the same atoms, in any order when the matching is unambiguous"
    )
    parser.add_argument(
        "--moving-index",
        type=int,
        default=None,
        help="index of the moving ion (default: the atom that moves furthest)",
    )
    parser.add_argument(
        "--interpolation", choices=["idpp", "linear"], default="idpp", help="initial band"
    )
    parser.add_argument("--label", default=None, help="name stored with the result (default: none)")
    add_neb_options(parser)
    add_json_option(parser)


def run(args: argparse.Namespace) -> int:
    """NEB between ``args.initial`` and ``args.final``; exit status 1 when not converged."""
    check_model(args.model)

    from ionflow.core.io import read_structure
    from ionflow.core.neb import match_endpoints
    from ionflow.jobs import MLIPNebMaker
    from ionflow.store import output_as_dict

    initial = read_structure(args.initial)
    final = read_structure(args.final)
    # milliseconds, before any model: reorder a permuted final, refuse ambiguous or identical
    final, detected, match = match_endpoints(initial, final)
    if match.reordered:
        logger.warning("%s: %s", args.final, match.describe())
    moving = args.moving_index if args.moving_index is not None else detected
    configure_torch(args.threads)
    maker = MLIPNebMaker(
        model=args.model,
        n_images=args.n_images,
        interpolation=args.interpolation,
        neb_settings=neb_settings(args),
        checkpoint_dir=args.checkpoint_dir,
    )
    job = maker.make(initial, final, moving_index=moving, hop={"hop_id": args.label})
    store = run_on_store(job)
    doc = output_as_dict(store, job.uuid, load=False)
    if doc is None:
        raise IonflowError("the NEB job produced no output; see the log above")
    row = {k: doc.get(k) for k in ROW_KEYS}
    row["moving_index"] = moving
    if args.json:
        print_json({"model": doc["model"], "hops": [row]}, args.stdout)
    else:
        _print_row(row, doc["model"], args.stdout)
    return 0 if row["converged"] else 1


def _print_row(row: dict[str, Any], model: Any, out: TextIO) -> None:
    print(f"model {model}, moving ion index {row['moving_index']}", file=out)
    energies = " ".join(f"{e:.3f}" for e in row["relative_energies_eV"] or [])
    print(f"relative energies (eV): {energies}", file=out)
    if row["barrier_forward_eV"] is not None:
        print(
            f"barrier forward {fmt(row['barrier_forward_eV'])} eV, "
            f"reverse {fmt(row['barrier_reverse_eV'])} eV",
            file=out,
        )
    print(
        f"converged: {row['converged']}  steps: {row['n_steps']}  force calls: "
        f"{row['force_calls']}  max force: {fmt(row['max_force_eV_A'])} eV/Å  "
        f"wall time: {fmt(row['wall_time_s'], '.1f')} s",
        file=out,
    )
    if row["failure_reason"]:
        print(f"failure: {row['failure_reason']}", file=out)
