"""What every ``ionflow`` command shares: options, logging, warnings, JSON output, the store.

A command module defines ``add_parser(subparsers)`` (its options, via :func:`add_command` and
the ``add_*_options`` helpers here) and ``run(args) -> int``. While ``run`` works, stdout is
stderr (:func:`ionflow.cli.main.main` redirects it), so that whatever a library prints (CHGNet
announces itself with ``print``) never mixes with the command's output; a command writes its
result to ``args.stdout``, the real stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import re
import sys
import warnings
from typing import TYPE_CHECKING, Any

from ionflow.errors import IonflowInputError
from ionflow.settings import get_settings

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import TextIO

    from jobflow import Flow, Job, JobStore

    from ionflow.mlip import ModelSpec

logger = logging.getLogger("ionflow.cli")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: Band optimisers of ``NebSettings.optimizer`` (kept here: importing ``ionflow.core.neb`` to
#: read them would slow down every ``ionflow --help``; NebSettings validates them again).
NEB_OPTIMIZERS = ("ode", "fire", "bfgs", "lbfgs", "mdmin")

#: Warnings that say nothing to an ionflow user: (category, message regex).
IGNORED_WARNINGS: tuple[tuple[type[Warning], str], ...] = (
    # jobflow's run_locally enters monty.os.cd (deprecated) once per job
    (FutureWarning, r"cd is deprecated"),
    (UserWarning, r"Converting a tensor with requires_grad"),
)


# ---------------------------------------------------------------------------- options
class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` showing every option's default, unless its help says ``(default ...)``."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "(default" in text:
            return text
        return super()._get_help_string(action)


def add_command(
    subparsers: argparse._SubParsersAction,
    name: str,
    summary: str,
    run: Callable[[argparse.Namespace], int],
    description: str | None = None,
) -> argparse.ArgumentParser:
    """Register one command: its parser (showing defaults) and the function that runs it.

    Parameters
    ----------
    subparsers
        The top-level parser's subparsers.
    name
        Command name (``ionflow NAME``).
    summary
        One line for ``ionflow --help``.
    run
        ``run(args) -> exit status``.
    description
        Longer text for ``ionflow NAME --help`` (default: ``summary``).

    Returns
    -------
    argparse.ArgumentParser
        The command's parser, to add its options to.
    """
    parser = subparsers.add_parser(
        name, help=summary, description=description or summary, formatter_class=HelpFormatter
    )
    parser.set_defaults(run=run)
    return parser


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """``--json``: one JSON document on stdout."""
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document on stdout; progress, warnings and errors go to stderr",
    )


def add_species_option(parser: argparse.ArgumentParser) -> None:
    """``--species``: the mobile species."""
    parser.add_argument("--species", default="Li", help="mobile species")


def add_structure_options(parser: argparse.ArgumentParser) -> None:
    """The input structure and how its sites and supercells are found."""
    parser.add_argument(
        "structure", help="structure file (CIF, POSCAR, extxyz, ...; may be gzipped)"
    )
    add_species_option(parser)
    parser.add_argument(
        "--symprec", type=float, default=0.1, help="symmetry tolerance, Å (MP uses 0.1)"
    )
    parser.add_argument(
        "--supercell-min",
        type=float,
        default=get_settings().SUPERCELL_MIN_LENGTH,
        help="size L of the NEB supercell, Å: its narrowest width by default, see "
        "--supercell-rule (IONFLOW_SUPERCELL_MIN_LENGTH)",
    )
    parser.add_argument(
        "--supercell-rule",
        choices=("width", "distance", "length"),
        default="width",
        help="width: the fewest-atom supercell (non-diagonal allowed) whose narrowest "
        "perpendicular width is >= L (default); distance: whose shortest distance between "
        "periodic images is >= L; length: diagonal repeats, every lattice length >= L (the "
        "rule before 0.3)",
    )


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """``--model`` and ``--threads``."""
    parser.add_argument(
        "--model",
        default=get_settings().DEFAULT_MODEL,
        help="model spec: chgnet, sevennet, NAME:CHECKPOINT, a checkpoint path or a JSON "
        '{"@module": ..., "@callable": ...} calculator (IONFLOW_DEFAULT_MODEL)',
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads of this process (default: IONFLOW_TORCH_THREADS, else torch's own)",
    )


def add_neb_options(parser: argparse.ArgumentParser) -> None:
    """The band knobs shared by ``screen`` and ``neb`` (model and threads included)."""
    add_model_options(parser)
    parser.add_argument(
        "--n-images", type=int, default=7, help="images of the band, endpoints included"
    )
    parser.add_argument(
        "--fmax",
        type=float,
        default=get_settings().NEB_FMAX,
        help="NEB force convergence, eV/Å (IONFLOW_NEB_FMAX)",
    )
    parser.add_argument("--max-steps", type=int, default=500, help="band optimiser step limit")
    parser.add_argument(
        "--optimizer",
        choices=NEB_OPTIMIZERS,
        default="ode",
        help="band optimiser; ode is ASE's adaptive NEBOptimizer",
    )
    parser.add_argument(
        "--checkpoint-dir",
        default=None,
        help="save each band there every 10 steps; a rerun continues unfinished bands "
        "(default: no checkpoints)",
    )


def neb_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The ``neb_settings`` of :class:`~ionflow.jobs.MLIPNebMaker` from the options."""
    return {"fmax": args.fmax, "max_steps": args.max_steps, "optimizer": args.optimizer}


