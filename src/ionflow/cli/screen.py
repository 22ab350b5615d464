"""``ionflow screen``: the MLIP-NEB barrier of every inequivalent hop, run on the store."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ionflow.cli.common import (
    add_command,
    add_json_option,
    add_neb_options,
    add_structure_options,
    check_model,
    configure_torch,
    neb_settings,
    print_json,
    run_on_store,
)
from ionflow.cli.conductivity import add_ordering_options
from ionflow.errors import IonflowError

if TYPE_CHECKING:
    import argparse
    from typing import TextIO

logger = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``ionflow screen``."""
    parser = add_command(
        subparsers,
        "screen",
        "MLIP-NEB barrier of every inequivalent hop",
        run,
        description="The hop screen flow, run locally on the store: sites and hops, vacancy "
        "endpoints, climbing-image NEB per hop, barrier table and percolation barriers. Exit "
        "status 1 when a hop failed (every hop's result is printed first).",
    )
    add_structure_options(parser)
    parser.add_argument(
        "--max-hops",
        type=int,
        default=None,
        help="refuse (exit 2, before any NEB) a screen with more hops than this "
        "(default: no cap, 50 on an ordering of a disordered input; above 50 hops a warning "
        "states the cost)",
    )
    parser.add_argument(
        "--max-hop-length",
        type=float,
        default=None,
        help="leave out hops longer than this, Å (default: keep all N² hops)",
    )
    parser.add_argument(
        "--per-hop",
        action="store_true",
        help="one NEB with its own two endpoint relaxations per hop (the procedure before "
        "shared work); default: each distinct vacancy relaxed once, one NEB per distinct path",
    )
    add_neb_options(parser)
    add_ordering_options(parser, n_orderings=False)
    add_json_option(parser)


def run(args: argparse.Namespace) -> int:
    """Screen the hops of ``args.structure``; exit status 1 when a hop failed."""
    check_model(args.model)

    from ionflow.core.hops import enumerate_hops, normalize_species, validate_structure
    from ionflow.core.io import read_structure
    from ionflow.core.ordering import check_cif_occupancies
    from ionflow.flows import ScreenHopsFlow
    from ionflow.jobs import HopEnumerationMaker, MLIPNebMaker
    from ionflow.store import output_as_dict

    check_cif_occupancies(args.structure)  # pymatgen's reader silently drops the excess
    structure = read_structure(args.structure)
    species = normalize_species(args.species)
    if not structure.is_ordered:
        validate_structure(structure, species, allow_disordered=True)
        structure = lowest_ordering(structure, args)
        from ionflow.flows.ordering import DEFAULT_MAX_HOPS, check_hop_count

        if args.max_hops is None:
            args.max_hops = DEFAULT_MAX_HOPS
        check_hop_count(structure, species, args.max_hops, args.symprec)
    validate_structure(structure, species)
    enumeration = HopEnumerationMaker(
        species=species,
        supercell_min_length=args.supercell_min,
        supercell_rule=args.supercell_rule,
        symprec=args.symprec,
        max_hops=args.max_hops,
        max_hop_length=args.max_hop_length,
    )
    # the hop count is known in a second: refuse an over-large screen before any model loads
    enumeration.select_hops(enumerate_hops(structure, species, symprec=args.symprec))
    configure_torch(args.threads)
    flow = ScreenHopsFlow(
        enumeration_maker=enumeration,
        neb_maker=MLIPNebMaker(
            model=args.model,
            n_images=args.n_images,
            neb_settings=neb_settings(args),
            checkpoint_dir=args.checkpoint_dir,
        ),
        share_work=not args.per_hop,
    ).make(structure)
    logger.info("Screening %s hops with %s", structure.composition.reduced_formula, args.model)
    store = run_on_store(flow)
    doc = output_as_dict(store, flow.output.uuid)
    if not isinstance(doc, dict) or "hops" not in doc:
        raise IonflowError("the screen produced no summary; see the log above for the failure")
    doc.pop("structure", None)
    if args.json:
        print_json(doc, args.stdout)
    else:
        print_screen(doc, args.stdout)
    return 0 if doc["n_failed"] == 0 else 1


def lowest_ordering(structure: Any, args: argparse.Namespace) -> Any:
    """Order a disordered structure on the store (exit 2 on bad input first); the lowest."""
    from ionflow.cli.conductivity import ordering_maker
    from ionflow.flows.ordering import ordering_rows
    from ionflow.store import output_as_dict

    maker = ordering_maker(args, structure)
    configure_torch(args.threads)
    job = maker.make(structure)
    store = run_on_store(job)
    doc = output_as_dict(store, job.output.uuid)
    if doc is None:
        raise IonflowError("the ordering job produced no result; see the log above")
    lowest = ordering_rows(doc)[0]
    logger.info(
        "screening the lowest ordering of %s: %s, %d atoms, %s",
        structure.composition.reduced_formula,
        lowest["structure"].composition.reduced_formula,
        len(lowest["structure"]),
        lowest.get("space_group"),
    )
    return lowest["structure"]


def print_screen(doc: dict[str, Any], out: TextIO) -> None:
    """The barrier table of one screen summary, its lowest and percolation barriers."""
    from ionflow.core.neb.summary import format_barrier_table

    print(
        f"\n{doc['reduced_formula']} ({doc['formula']}), {doc['species']} hops, {doc['model']}",
        file=out,
    )
    print(format_barrier_table(doc["hops"]), file=out)
    low = doc.get("lowest_barrier_eV")
    lowest = f"{low:.3f} eV ({doc['lowest_barrier_hop']})" if low is not None else "none"
    print(f"lowest barrier: {lowest}", file=out)
    perc = doc.get("percolation_barriers_eV") or {}
    parts = [f"{k} {v:.3f} eV" if v is not None else f"{k} none" for k, v in sorted(perc.items())]
    print("percolation barriers: " + ", ".join(parts), file=out)
    print(f"{doc['n_converged']}/{doc['n_hops']} hops converged", file=out)
    for warning in doc.get("warnings") or []:
        print(f"warning: {warning}", file=out)
