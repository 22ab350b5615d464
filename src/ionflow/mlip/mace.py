"""MACE in-process without changing torch's ``weights_only`` default for the rest of it.

``import mace`` sets ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` in ``os.environ`` (mace-torch
0.3.16), which makes every later ``torch.load`` without an explicit ``weights_only`` unpickle
arbitrary objects, in the whole process. e3nn 0.4.4 (which mace-torch pins) needs the same
variable while it is imported (its constants file is a pickle: importing e3nn before mace
fails under torch 2.13 with ``UnpicklingError ... GLOBAL slice``), and a MACE ``.model`` file
is a whole pickled module. :func:`mace_unpickling` sets the variable for exactly those steps
and puts the environment back afterwards; :func:`import_mace_calculator` imports MACE's ASE
calculator inside it. MACE model files run code when loaded: load only files you trust.
"""

from __future__ import annotations

import logging
import os
import warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["WEIGHTS_ONLY_ENV", "import_mace_calculator", "mace_unpickling"]

logger = logging.getLogger(__name__)

#: The variable ``import mace`` sets for the whole process.
WEIGHTS_ONLY_ENV = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"
_warned: list[bool] = []


@contextmanager
def mace_unpickling() -> Iterator[None]:
    """Inside: ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``; after: the environment as before.

    If the variable was already set when entering (e.g. ``mace`` was imported directly
    earlier), it stays set and a warning says so once: torch then unpickles by default in
    this whole process.
    """
    before = os.environ.get(WEIGHTS_ONLY_ENV)
    if before is not None and not _warned:
        _warned.append(True)
        logger.warning(
            "%s=%s is set in this process (mace imported outside ionflow?): torch.load "
            "without weights_only unpickles arbitrary objects; ionflow leaves it as it is",
            WEIGHTS_ONLY_ENV,
            before,
        )
    os.environ[WEIGHTS_ONLY_ENV] = "1"
    try:
        with warnings.catch_warnings():  # torch warns on each load the variable changes
            warnings.filterwarnings("ignore", message=f"Environment variable {WEIGHTS_ONLY_ENV}")
            yield
    finally:
        if before is None:
            os.environ.pop(WEIGHTS_ONLY_ENV, None)
        else:
            os.environ[WEIGHTS_ONLY_ENV] = before


def import_mace_calculator() -> Any:
    """``mace.calculators.MACECalculator``, imported without leaving the variable set.

    Raises
    ------
    ImportError
        When mace-torch is not installed.
    """
    with mace_unpickling():
        from mace.calculators import MACECalculator
    return MACECalculator
