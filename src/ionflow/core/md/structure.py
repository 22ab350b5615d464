"""The working structure of an MD run: input checks and initial velocities."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ionflow.core.errors import IonflowInputError

if TYPE_CHECKING:
    from ase import Atoms

    from ionflow.core.md.settings import MDSettings

__all__ = ["initial_velocities", "validate_atoms"]


def initial_velocities(atoms: Atoms, temperature_K: float, rng: np.random.Generator) -> None:
    """Set Maxwell–Boltzmann momenta from ``rng``, without centre-of-mass motion.

    The momenta are rescaled to exactly ``temperature_K``.

    Parameters
    ----------
    atoms
        Structure whose momenta are set (in place).
    temperature_K
        Temperature (K).
    rng
        Random generator (the run's, so the velocities follow from the seed).
    """
    from ase.md import velocitydistribution as vd

    if hasattr(vd, "thermalize_momenta"):  # ASE >= 3.29
        vd.thermalize_momenta(atoms, temperature_K, rng=rng)
    else:  # pragma: no cover - older ASE
        vd.MaxwellBoltzmannDistribution(atoms, temperature_K=temperature_K, rng=rng)
    vd.Stationary(atoms)
    vd.force_temperature(atoms, temperature_K)


def validate_atoms(atoms: Atoms, settings: MDSettings) -> None:
    """Raise :class:`IonflowInputError` when ``atoms`` cannot run with ``settings``.

    Parameters
    ----------
    atoms
        The input structure of :func:`~ionflow.core.md.run_md`.
    settings
        Its settings (the mobile species must be present).
    """
    from ase import Atoms as AseAtoms

    if not isinstance(atoms, AseAtoms):
        raise IonflowInputError(
            f"run_md needs an ASE Atoms (got {type(atoms).__name__}); convert a pymatgen "
            "Structure with pymatgen.io.ase.AseAtomsAdaptor.get_atoms"
        )
    if len(atoms) < 2:
        raise IonflowInputError("run_md needs at least two atoms")
    if not all(atoms.pbc):
        raise IonflowInputError("run_md needs a periodic structure (pbc in all directions)")
    volume = abs(np.linalg.det(atoms.cell.array))
    if not np.isfinite(volume) or volume < 1e-6:
        raise IonflowInputError("run_md: the cell is singular")
    if not np.all(np.isfinite(atoms.positions)):
        raise IonflowInputError("run_md: non-finite atomic positions")
    if atoms.constraints:
        raise IonflowInputError(
            "run_md does not support constraints (the MTK barostat cannot use them); "
            "remove them with atoms.set_constraint()"
        )
    if settings.mobile_species not in atoms.get_chemical_symbols():
        raise IonflowInputError(
            f"mobile species {settings.mobile_species!r} is not in {atoms.get_chemical_formula()}"
        )
