"""``ionflow results``: the hop screens stored so far, newest first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ionflow.cli.common import add_command, add_json_option, print_json
from ionflow.cli.screen import print_screen
from ionflow.errors import IonflowInputError

if TYPE_CHECKING:
    import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``ionflow results``."""
    parser = add_command(subparsers, "results", "query hop screens in the store", run)
    parser.add_argument(
        "--formula", default=None, help="only this compound, e.g. LiFePO4 (default: all)"
    )
    parser.add_argument("--limit", type=int, default=20, help="newest screens shown at most")
    add_json_option(parser)


def run(args: argparse.Namespace) -> int:
    """Print the stored screens; exit status 0 (also when there are none)."""
    from ionflow.store import get_store

    query: dict[str, Any] = {"output.n_hops": {"$exists": True}}
    if args.formula:
        query["output.reduced_formula"] = _reduced_formula(args.formula)
    store = get_store()
    store.connect()
    docs = store.query(
        query,
        properties=["uuid", "completed_at", "output"],
        sort={"completed_at": -1},
        limit=args.limit,
    )
    screens = []
    for d in docs:
        out = d["output"]
        out.pop("structure", None)
        out["uuid"] = d["uuid"]
        out["completed_at"] = d.get("completed_at")
        screens.append(out)
    if args.json:
        print_json({"n_results": len(screens), "results": screens}, args.stdout)
        return 0
    if not screens:
        what = f" for {args.formula}" if args.formula else ""
        print(f"No hop screens in the store{what}.", file=args.stdout)
    for out in screens:
        print(f"[{out['completed_at']}] uuid {out['uuid']}", file=args.stdout)
        print_screen(out, args.stdout)
        print(file=args.stdout)
    return 0


def _reduced_formula(formula: str) -> str:
    from pymatgen.core import Composition

    try:
        return Composition(formula).reduced_formula
    except Exception as exc:
        raise IonflowInputError(f"cannot read formula {formula!r}: {exc}") from exc
