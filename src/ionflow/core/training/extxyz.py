"""Datasets as extended XYZ with energy, forces and stress (the format MACE and ASE read).

Labels travel in ASE's standard extxyz keys (``energy``, ``forces``, ``stress``), so a file
written here is read by ``ase.io.read``, MACE's ``--train_file`` (with ``energy_key`` and
``forces_key`` set) and :func:`read_extxyz` alike. Per-configuration provenance (``source``,
``labeller``, ``config_type``) is kept as string ``info`` keys.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

from ase.calculators.singlepoint import SinglePointCalculator

from ionflow.core.errors import IonflowInputError
from ionflow.core.training.dataset import check_labelled, labels_of

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ase import Atoms

__all__ = ["read_extxyz", "write_extxyz"]


def _plain_info(info: dict) -> dict:
    """The ``info`` entries extxyz can carry (scalars and strings)."""
    return {k: v for k, v in info.items() if isinstance(v, str | int | float | bool)}


def write_extxyz(configs: Sequence[Atoms], path: str | Path | None = None) -> str:
    """Write labelled configurations as extxyz; return the text.

    Parameters
    ----------
    configs
        Labelled configurations (energy and forces required, stress kept when present).
    path
        File to write (``None``: only return the text).

    Returns
    -------
    str
        The extxyz text.

    Raises
    ------
    IonflowInputError
        For an empty dataset or a configuration without labels.
    """
    from ase.io import write

    labels = check_labelled(configs)
    frames = []
    for atoms, lab in zip(configs, labels):
        frame = atoms.copy()
        frame.info = _plain_info(atoms.info)
        results = {"energy": lab.energy, "forces": lab.forces}
        if lab.stress is not None:
            results["stress"] = lab.stress
        frame.calc = SinglePointCalculator(frame, **results)
        frames.append(frame)
    buffer = io.StringIO()
    write(buffer, frames, format="extxyz")
    text = buffer.getvalue()
    if path is not None:
        Path(path).write_text(text)
    return text


def read_extxyz(source: str | Path, *, text: bool = False) -> list[Atoms]:
    """Read labelled configurations from an extxyz file (or text).

    Parameters
    ----------
    source
        A file path, or the extxyz text itself when ``text`` is True (a dataset stored in
        the data store).
    text
        ``source`` is the file's content.

    Returns
    -------
    list[Atoms]
        Configurations with a ``SinglePointCalculator`` holding their labels.

    Raises
    ------
    IonflowInputError
        If the file is missing or unreadable, holds no configuration, or a configuration
        has no energy or forces.
    """
    from ase.io import read

    if not text:
        path = Path(source)
        if not path.is_file():
            raise IonflowInputError(f"dataset file not found: {path}")
        source = path.read_text()
        name = str(path)
    else:
        name = "extxyz text"
    if not str(source).strip():
        raise IonflowInputError(f"the dataset ({name}) is empty: no configurations")
    try:
        configs = read(io.StringIO(str(source)), index=":", format="extxyz")
    except Exception as exc:
        raise IonflowInputError(f"cannot read {name} as extxyz: {exc}") from exc
    for i, atoms in enumerate(configs):
        labels_of(atoms, i)  # raises with the configuration's index
    return configs
