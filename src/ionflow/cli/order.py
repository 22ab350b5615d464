"""``ionflow order``: ordered models of a partially occupied structure, ranked by energy."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from ionflow.cli.common import (
    add_command,
    add_json_option,
    add_model_options,
    add_ordering_knobs,
    check_model,
    configure_torch,
    fmt,
    oxidation_states,
    print_json,
    run_on_store,
)
from ionflow.errors import IonflowError, IonflowInputError

if TYPE_CHECKING:
    import argparse
    from typing import TextIO

logger = logging.getLogger(__name__)

#: ``--model`` values that rank by Ewald energy alone (no model is loaded).
NO_MODEL = ("none", "ewald")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``ionflow order``."""
    parser = add_command(
        subparsers,
        "order",
        "ordered models of a partially occupied structure, ranked by MLIP energy",
        run,
        description="The smallest supercell (within --max-atoms) that makes every occupancy "
        "integral, every symmetry-distinct ordering (enumlib when enum.x is on PATH, else shry, "
        "else pymatgen's Ewald-ranked orderings), Ewald pre-ranking, MLIP relaxation of the "
        "--top-k lowest, ranking by MLIP energy and Boltzmann weights (per formula unit) at "
        "--temperature. Occupancies above 1, charges that cannot balance, no integral supercell "
        "and more orderings than --max-orderings exit with status 2 before any model call. "
        "--model none ranks by Ewald energy alone.",
    )
    parser.add_argument(
        "structure", help="partially occupied structure (CIF with occupancies, pymatgen JSON)"
    )
    add_ordering_knobs(
        parser,
        top_k=10,
        temperature_flag="--temperature",
        temperature_help="Boltzmann temperature, K (deng2025)",
    )
    parser.add_argument(
        "--supercell",
        type=int,
        nargs=3,
        default=None,
        metavar="N",
        help="use this diagonal supercell, e.g. 1 1 2 (default: the smallest integral one)",
    )
    parser.add_argument(
        "--primitive",
        action="store_true",
        help="search supercells of the primitive cell (default: of the cell as given)",
    )
    parser.add_argument(
        "--enumerator",
        choices=["auto", "enumlib", "shry", "bruteforce", "pymatgen"],
        default="auto",
        help="auto: enumlib if enum.x is on PATH, else shry, else pymatgen",
    )
    parser.add_argument(
        "--fmax", type=float, default=0.05, help="relaxation force convergence, eV/Å"
    )
    parser.add_argument("--max-steps", type=int, default=200, help="relaxation step limit")
    parser.add_argument("--symprec", type=float, default=0.1, help="symmetry tolerance, Å")
    add_model_options(parser)
    add_json_option(parser)


def run(args: argparse.Namespace) -> int:
    """Rank the orderings of ``args.structure``; exit 2 on bad input before any model call."""
    from ionflow.core.io import read_structure
    from ionflow.core.ordering import check_cif_occupancies, plan_ordering

    model = None if str(args.model).lower() in NO_MODEL else args.model
    if model is not None:
        check_model(model)
    if args.top_k < 1 or args.max_orderings < 1 or args.max_atoms < 1:
        raise IonflowInputError("--top-k, --max-orderings and --max-atoms must be >= 1")
    if args.temperature < 0:
        raise IonflowInputError(f"--temperature must be >= 0 K, got {args.temperature}")
    oxidation = oxidation_states(args.oxidation_states)
    check_cif_occupancies(args.structure)
    structure = read_structure(args.structure)
    t0 = time.perf_counter()
    plan = plan_ordering(
        structure,
        max_orderings=args.max_orderings,
        max_atoms=args.max_atoms,
        supercell=args.supercell,
        enumerator=args.enumerator,
        oxidation_states=oxidation,
        symprec=args.symprec,
        primitive=args.primitive,
    )
    logger.info(
        "%s: supercell %s (%d atoms)%s; checked in %.1f s",
        structure.composition.reduced_formula,
        [list(r) for r in plan.supercell.matrix],
        plan.supercell.n_atoms,
        f", {plan.n_distinct} distinct orderings" if plan.n_distinct is not None else "",
        time.perf_counter() - t0,
    )
    configure_torch(args.threads)
    doc = _run_job(args, structure, model, oxidation)
    if args.json:
        print_json(_json(doc), args.stdout)
    else:
        _print_table(doc, args.stdout)
    return 0


def _run_job(args: argparse.Namespace, structure: Any, model: Any, oxidation: Any) -> dict:
    from ionflow.jobs import OrderingMaker
    from ionflow.store import output_as_dict

    maker = OrderingMaker(
        max_orderings=args.max_orderings,
        top_k=args.top_k,
        temperature=args.temperature,
        relax_cell=args.relax_cell,
        model=model,
        max_atoms=args.max_atoms,
        supercell=args.supercell,
        enumerator=args.enumerator,
        oxidation_states=oxidation,
        fmax=args.fmax,
        max_steps=args.max_steps,
        symprec=args.symprec,
        primitive=args.primitive,
        worker="cpu" if model is None else "gpu",
    )
    job = maker.make(structure)
    store = run_on_store(job)
    doc = output_as_dict(store, job.uuid, load=True)
    if doc is None:
        raise IonflowError("the ordering job produced no output; see the log above")
    return doc


def _json(doc: dict) -> dict:
    out = {k: v for k, v in doc.items() if k != "orderings"}
    out["orderings"] = [
        {k: (v.as_dict() if hasattr(v, "as_dict") else v) for k, v in o.items()}
        for o in doc["orderings"]
    ]
    return out


def _print_table(doc: dict, out: TextIO) -> None:
    source = doc["energy_source"]
    print(
        f"{doc['formula']}: supercell {doc['supercell_matrix']} ({doc['n_atoms']} atoms), "
        f"enumerator {doc['enumerator']}: {doc['n_enumerated']} orderings enumerated"
        + (f" ({doc['n_distinct']} symmetry-distinct)" if doc.get("n_distinct") else "")
        + f", {len(doc['orderings'])} ranked by {source}"
        + (f" ({doc['model']})" if doc.get("model") else ""),
        file=out,
    )
    print(
        f"{'rank':>4}  {'E rel (meV/atom)':>16}  {'E (eV/atom)':>12}  {'space group':<12}  "
        f"{'weight @ ' + format(doc['temperature_K'], 'g') + ' K':>14}  {'Ewald rank':>10}",
        file=out,
    )
    for o in doc["orderings"]:
        sg = f"{o['space_group']} ({o['space_group_number']})"
        print(
            f"{o['rank']:>4}  {fmt(o['relative_energy_meV_atom'], '.2f'):>16}  "
            f"{fmt(o['energy_per_atom_eV'], '.4f'):>12}  {sg:<12}  "
            f"{fmt(o['weight'], '.3f'):>14}  {o['ewald_rank']:>10}",
            file=out,
        )
    timings = doc.get("timings_s") or {}
    print(
        "time: " + ", ".join(f"{k} {fmt(v, '.1f')} s" for k, v in timings.items()),
        file=out,
    )
    for message in doc.get("warnings") or []:
        print(f"warning: {message}", file=out)
