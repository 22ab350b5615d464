"""``ionflow results [screens|hops|conductivity|models|funnel]``: stored results as tables.

Without a kind it is the original ``ionflow results [--formula F] [--json]`` (the newest hop
screens with their barrier tables, :mod:`ionflow.cli.results`). With one, it prints the
:mod:`ionflow.query` DataFrame of that kind as a table, ``--csv`` or ``--json``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ionflow.cli.common import add_command, add_json_option, print_json
from ionflow.errors import IonflowInputError

if TYPE_CHECKING:
    import argparse

    import pandas as pd

KINDS = ("screens", "hops", "conductivity", "models", "funnel")

#: Columns of the text table of each kind (``--csv`` and ``--json`` carry every column).
TABLE_COLUMNS = {
    "screens": ["reduced_formula", "species", "model", "n_hops", "n_failed",
                "lowest_barrier_eV", "percolation_1D_eV", "percolation_2D_eV",
                "percolation_3D_eV", "completed_at"],
    "hops": ["reduced_formula", "model", "hop_id", "length_A", "barrier_forward_eV",
             "barrier_reverse_eV", "converged"],
    "conductivity": ["formula", "mobile_species", "model", "Ea_eV", "Ea_err_eV", "sigma_mS_cm",
                     "sigma_low_mS_cm", "sigma_high_mS_cm", "T_extrapolate_K"],
    "models": ["model_spec", "base_model", "epochs_run", "n_train", "labellers",
               "test_energy_eV_atom", "test_forces_eV_A", "completed_at"],
    "funnel": ["reduced_formula", "species", "model", "percolation_3D_eV", "lowest_barrier_eV",
               "Ea_eV", "sigma_mS_cm"],
}  # fmt: skip


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``ionflow results``."""
    parser = add_command(
        subparsers,
        "results",
        "query the store: hop screens, hops, conductivity, models",
        run,
        description="Without KIND: the newest hop screens with their barrier tables. With "
        "KIND: one row per screen, hop, conductivity result or fine-tuned model (funnel: "
        "screens whose --dimension-D percolation barrier is at most --max-barrier, default "
        "3D and 0.5 eV, with their conductivity).",
    )
    parser.add_argument(
        "kind",
        nargs="?",
        choices=KINDS,
        default=None,
        help="what to list (default: the newest screens' tables)",
    )
    parser.add_argument("--formula", default=None, help="only this compound, e.g. LiFePO4")
    parser.add_argument("--elements", nargs="+", default=None, help="only compounds with all")
    parser.add_argument("--model", default=None, help="only results of this model")
    parser.add_argument(
        "--max-barrier",
        type=float,
        default=None,
        help="barrier threshold, eV (default: none; funnel: 0.5)",
    )
    parser.add_argument(
        "--dimension", type=int, choices=(1, 2, 3), default=None, help="percolation dimension"
    )
    parser.add_argument("--max-ea", type=float, default=None, help="conductivity: Ea <= this, eV")
    parser.add_argument(
        "--min-sigma", type=float, default=None, help="conductivity: sigma >= this, mS/cm"
    )
    parser.add_argument(
        "--failed", action="store_true", help="hops: only hops that did not converge"
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="rows shown at most (default: 20 screens "
        "without KIND, all rows with one)",
    )  # fmt: skip
    add_json_option(parser)
    parser.add_argument("--csv", action="store_true", help="print CSV (every column)")


def _frame(args: argparse.Namespace) -> pd.DataFrame:
    from ionflow import query

    common: dict[str, Any] = {"elements": args.elements, "model": args.model}
    if args.kind == "screens":
        return query.screens(
            formula=args.formula,
            max_barrier=args.max_barrier,
            dimension=args.dimension,
            **common,
        )
    if args.kind == "hops":
        converged = False if args.failed else None
        return query.hops(
            formula=args.formula, max_barrier=args.max_barrier, converged=converged, **common
        )
    if args.kind == "conductivity":
        return query.conductivity(
            formula=args.formula, max_Ea=args.max_ea, min_sigma=args.min_sigma, **common
        )
    if args.kind == "models":
        return query.models(base_model=args.model)
    max_barrier = 0.5 if args.max_barrier is None else args.max_barrier
    dimension = args.dimension or 3
    return query.funnel(
        max_barrier=max_barrier, dimension=dimension, formula=args.formula, **common
    )


def run(args: argparse.Namespace) -> int:
    """Print stored results; exit status 0 (also when there are none)."""
    if args.kind is None:
        if args.csv:
            raise IonflowInputError("--csv needs a KIND: " + ", ".join(KINDS))
        from ionflow.cli import results

        args.limit = 20 if args.limit is None else args.limit
        return results.run(args)
    if args.json and args.csv:
        raise IonflowInputError("choose one of --json and --csv")
    frame = _frame(args)
    if args.limit is not None:
        frame = frame.head(args.limit)
    if args.csv:
        frame.to_csv(args.stdout, index=False)
    elif args.json:
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
        print_json({"kind": args.kind, "n_results": len(records), "results": records}, args.stdout)
    elif frame.empty:
        print(f"No {args.kind} in the store match.", file=args.stdout)
    else:
        columns = TABLE_COLUMNS[args.kind]
        if args.kind == "funnel":
            dim = args.dimension or 3
            columns = [c.replace("3D", f"{dim}D") for c in columns]
        columns = [c for c in columns if c in frame.columns]  # metrics exist once a model has some
        print(frame[columns].to_string(index=False, float_format="{:.3f}".format), file=args.stdout)
        print(f"{len(frame)} {args.kind}", file=args.stdout)
    return 0
