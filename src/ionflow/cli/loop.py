"""``ionflow loop``: bohm-champagne's temperature ladder (MD -> select -> label -> fine-tune)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ionflow.cli.common import (
    add_command,
    add_json_option,
    add_species_option,
    check_model,
    configure_torch,
    fmt,
    print_json,
    run_on_store,
)
from ionflow.errors import IonflowError, IonflowInputError

if TYPE_CHECKING:
    import argparse
    from typing import TextIO

logger = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``ionflow loop``."""
    parser = add_command(
        subparsers,
        "loop",
        "iterative fine-tuning over a temperature ladder",
        run,
        description="bohm-champagne's loop, run locally on the store: at each temperature of "
        "the ladder, MD with the current model, furthest-point snapshots, labels (a teacher "
        "model or VASP), fine-tune, and the next temperature with the new model. A fixed "
        "held-out set (rattled copies of the cell, labelled once, never trained on) measures "
        "every model; the result is a table of held-out errors and D per rung, a plot, and "
        "the final model spec.",
    )
    parser.add_argument("structure", help="structure file (CIF, POSCAR, extxyz, ...)")
    add_species_option(parser)
    parser.add_argument(
        "--temperatures",
        type=float,
        nargs="+",
        default=[200.0, 400.0, 600.0, 800.0],
        help="the ladder, K, in the order climbed",
    )
    parser.add_argument(
        "--labeller",
        required=True,
        help="vasp, vasp:r2scan, or the model spec of a teacher, e.g. sevennet (default: none, "
        "required)",
    )
    parser.add_argument("--model", default="chgnet", help="initial model spec (fine-tunable)")
    parser.add_argument("--backend", default="chgnet", help="fine-tuning backend")
    _add_md_options(parser)
    _add_training_options(parser)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (IONFLOW_TORCH_THREADS)"
    )
    add_json_option(parser)


def _add_md_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--md-ps", type=float, default=5.0, help="MD production per rung, ps")
    parser.add_argument(
        "--equilibration-ps", type=float, default=1.0, help="NVT equilibration per rung, ps"
    )
    parser.add_argument("--heating-ps", type=float, default=1.0, help="heating from 100 K, ps")
    parser.add_argument(
        "--frame-interval-fs",
        type=float,
        default=50.0,
        help="interval of the MD frames the snapshots are chosen from, fs",
    )
    parser.add_argument(
        "--supercell", type=int, nargs=3, default=None, help="repeats before MD, e.g. 2 2 2"
    )


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--snapshots", type=int, default=20, help="snapshots labelled per rung")
    parser.add_argument(
        "--disagreement",
        action="store_true",
        help="pick snapshots where the current and previous model disagree most",
    )
    parser.add_argument("--heldout", type=int, default=10, help="held-out configurations")
    parser.add_argument("--epochs", type=int, default=50, help="most epochs per fine-tune")
    parser.add_argument("--batch-size", type=int, default=8, help="configurations per batch")
    parser.add_argument("--lr", type=float, default=1e-3, help="learning rate")
    parser.add_argument(
        "--max-iterations", type=int, default=None, help="most rungs (default: whole ladder)"
    )
    parser.add_argument(
        "--stop-force-mae",
        type=float,
        default=None,
        help="stop once the held-out force MAE is below this, eV/Å (default: never)",
    )
    parser.add_argument(
        "--model-dir", default=None, help="parent directory of the checkpoints (~/.ionflow/models)"
    )
    parser.add_argument(
        "--plot-dir",
        default=None,
        help="where the plot goes (default: <store parent>/runs/loop-<formula>-<id>)",
    )


def build_flow(args: argparse.Namespace) -> Any:
    """The loop's Flow from the options; every input problem raises here, before any MD.

    Parameters
    ----------
    args
        Parsed ``ionflow loop`` arguments.

    Returns
    -------
    jobflow.Flow
        The flow, not yet run.
    """
    if not args.md_ps > 0:
        raise IonflowInputError(f"--md-ps must be positive, got {args.md_ps}")
    check_model(args.model)
    if args.labeller.split(":")[0].lower() != "vasp":
        check_model(args.labeller)
    from ionflow.core.io import read_structure
    from ionflow.flows.loop import FineTuneLoopFlow
    from ionflow.jobs.finetune import FineTuneMaker
    from ionflow.jobs.label import label_maker
    from ionflow.jobs.loop import HeldoutConfigsMaker
    from ionflow.jobs.md import MLIPMDMaker

    structure = read_structure(args.structure)
    md = {
        "production_ps": args.md_ps,
        "equilibration_ps": args.equilibration_ps,
        "heating_ps": args.heating_ps,
        "full_frame_interval_fs": args.frame_interval_fs,
        "store_full_frames": True,
    }
    settings = {
        "base_model": args.model,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
    }
    loop = FineTuneLoopFlow(
        temperatures=tuple(args.temperatures),
        model=args.model,
        md_maker=MLIPMDMaker(name="loop md", model=args.model, md_settings=md),
        n_snapshots=args.snapshots,
        disagreement=args.disagreement,
        label_maker=label_maker(args.labeller),
        finetune_maker=FineTuneMaker(
            backend=args.backend, settings=settings, model_dir=args.model_dir
        ),
        max_iterations=args.max_iterations,
        stop_force_mae=args.stop_force_mae,
        heldout_maker=HeldoutConfigsMaker(n_configs=args.heldout),
        plot_dir=args.plot_dir,
        supercell=tuple(args.supercell) if args.supercell else None,
        mobile_species=args.species,
    )
    return loop.make(structure)


def run(args: argparse.Namespace) -> int:
    """Run the loop; exit status 1 when it produced no summary."""
    from ionflow.store import output_as_dict

    flow = build_flow(args)
    configure_torch(args.threads)
    logger.info("ladder %s K; each rung logs its held-out errors as it ends", args.temperatures)
    store = run_on_store(flow)
    doc = output_as_dict(store, flow.output.uuid, load=False)
    if not doc or not doc.get("rungs"):
        raise IonflowError("the loop produced no summary; see the log above")
    doc.pop("plot_png_b64", None)
    if args.json:
        print_json(doc, args.stdout)
    else:
        print_loop(doc, args.stdout)
    return 0


def print_loop(doc: dict[str, Any], out: TextIO) -> None:
    """Held-out errors per model, D per rung, why the ladder stopped, the final model."""
    print(
        f"\n{doc['formula']}: {doc['n_rungs']} rung(s), stopped: {doc['stop_reason']}; "
        f"held-out set of {doc['n_heldout']} labelled by {doc.get('labeller')}",
        file=out,
    )
    print(f"{'model':<10}{'E meV/atom':>12}{'F meV/Å':>10}{'S GPa':>8}{'D cm2/s':>11}", file=out)
    for row in doc.get("table") or []:
        e, f = row.get("energy_eV_atom"), row.get("forces_eV_A")
        print(
            f"{row['label']:<10}{fmt(None if e is None else 1000 * e, '.1f'):>12}"
            f"{fmt(None if f is None else 1000 * f, '.1f'):>10}"
            f"{fmt(row.get('stress_GPa'), '.3f'):>8}{fmt(row.get('D_cm2_s'), '.2e'):>11}",
            file=out,
        )
    print(f"plot {doc.get('plot_path')}", file=out)
    print(f"final model (--model): {doc['final_model']}", file=out)
