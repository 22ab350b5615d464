"""Strained copies of configurations (deng2025: ±3 % strain widens the sampled cells)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ionflow.core.errors import IonflowInputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ase import Atoms

__all__ = ["strain_configs"]


def strain_configs(
    atoms: Atoms, strains: Sequence[float] = (-0.03, 0.03), *, max_strain: float = 0.1
) -> list[Atoms]:
    """Isotropically strained, unlabelled copies of ``atoms`` (atoms move with the cell).

    Parameters
    ----------
    atoms
        A periodic configuration.
    strains
        Linear strains (``0.03`` = +3 % on every lattice vector).
    max_strain
        Largest accepted ``|strain|`` (guards against percent given as a number, ``3``).

    Returns
    -------
    list[Atoms]
        One copy per strain, without a calculator (label them before training), with
        ``info["strain"]``.

    Raises
    ------
    IonflowInputError
        For a strain beyond ``max_strain`` or a non-periodic configuration.
    """
    if not np.all(atoms.pbc):
        raise IonflowInputError("strained copies need a periodic configuration")
    out = []
    for strain in strains:
        if not np.isfinite(strain) or abs(strain) > max_strain:
            raise IonflowInputError(
                f"strain {strain} is beyond ±{max_strain} (give fractions: 0.03 for 3 %)"
            )
        copy = atoms.copy()
        copy.calc = None
        copy.set_cell(atoms.cell[:] * (1.0 + strain), scale_atoms=True)
        copy.info["strain"] = float(strain)
        out.append(copy)
    return out
