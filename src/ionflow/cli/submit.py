"""``ionflow submit screen|conductivity|finetune``: add a flow to the FireWorks LaunchPad, once.

The flow is the one ``ionflow screen`` / ``ionflow conductivity`` run locally, routed for
FireWorks (GPU jobs to ``category: gpu`` workers, the rest to ``category: cpu``) and submitted
with :func:`ionflow.fireworks.submit`: the same structure with the same settings is not
submitted twice (``--force`` does), and no store or credentials go into the Firework specs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ionflow.cli.common import (
    HelpFormatter,
    add_command,
    add_json_option,
    add_model_options,
    add_neb_options,
    add_species_option,
    add_structure_options,
    check_model,
    neb_settings,
    print_json,
)
from ionflow.errors import IonflowError

if TYPE_CHECKING:
    import argparse

    from jobflow import Flow, Job


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``ionflow submit`` and its flows."""
    parser = add_command(
        subparsers,
        "submit",
        "add a flow to the FireWorks LaunchPad",
        run,
        description="Build a flow and add it to your FireWorks LaunchPad (--launchpad FILE; "
        "default: FireWorks' own configuration; ${VAR} in it from the environment). Workers "
        "run it: rlaunch -w my_fworker_gpu.yaml rapidfire on GPU nodes, my_fworker_cpu.yaml "
        "on CPU nodes (fireworks_configs/).",
    )
    flows = parser.add_subparsers(
        dest="flow", required=True, metavar="FLOW", help="screen, conductivity or finetune"
    )
    screen = flows.add_parser(
        "screen", help="the hop screen", description="the hop screen", formatter_class=HelpFormatter
    )
    add_structure_options(screen)
    add_neb_options(screen)
    _add_submit_options(screen)
    cond = flows.add_parser(
        "conductivity",
        help="the MD conductivity flow",
        description="the MD conductivity flow",
        formatter_class=HelpFormatter,
    )
    cond.add_argument("structure", help="structure file (CIF, POSCAR, extxyz, ...)")
    add_species_option(cond)
    add_model_options(cond)
    cond.add_argument(
        "--temperatures", type=float, nargs="+", default=[600.0, 800.0, 1000.0], help="MD, K"
    )
    cond.add_argument("--runs", type=int, default=3, help="independent runs per temperature")
    cond.add_argument("--time-ps", type=float, default=20.0, help="production time per run, ps")
    cond.add_argument("--supercell-min", type=float, default=10.0, help="smallest MD cell, Å")
    _add_submit_options(cond)
    tune = flows.add_parser(
        "finetune",
        help="fine-tune a model on an extxyz dataset",
        description="fine-tune a model (GPU job) on an extxyz file with energies, forces and "
        "stresses; the file must be readable at the same path on the GPU worker",
        formatter_class=HelpFormatter,
    )
    tune.add_argument("dataset", help="extxyz file (on a file system the workers share)")
    tune.add_argument("--backend", default="chgnet", help="fine-tuning backend")
    tune.add_argument("--base-model", default="chgnet", help="model to start from")
    tune.add_argument("--epochs", type=int, default=50, help="most epochs")
    tune.add_argument("--lr", type=float, default=1e-3, help="learning rate")
    tune.add_argument("--seed", type=int, default=0, help="split and torch seed")
    tune.add_argument("--model-dir", default=None, help="parent directory of the checkpoint")
    _add_submit_options(tune)