# ---------------------------------------------------------------------------- run time
def check_model(spec: str) -> ModelSpec:
    """Fail now, naming the problem, when ``spec`` cannot be loaded (nothing is loaded).

    Parameters
    ----------
    spec
        The ``--model`` value.

    Returns
    -------
    ModelSpec
        The parsed spec.

    Raises
    ------
    ionflow.mlip.ModelLoadError
        Unknown spec, missing checkpoint file, backend package not installed.
    """
    from ionflow.mlip import check_model_spec

    return check_model_spec(spec)


def configure_torch(threads: int | None) -> None:
    """Set torch's thread count from ``--threads`` or the ``TORCH_THREADS`` setting."""
    n = threads if threads is not None else get_settings().TORCH_THREADS
    if n:
        import torch

        torch.set_num_threads(n)


def run_on_store(flow: Flow | Job) -> JobStore:
    """Run ``flow`` locally on the configured store; failed jobs are logged, not raised.

    Parameters
    ----------
    flow
        A jobflow Flow or Job.

    Returns
    -------
    JobStore
        The store, connected, to read the outputs from.
    """
    from jobflow import run_locally

    from ionflow.store import get_store

    store = get_store()
    run_locally(flow, store=store, log=False, ensure_success=False)
    store.connect()
    return store


def print_json(obj: Any, file: TextIO) -> None:
    """Write ``obj`` as one strict JSON document (numpy as Python numbers, NaN as null)."""
    from ionflow.core.jsonable import jsonable

    print(json.dumps(jsonable(obj), indent=2, allow_nan=False), file=file)


def fmt(value: float | None, spec: str = ".3f", missing: str = "-") -> str:
    """``value`` formatted with ``spec``, or ``missing`` when it is None."""
    return missing if value is None else format(value, spec)


def report_warnings(messages: Iterable[str]) -> None:
    """Log each warning of a result on stderr (one already logged is not repeated)."""
    for message in messages:
        logger.warning(message)


# ---------------------------------------------------------------------------- logging
class _JobFailures(logging.Filter):
    """jobflow logs a failed job at INFO, with the traceback: show it as an ERROR.

    Without ``-v`` only the traceback's last line is kept.
    """

    def __init__(self, verbose: bool) -> None:
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("jobflow") and " failed with exception:" in str(record.msg):
            name, _, trace = record.getMessage().partition(" failed with exception:")
            lines = [ln for ln in trace.strip().splitlines() if ln.strip()]
            last = lines[-1] if lines else "unknown error"
            detail = trace if self.verbose else f" {last} (-v shows the traceback)"
            record.msg, record.args = f"job {name} failed:{detail}", None
            record.levelno, record.levelname = logging.ERROR, "ERROR"
        return True


class _Levels(logging.Filter):
    """``ionflow.*`` records from ``own`` up, everything else from ``other`` up."""

    def __init__(self, own: int, other: int) -> None:
        super().__init__()
        self.own, self.other = own, other

    def filter(self, record: logging.LogRecord) -> bool:
        mine = record.name == "ionflow" or record.name.startswith("ionflow.")
        return record.levelno >= (self.own if mine else self.other)


