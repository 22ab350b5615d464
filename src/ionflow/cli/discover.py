"""``ionflow discover``: lian2025's loop on one structure (screen, label, fine-tune, rescreen)."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

from ionflow.cli.common import (
    add_command,
    add_json_option,
    add_neb_options,
    add_structure_options,
    check_model,
    configure_torch,
    fmt,
    neb_settings,
    print_json,
    run_on_store,
)
from ionflow.cli.label import add_labeller_options, labeller_maker, load_model, run_in_folders
from ionflow.errors import IonflowError

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator
    from typing import TextIO

logger = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``ionflow discover``."""
    parser = add_command(
        subparsers,
        "discover",
        "screen, label the band images, fine-tune, screen again (lian2025)",
        run,
        description="The discovery flow on one structure: hop screen with the pretrained "
        "--model, every band image labelled by --labeller (VASP statics or a teacher model), "
        "a fine-tuned model (lian2025's settings), the same hops screened again with it, and "
        "optionally MD conductivity with it (--md-temperatures). Prints both screens' "
        "barriers side by side and the fine-tuned model's spec, which --model of every "
        "other command accepts. Exit status 1 when a hop of either screen failed.",
    )
    add_structure_options(parser)
    parser.add_argument(
        "--max-hops",
        type=int,
        default=None,
        help="refuse (exit 2, before any NEB) a structure with more hops than this",
    )
    add_neb_options(parser)
    add_labeller_options(parser, workdir="ionflow-discover")
    train = parser.add_argument_group("fine-tuning")
    train.add_argument("--epochs", type=int, default=50, help="most epochs")
    train.add_argument(
        "--patience", type=int, default=20, help="early stop after N epochs without improvement"
    )
    train.add_argument("--train-batch-size", type=int, default=8, help="configurations per batch")
    train.add_argument("--lr", type=float, default=1e-3, help="learning rate")
    train.add_argument("--targets", default="efs", choices=("efs", "ef"), help="fitted labels")
    train.add_argument("--seed", type=int, default=0, help="split and torch seed")
    train.add_argument(
        "--strains",
        type=float,
        nargs="*",
        default=[],
        help="also label the NEB endpoints strained by these fractions, e.g. -0.03 0.03 "
        "(deng2025; default: none)",
    )
    train.add_argument(
        "--model-dir", default=None, help="parent directory of the checkpoint (~/.ionflow/models)"
    )
    md = parser.add_argument_group("conductivity with the fine-tuned model")
    md.add_argument(
        "--md-temperatures",
        type=float,
        nargs="*",
        default=[],
        help="MD temperatures, K (default: no MD)",
    )
    md.add_argument("--md-runs", type=int, default=3, help="independent runs per temperature")
    md.add_argument("--md-time-ps", type=float, default=20.0, help="production time per run, ps")
    add_json_option(parser)


def _flow_maker(args: argparse.Namespace, structure: Any) -> Any:
    """The DiscoveryFlow of the options; every knob is checked here (exit 2)."""
    from ionflow.core.hops import enumerate_hops, normalize_species, validate_structure
    from ionflow.flows import ConductivityFlow, DiscoveryFlow, ScreenHopsFlow
    from ionflow.jobs import FineTuneMaker, HopEnumerationMaker, MLIPNebMaker, TrainingConfigsMaker

    species = normalize_species(args.species)
    validate_structure(structure, species)
    enumeration = HopEnumerationMaker(
        species=species,
        supercell_min_length=args.supercell_min,
        supercell_rule=args.supercell_rule,
        symprec=args.symprec,
        max_hops=args.max_hops,
    )
    enumeration.select_hops(enumerate_hops(structure, species, symprec=args.symprec))
    conductivity = None
    if args.md_temperatures:
        from ionflow.jobs.md import MLIPMDMaker

        conductivity = ConductivityFlow(
            temperatures=tuple(args.md_temperatures),
            n_runs=args.md_runs,
            mobile_species=species,
            md_maker=MLIPMDMaker(model=args.model, md_settings={"production_ps": args.md_time_ps}),
        )
    return DiscoveryFlow(
        screen_maker=ScreenHopsFlow(
            enumeration_maker=enumeration,
            neb_maker=MLIPNebMaker(
                model=args.model,
                n_images=args.n_images,
                neb_settings=neb_settings(args),
                checkpoint_dir=args.checkpoint_dir,
            ),
        ),
        configs_maker=TrainingConfigsMaker(strains=tuple(args.strains)),
        labeller=labeller_maker(args),
        finetune_maker=FineTuneMaker(
            settings={
                "base_model": args.model,
                "targets": args.targets,
                "epochs": args.epochs,
                "patience": args.patience,
                "batch_size": args.train_batch_size,
                "learning_rate": args.lr,
                "seed": args.seed,
            },
            seed=args.seed,
            model_dir=args.model_dir,
        ),
        conductivity_maker=conductivity,
    )