def _add_submit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--launchpad", default=None, help="my_launchpad.yaml (default: FireWorks')")
    parser.add_argument("--fworker", default=None, help="pin every job to this FireWorker name")
    parser.add_argument(
        "--force", action="store_true", help="submit even if the same flow was submitted before"
    )
    parser.add_argument(
        "--no-store-check",
        action="store_true",
        help="do not look for a finished result in the store (only on the LaunchPad)",
    )
    add_json_option(parser)


def _finetune_job(args: argparse.Namespace) -> tuple[Job, dict[str, Any]]:
    """The fine-tuning job and the dataset's checksum (the job names the file by its path)."""
    import hashlib
    from pathlib import Path

    from ionflow.core.training import read_extxyz
    from ionflow.jobs.finetune import FineTuneMaker

    path = Path(args.dataset).expanduser().resolve()
    if not path.is_file():
        raise FileNotFoundError(f"dataset {args.dataset} does not exist")
    read_extxyz(path)  # the labels are checked before anything is submitted
    maker = FineTuneMaker(
        backend=args.backend,
        settings={
            "base_model": args.base_model,
            "epochs": args.epochs,
            "learning_rate": args.lr,
            "seed": args.seed,
        },
        seed=args.seed,
        model_dir=args.model_dir,
    )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return maker.make(str(path)), {"dataset_sha256": digest}


def build_flow(args: argparse.Namespace) -> Flow | Job:
    """The flow ``ionflow submit FLOW`` submits, from its options (no fine-tuning job)."""
    from ionflow.core.io import read_structure

    check_model(args.model)
    structure = read_structure(args.structure)
    if args.flow == "screen":
        from ionflow.core.hops import normalize_species, validate_structure
        from ionflow.flows import ScreenHopsFlow
        from ionflow.jobs import HopEnumerationMaker, MLIPNebMaker

        species = normalize_species(args.species)
        validate_structure(structure, species)
        return ScreenHopsFlow(
            enumeration_maker=HopEnumerationMaker(
                species=species,
                supercell_min_length=args.supercell_min,
                supercell_rule=args.supercell_rule,
                symprec=args.symprec,
            ),
            neb_maker=MLIPNebMaker(
                model=args.model,
                n_images=args.n_images,
                neb_settings=neb_settings(args),
                checkpoint_dir=args.checkpoint_dir,
            ),
        ).make(structure)
    from ionflow.flows import ConductivityFlow
    from ionflow.jobs import MLIPMDMaker

    return ConductivityFlow(
        temperatures=tuple(args.temperatures),
        n_runs=args.runs,
        supercell_min_length=args.supercell_min,
        mobile_species=args.species,
        md_maker=MLIPMDMaker(model=args.model, md_settings={"production_ps": args.time_ps}),
    ).make(structure)


def run(args: argparse.Namespace) -> int:
    """Submit the flow; exit status 0 also when it was there already (and not submitted)."""
    from ionflow.fireworks import load_launchpad, submit

    if args.flow == "finetune":
        flow, extra = _finetune_job(args)
    else:
        flow, extra = build_flow(args), None
    store = None
    if not args.no_store_check:
        from ionflow.store import ensure_indexes, get_store

        store = get_store()
        ensure_indexes(store)  # MongoDB: the indexes results queries use; embedded: skipped
    launchpad = load_launchpad(args.launchpad)
    try:
        result = submit(
            flow,
            launchpad,
            force=args.force,
            store=store,
            fworker=args.fworker,
            fingerprint_extra=extra,
        )
    except IonflowError:
        raise
    except Exception as exc:  # pymongo: the LaunchPad cannot be reached, authentication
        raise IonflowError(f"cannot submit to the LaunchPad: {type(exc).__name__}: {exc}") from exc
    doc: dict[str, Any] = {
        "flow": args.flow,
        "name": flow.name,
        "submitted": result.submitted,
        "fw_ids": result.fw_ids,
        "fingerprint": result.fingerprint,
        "reason": result.reason,
        "existing": result.existing,
    }
    if args.json:
        print_json(doc, args.stdout)
    elif result.submitted:
        print(f"submitted {flow.name!r}: Fireworks {result.fw_ids}", file=args.stdout)
        print(f"fingerprint {result.fingerprint}", file=args.stdout)
    else:
        print(f"not submitted, already there ({result.reason}); --force submits it again",
              file=args.stdout)  # fmt: skip
    return 0
