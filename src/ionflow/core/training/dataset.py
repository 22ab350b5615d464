"""Labelled configurations: checks, labels, and the reproducible train/validation/test split.

A configuration is an ASE ``Atoms`` whose calculator (a ``SinglePointCalculator``, what extxyz
files and ``ConfigLabel.to_atoms()`` give) holds the labels: energy (eV), forces (eV/Å) and
optionally stress (eV/Å^3, ASE sign and Voigt order). Provenance strings (``source``,
``labeller``) live in ``atoms.info``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ionflow.core.errors import IonflowInputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ase import Atoms

__all__ = [
    "MIN_CONFIGS",
    "DatasetSplit",
    "Labels",
    "check_labelled",
    "labels_of",
    "split_dataset",
    "split_indices",
]

#: Fewest configurations that split into non-empty train, validation and test sets.
MIN_CONFIGS = 3


@dataclass
class Labels:
    """The labels of one configuration."""

    energy: float
    forces: np.ndarray
    stress: np.ndarray | None = None


def labels_of(atoms: Atoms, index: int | None = None) -> Labels:
    """Energy, forces and (when present) stress stored on ``atoms``'s calculator.

    Parameters
    ----------
    atoms
        A labelled configuration.
    index
        Its position in the dataset (named in error messages).

    Returns
    -------
    Labels
        Energy (eV), forces (eV/Å, shape (n, 3)), stress (eV/Å^3, Voigt 6) or None.

    Raises
    ------
    IonflowInputError
        If energy or forces are missing, of the wrong shape, or not finite.
    """
    where = f"configuration {index}" if index is not None else "configuration"
    where += f" ({atoms.get_chemical_formula()})"
    results = getattr(atoms.calc, "results", None) or {}
    if results.get("energy") is None:
        raise IonflowInputError(f"{where} has no energy label")
    if results.get("forces") is None:
        raise IonflowInputError(f"{where} has no force labels")
    energy = float(results["energy"])
    forces = np.asarray(results["forces"], dtype=float)
    if forces.shape != (len(atoms), 3):
        raise IonflowInputError(
            f"{where}: forces of shape {forces.shape}, expected ({len(atoms)}, 3)"
        )
    stress = results.get("stress")
    if stress is not None:
        stress = np.asarray(stress, dtype=float)
        if stress.shape == (3, 3):
            stress = stress[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
        stress = stress.reshape(6)
    if not np.isfinite(energy) or not np.all(np.isfinite(forces)):
        raise IonflowInputError(f"{where} has non-finite energy or forces")
    return Labels(energy=energy, forces=forces, stress=stress)


def check_labelled(configs: Sequence[Atoms], *, require_stress: bool = False) -> list[Labels]:
    """Check that ``configs`` is a usable training set and return every configuration's labels.

    Parameters
    ----------
    configs
        Labelled configurations.
    require_stress
        Every configuration must carry a stress (training targets ``"efs"``).

    Returns
    -------
    list[Labels]
        One per configuration.

    Raises
    ------
    IonflowInputError
        For an empty dataset, or a configuration without energy, forces or (when required)
        stress.
    """
    if len(configs) == 0:
        raise IonflowInputError("the dataset is empty: no labelled configurations")
    labels = [labels_of(atoms, i) for i, atoms in enumerate(configs)]
    if require_stress:
        missing = [i for i, lab in enumerate(labels) if lab.stress is None]
        if missing:
            raise IonflowInputError(
                f"{len(missing)} of {len(configs)} configurations have no stress label "
                f"(first: {missing[0]}); train on targets 'ef' or label stresses"
            )
    return labels


@dataclass
class DatasetSplit:
    """Train, validation and test configurations and the indices they came from."""

    train: list[Atoms]
    val: list[Atoms]
    test: list[Atoms]
    indices: dict[str, list[int]] = field(default_factory=dict)
    seed: int = 0

    def sizes(self) -> dict[str, int]:
        """Number of configurations per split."""
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def split_indices(
    n: int, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0
) -> dict[str, list[int]]:
    """Reproducible random split of ``range(n)`` (lian2025: 80/10/10).

    Sizes are rounded, then every split gets at least one configuration: CHGNet's own
    ``int()`` sizing leaves the validation set of a tiny dataset empty and then fails.

    Parameters
    ----------
    n
        Number of configurations (at least :data:`MIN_CONFIGS`).
    fractions
        Train, validation and test fractions (positive, normalised here).
    seed
        Seed of the permutation: the same ``n``, ``fractions`` and ``seed`` give the same split.

    Returns
    -------
    dict[str, list[int]]
        Sorted indices under ``"train"``, ``"val"``, ``"test"``.

    Raises
    ------
    IonflowInputError
        If ``n`` is below :data:`MIN_CONFIGS` or the fractions are not three positive numbers.
    """
    frac = np.asarray(fractions, dtype=float)
    if frac.shape != (3,) or not np.all(np.isfinite(frac)) or np.any(frac <= 0):
        raise IonflowInputError(f"fractions must be three positive numbers, got {fractions}")
    if n < MIN_CONFIGS:
        raise IonflowInputError(
            f"{n} labelled configuration(s): at least {MIN_CONFIGS} are needed for non-empty "
            "train, validation and test sets"
        )
    frac = frac / frac.sum()
    n_val = max(1, round(frac[1] * n))
    n_test = max(1, round(frac[2] * n))
    n_train = n - n_val - n_test
    while n_train < 1:  # tiny sets: take from the larger of val/test
        if n_val >= n_test:
            n_val -= 1
        else:
            n_test -= 1
        n_train += 1
    order = np.random.default_rng(seed).permutation(n)
    return {
        "train": sorted(order[:n_train].tolist()),
        "val": sorted(order[n_train : n_train + n_val].tolist()),
        "test": sorted(order[n_train + n_val :].tolist()),
    }


def split_dataset(
    configs: Sequence[Atoms], fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0
) -> DatasetSplit:
    """Split labelled configurations with :func:`split_indices`.

    Parameters
    ----------
    configs
        Labelled configurations (checked with :func:`check_labelled`).
    fractions, seed
        See :func:`split_indices`.

    Returns
    -------
    DatasetSplit
        The three lists (the same ``Atoms`` objects, not copies) and their indices.
    """
    check_labelled(configs)
    idx = split_indices(len(configs), fractions, seed)
    return DatasetSplit(
        train=[configs[i] for i in idx["train"]],
        val=[configs[i] for i in idx["val"]],
        test=[configs[i] for i in idx["test"]],
        indices=idx,
        seed=seed,
    )
