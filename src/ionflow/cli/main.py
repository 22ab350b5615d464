"""The ``ionflow`` command line.

::

    ionflow hops STRUCTURE [--species Li] [--json]
    ionflow screen STRUCTURE [--species Li --model chgnet --supercell-min 10 --fmax 0.05] [--json]
    ionflow neb INITIAL FINAL [--model chgnet --n-images 7] [--json]
    ionflow results [--formula LiFePO4] [--json]
    ionflow results screens|hops|conductivity|models|funnel [filters] [--csv|--json]
    ionflow conductivity STRUCTURE [--temperatures 600 800 1000 --runs 3] [--json]
    ionflow diffusion FILE... [--species Li --temperature K ...] [--json]
    ionflow label CONFIGS... --labeller vasp|MODEL_SPEC [--output labels.extxyz] [--json]
    ionflow finetune DATASET [--backend chgnet --epochs 50] [--json]
    ionflow submit screen|conductivity STRUCTURE [...] [--force] [--json]

One module per command (:mod:`.hops`, :mod:`.screen`, ...), each with ``add_parser`` and
``run``; :mod:`.common` holds what they share. Exit status: 0 done, 1 a calculation failed or
did not converge, 2 bad input (the message names the problem), 130 interrupted, 141 stdout
closed by the reader (``ionflow ... | head``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import TYPE_CHECKING

from ionflow import __version__
from ionflow.cli import (
    conductivity,
    diffusion,
    discover,
    finetune,
    hops,
    label,
    loop,
    neb,
    order,
    query,
    screen,
    submit,
)
from ionflow.cli.common import HelpFormatter, logging_to_stderr, warnings_once
from ionflow.errors import IonflowError, IonflowInputError

if TYPE_CHECKING:
    from collections.abc import Sequence

#: The commands in the order ``ionflow --help`` lists them.
COMMANDS = (
    hops, screen, neb, order, query, conductivity, diffusion, label, finetune, loop, discover,
    submit
)  # fmt: skip

#: Exit status when the reader of stdout went away (128 + SIGPIPE, as the shell reports it).
EXIT_BROKEN_PIPE = 141


def build_parser() -> argparse.ArgumentParser:
    """The ``ionflow`` argument parser with one subcommand per command module.

    Returns
    -------
    argparse.ArgumentParser
        Parsed arguments carry ``run``, the command's ``run(args) -> int``.
    """
    parser = argparse.ArgumentParser(
        prog="ionflow",
        description="Find fast ion conductors with MLIP workflows.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ionflow {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="debug logging, other libraries' INFO too"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="warnings and errors only on stderr"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``ionflow`` command.

    Parameters
    ----------
    argv
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status.
    """
    args = build_parser().parse_args(argv)
    args.stdout = sys.stdout
    try:
        with (
            logging_to_stderr(verbose=args.verbose, quiet=args.quiet),
            warnings_once(),
            contextlib.redirect_stdout(sys.stderr),
        ):
            code = _run(args)
        args.stdout.flush()
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    return code


def _run(args: argparse.Namespace) -> int:
    """The command, with ionflow's errors turned into a message and an exit status."""
    try:
        return int(args.run(args) or 0)
    except (IonflowInputError, FileNotFoundError) as exc:
        print(f"ionflow {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except IonflowError as exc:
        print(f"ionflow {args.command}: failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; finished jobs are in the store", file=sys.stderr)
        return 130


def _discard_stdout() -> None:
    """Point stdout at /dev/null so that Python's final flush does not fail again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