class _Once(logging.Filter):
    """Each distinct warning or error text once per command."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[tuple[int, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.levelno, record.getMessage())
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


@contextlib.contextmanager
def logging_to_stderr(verbose: bool = False, quiet: bool = False) -> Iterator[None]:
    """Log to stderr while a command runs; the previous logging set-up is restored after.

    ``ionflow.*`` INFO lines (progress: a batch job's log shows them) are shown by default,
    also with ``--json``; ``quiet`` keeps warnings and errors only, ``verbose`` adds DEBUG
    and other libraries' INFO. Other libraries log warnings and errors only. Each distinct
    warning is shown once.
    """
    own = logging.DEBUG if verbose else (logging.WARNING if quiet else logging.INFO)
    other = logging.INFO if verbose else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    for f in (_JobFailures(verbose), _Levels(own, other), _Once()):
        handler.addFilter(f)
    root = logging.getLogger()
    # jobflow: INFO records are needed to see failed jobs (_JobFailures)
    levels = {"ionflow": own, "jobflow": logging.INFO}
    saved = {name: logging.getLogger(name).level for name in levels}
    root.addHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    try:
        yield
    finally:
        root.removeHandler(handler)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


@contextlib.contextmanager
def warnings_once() -> Iterator[None]:
    """Show each distinct warning once, as a log line, and none of :data:`IGNORED_WARNINGS`.

    The check also runs when a warning is shown, so a library that resets the warning
    filters (and with them Python's once-per-location registry) cannot bring them back.
    """
    seen: set[tuple[type[Warning], str]] = set()

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = str(message)
        if _ignored(category, text) or (category, text) in seen:
            return
        seen.add((category, text))
        logger.warning("%s: %s (%s:%s)", category.__name__, text, filename, lineno)

    with warnings.catch_warnings():
        for category, pattern in IGNORED_WARNINGS:
            warnings.filterwarnings("ignore", message=pattern, category=category)
        warnings.filterwarnings("ignore", category=UserWarning, module="pymatgen")
        warnings.showwarning = show
        yield


def _ignored(category: type[Warning], text: str) -> bool:
    return any(
        issubclass(category, cat) and re.match(pattern, text) for cat, pattern in IGNORED_WARNINGS
    )


def add_ordering_knobs(
    parser: Any, *, top_k: int, temperature_flag: str, temperature_help: str
) -> None:
    """Options of how a partially occupied structure is ordered.

    ``order``, ``screen`` and ``conductivity`` share them: the cap, top K, supercell size,
    Boltzmann temperature, charges and cell relaxation.

    Parameters
    ----------
    parser
        An :class:`argparse.ArgumentParser` or argument group.
    top_k
        Default number of orderings relaxed and ranked with the model.
    temperature_flag
        Option name of the Boltzmann temperature (``--temperature`` for ``ionflow order``,
        ``--ordering-temperature`` where ``--temperature`` means the MD's).
    temperature_help
        Its help text.
    """
    parser.add_argument(
        "--max-orderings",
        type=int,
        default=2000,
        help="refuse (exit 2) more symmetry-distinct orderings than this",
    )
    parser.add_argument(
        "--top-k",
        type=int,
        default=top_k,
        help="lowest-Ewald orderings relaxed and ranked with the model",
    )
    parser.add_argument(
        "--max-atoms", type=int, default=200, help="largest ordered supercell, atoms"
    )
    parser.add_argument(temperature_flag, type=float, default=800.0, help=temperature_help)
    parser.add_argument(
        "--oxidation-states",
        nargs="+",
        default=None,
        metavar="EL=Q",
        help="for the Ewald pre-ranking, e.g. Li=1 Y=3 Cl=-1 (default: the file's, else "
        "pymatgen's guess)",
    )
    parser.add_argument(
        "--relax-cell",
        action="store_true",
        help="relax the cell of each ordering too (default: fixed cell)",
    )


def oxidation_states(values: list[str] | None) -> dict[str, float] | None:
    """``["Li=1", "Cl=-1"]`` -> ``{"Li": 1.0, "Cl": -1.0}``; ``None`` when none are given.

    Raises
    ------
    IonflowInputError
        For an item that is not ``EL=CHARGE`` (exit 2 on the command line).
    """
    if not values:
        return None
    out = {}
    for item in values:
        element, sep, charge = item.partition("=")
        try:
            out[element.strip()] = float(charge)
        except ValueError:
            sep = ""
        if not sep or not element.strip():
            raise IonflowInputError(
                f"--oxidation-states takes EL=CHARGE items such as Li=1, got {item!r}"
            )
    return out