def run(args: argparse.Namespace) -> int:
    """Run the discovery flow on ``args.structure``; exit status 1 when a hop failed."""
    from ionflow.core.io import read_structure
    from ionflow.store import output_as_dict

    check_model(args.model)
    structure = read_structure(args.structure)
    maker = _flow_maker(args, structure)
    flow = maker.make(structure)  # refuses a fine-tune of another model than the screen's
    configure_torch(args.threads)
    load_model(args.model, "model")  # a corrupt checkpoint: exit 2 now, not a failed screen
    logger.info(
        "Discovery on %s: screen with %s, labels from %s",
        structure.composition.reduced_formula,
        args.model,
        args.labeller,
    )
    vasp = args.labeller.split(":")[0].lower() == "vasp"
    with _job_failures() as failures:
        store = run_in_folders(flow, args.workdir) if vasp else run_on_store(flow)
    try:
        doc = output_as_dict(store, flow.output.uuid)
    except ValueError:  # jobflow: "UUID ... has no outputs"
        doc = None
    if not isinstance(doc, dict) or "hops" not in doc:
        reasons = "; ".join(failures) or "see the log above"
        raise IonflowError(
            f"the discovery flow stopped before its summary: {reasons} (what finished is "
            "kept in the store: 'ionflow results')"
        )
    doc["uuid"] = flow.output.uuid
    if args.json:
        print_json(doc, args.stdout)
    else:
        print_discovery(doc, args.stdout)
    failed = [
        r for r in doc["hops"] if not (r["pretrained_converged"] and r["finetuned_converged"])
    ]
    return 1 if failed else 0


@contextlib.contextmanager
def _job_failures() -> Iterator[list[str]]:
    """Collect ``"<job>: <error>"`` for every job that raised (jobflow logs them at INFO)."""
    failures: list[str] = []

    class _Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if " failed with exception:" in message:
                name, _, trace = message.partition(" failed with exception:")
                lines = [line for line in trace.strip().splitlines() if line.strip()]
                failures.append(f"{name}: {lines[-1] if lines else 'unknown error'}")

    jobflow_logger = logging.getLogger("jobflow")
    handler = _Handler(logging.INFO)
    level = jobflow_logger.level
    jobflow_logger.addHandler(handler)
    if not jobflow_logger.isEnabledFor(logging.INFO):
        jobflow_logger.setLevel(logging.INFO)
    try:
        yield failures
    finally:
        jobflow_logger.removeHandler(handler)
        jobflow_logger.setLevel(level)


def print_discovery(doc: dict[str, Any], out: TextIO) -> None:
    """Both screens' barriers side by side, the fine-tuned model and its metrics."""
    print(
        f"\n{doc['reduced_formula']} ({doc['formula']}), {doc['species']} hops: "
        f"{doc['pretrained_model']} -> fine-tuned on {doc['n_labels']} labels "
        f"({doc['labeller']}; {doc['n_labels_failed']} failed)",
        file=out,
    )
    print(f"{'hop':<28}{'pretrained eV':>14}{'fine-tuned eV':>14}{'change eV':>11}", file=out)
    for row in doc["hops"]:
        print(
            f"{row['hop_id']:<28}{fmt(row['pretrained_forward_eV']):>14}"
            f"{fmt(row['finetuned_forward_eV']):>14}{fmt(row['change_forward_eV'], '+.3f'):>11}",
            file=out,
        )
    before, after = doc["percolation_pretrained_eV"], doc["percolation_finetuned_eV"]
    for dim in ("1D", "2D", "3D"):
        print(f"percolation {dim}: {fmt(before.get(dim))} -> {fmt(after.get(dim))} eV", file=out)
    test = (doc.get("metrics") or {}).get("test") or {}
    energy, forces = test.get("energy_eV_atom"), test.get("forces_eV_A")
    print(
        f"test MAE: energy {fmt(None if energy is None else 1000 * energy, '.1f')} meV/atom, "
        f"forces {fmt(None if forces is None else 1000 * forces, '.1f')} meV/Å",
        file=out,
    )
    if doc.get("conductivity"):
        cond = doc["conductivity"]
        print(
            f"conductivity: Ea {fmt(cond.get('Ea_eV'))} eV, sigma(300 K) "
            f"{fmt(cond.get('sigma_mS_cm'), '.3g')} mS/cm",
            file=out,
        )
    print(f"model uuid {doc['model_uuid']} ('ionflow results models')", file=out)
    print(f"model spec (--model): {doc['finetuned_model']}", file=out)
    for warning in doc.get("warnings") or []:
        print(f"warning: {warning}", file=out)
