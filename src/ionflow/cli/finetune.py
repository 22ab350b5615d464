"""``ionflow finetune``: fine-tune a model on a labelled dataset (extxyz or a stored dataset)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ionflow.cli.common import (
    add_command,
    add_json_option,
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

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``ionflow finetune``."""
    parser = add_command(
        subparsers,
        "finetune",
        "fine-tune a model (CHGNet, MACE) on labelled configurations",
        run,
        description="Fine-tune a model on a labelled dataset: an extxyz file with energies, "
        "forces and stresses (e.g. from 'ionflow label --output'), or the uuid of a stored "
        "dataset or fine-tuning job. CHGNet (default): lian2025's settings (MSE; energy 1, "
        "force 1, stress 0.1; RAdam; lr 1e-3; 80/10/10 split). MACE (--backend mace, in an "
        "environment with mace-torch): training from scratch, naive fine-tuning of a local "
        "--foundation file, or deng2025's multi-head fine-tuning of it with the foundation's "
        "training data as --replay (Adam, lr 0.01, early stop after 20 epochs without "
        "improvement, at most 500 epochs). Prints the metrics and the model spec "
        "('chgnet:/abs/path', 'mace:/abs/path') that --model of every other command accepts.",
    )
    parser.add_argument("dataset", help="extxyz file, or the uuid of a stored dataset")
    parser.add_argument("--backend", default="chgnet", help="fine-tuning backend (chgnet, mace)")
    parser.add_argument(
        "--base-model", default=None, help="CHGNet model to start from (a spec or checkpoint)"
    )
    parser.add_argument("--targets", default="efs", choices=("efs", "ef"), help="fitted labels")
    parser.add_argument(
        "--epochs", type=int, default=None, help="most epochs (chgnet 50, mace 500)"
    )
    parser.add_argument(
        "--patience", type=int, default=20, help="early stop after N epochs without improvement"
    )
    parser.add_argument("--batch-size", type=int, default=8, help="configurations per batch")
    parser.add_argument(
        "--lr", type=float, default=None, help="learning rate (chgnet 1e-3, mace 0.01)"
    )
    parser.add_argument("--seed", type=int, default=0, help="split and torch seed")
    parser.add_argument(
        "--freeze", nargs="*", default=[], help="model parts kept fixed (e.g. atom_embedding)"
    )
    parser.add_argument(
        "--model-dir", default=None, help="parent directory of the checkpoint (~/.ionflow/models)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (IONFLOW_TORCH_THREADS)"
    )
    mace = parser.add_argument_group("MACE (--backend mace)")
    mace.add_argument("--foundation", default=None, help="local MACE model file to fine-tune")
    mace.add_argument(
        "--replay",
        default=None,
        help="local extxyz of the foundation's training data (multi-head fine-tuning)",
    )
    mace.add_argument(
        "--mode",
        default="auto",
        choices=("auto", "scratch", "naive", "multihead"),
        help="auto: scratch without --foundation, multihead with it (needs --replay)",
    )
    add_json_option(parser)


def _dataset_input(dataset: str) -> Any:
    """The dataset as the FineTuneMaker takes it; checked here (exit 2 on bad input)."""
    from ionflow.core.training import read_extxyz

    path = Path(dataset)
    if path.is_file():
        read_extxyz(path)  # checks labels before anything runs
        return str(path.resolve())
    if _UUID.match(dataset):
        from ionflow.store import get_store, output_as_dict

        store = get_store()
        store.connect()
        try:
            out = output_as_dict(store, dataset, load=True)
        except ValueError:  # jobflow: "UUID ... has no outputs"
            out = None
        if not out or not (out.get("dataset") or out.get("labels")):
            raise IonflowInputError(f"no stored dataset or label set with uuid {dataset}")
        return out
    raise IonflowInputError(f"dataset {dataset!r} is neither an extxyz file nor a stored uuid")


def _settings(args: argparse.Namespace) -> Any:
    """The backend's settings from the options; checked here (exit 2 on bad input)."""
    common = {
        "targets": args.targets,
        "patience": args.patience,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "freeze": tuple(args.freeze),
    }
    for key, value in (("epochs", args.epochs), ("learning_rate", args.lr)):
        if value is not None:
            common[key] = value
    if args.backend != "mace":
        if args.foundation or args.replay or args.mode != "auto":
            raise IonflowInputError("--foundation, --replay and --mode are MACE options")
        return {"base_model": args.base_model or "chgnet", **common}
    from ionflow.core.training import MACEFineTuneSettings

    if args.base_model:
        raise IonflowInputError("with --backend mace, give the model to start from as --foundation")
    settings = MACEFineTuneSettings(
        mode=args.mode, foundation=args.foundation, replay=args.replay, **common
    )
    settings.check_files()
    return settings


def _check_mace_inputs(settings: Any, dataset: Any) -> None:
    """MACE runs here, the foundation covers the data's elements, the replay is labelled."""
    from ionflow.core.training.mace_backend import (
        check_mace_python,
        inspect_mace_model,
        read_replay,
    )
    from ionflow.jobs.finetune import _labelled_atoms

    check_mace_python(settings.python)
    if settings.replay:
        read_replay(settings.replay)
    if settings.foundation:
        from ase.data import chemical_symbols

        zs = set(inspect_mace_model(settings.foundation, settings.python)["atomic_numbers"])
        configs, _ = _labelled_atoms(dataset)
        missing = sorted({int(z) for a in configs for z in a.numbers} - zs)
        if missing:
            raise IonflowInputError(
                f"the foundation model {settings.foundation} does not cover "
                f"{', '.join(chemical_symbols[z] for z in missing)} of the dataset"
            )


def run(args: argparse.Namespace) -> int:
    """Fine-tune on ``args.dataset``; exit status 1 when training failed."""
    from ionflow.core.training import get_backend
    from ionflow.jobs.finetune import FineTuneMaker
    from ionflow.store import output_as_dict

    get_backend(args.backend)
    settings = _settings(args)
    maker = FineTuneMaker(
        backend=args.backend,
        settings=settings,
        seed=args.seed,
        model_dir=args.model_dir,
    )
    dataset = _dataset_input(args.dataset)
    if args.backend == "mace":
        _check_mace_inputs(settings, dataset)
    configure_torch(args.threads)
    job = maker.make(dataset)
    store = run_on_store(job)
    out = output_as_dict(store, job.uuid, load=False)
    if out is None:
        raise IonflowError("fine-tuning produced no model; see the log above")
    summary = {
        "uuid": job.uuid,
        **{
            k: out.get(k)
            for k in (
                "backend",
                "model_spec",
                "checkpoint",
                "curve_png",
                "metrics",
                "best_epoch",
                "epochs_run",
                "stopped_early",
                "n_configs",
                "dataset_version",
                "wall_time_s",
            )
        },
    }
    if args.json:
        print_json(summary, args.stdout)
    else:
        _print_summary(summary, args.stdout)
    return 0


def _print_summary(summary: dict[str, Any], out: TextIO) -> None:
    n = summary["n_configs"] or {}
    print(
        f"{summary['backend']}: {summary['epochs_run']} epoch(s), best {summary['best_epoch']}"
        f"{' (early stop)' if summary['stopped_early'] else ''}; "
        f"{n.get('train')}/{n.get('val')}/{n.get('test')} configurations, "
        f"{fmt(summary['wall_time_s'], '.0f')} s",
        file=out,
    )
    print(f"{'split':<6}{'E meV/atom':>12}{'F meV/Å':>10}{'S GPa':>8}", file=out)
    for split, m in (summary["metrics"] or {}).items():
        e, f = m.get("energy_eV_atom"), m.get("forces_eV_A")
        print(
            f"{split:<6}{fmt(None if e is None else 1000 * e, '.1f'):>12}"
            f"{fmt(None if f is None else 1000 * f, '.1f'):>10}"
            f"{fmt(m.get('stress_GPa'), '.3f'):>8}",
            file=out,
        )
    print(f"checkpoint {summary['checkpoint']}", file=out)
    print(f"training curve {summary['curve_png']}", file=out)
    print(f"model spec (--model): {summary['model_spec']}", file=out)
