"""Reading crystal structures from files with clear errors.

pymatgen's readers are tried first (CIF, POSCAR/CONTCAR, vasprun, pymatgen JSON, ...); files
that pymatgen cannot read are handed to ASE (extxyz, ASE trajectories, ...), whose last frame is
returned. Any failure becomes an :class:`~ionflow.core.errors.IonflowInputError` naming the file.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from pymatgen.core import Structure

from ionflow.core.errors import IonflowInputError
from ionflow.core.ordering.validate import check_cif_occupancies

__all__ = ["read_structure"]

logger = logging.getLogger(__name__)


def _read_with_pymatgen(path: Path) -> Structure:
    with warnings.catch_warnings():
        # CIF parsers warn about rounding and missing fields; the structure is checked later.
        warnings.simplefilter("ignore")
        structure = Structure.from_file(path)
    if not isinstance(structure, Structure) or len(structure) == 0:
        raise ValueError("no periodic structure found")
    return structure


def _read_with_ase(path: Path) -> Structure:
    from ase.io import read
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = read(path)  # the last frame of a multi-frame file
    if isinstance(atoms, list):  # defensive: read(path) returns one Atoms
        atoms = atoms[-1]
    if len(atoms) == 0:
        raise ValueError("the file holds no atoms")
    if not all(atoms.pbc) or abs(atoms.cell.volume) < 1e-8:
        raise ValueError(
            "the file holds no fully periodic cell (a crystal structure needs a 3D lattice)"
        )
    return AseAtomsAdaptor.get_structure(atoms)


def read_structure(path: str | Path) -> Structure:
    """Read a crystal structure from a file.

    Parameters
    ----------
    path
        Any file pymatgen's ``Structure.from_file`` understands (CIF, POSCAR, CONTCAR,
        vasprun.xml, pymatgen JSON, gzipped variants), or any periodic file ASE reads
        (extxyz, ``.traj``; the last frame is taken).

    Returns
    -------
    Structure
        The structure as read (possibly disordered; see
        :func:`ionflow.core.hops.validate_structure`).

    Raises
    ------
    IonflowInputError
        If the file does not exist, is not a file, is a CIF whose occupancies at one
        position sum above 1, or neither pymatgen nor ASE can parse it
        into a periodic structure; the message names the file and the parsers' complaints.
    """
    path = Path(path)
    if not path.exists():
        raise IonflowInputError(f"structure file {str(path)!r} does not exist")
    if not path.is_file():
        raise IonflowInputError(f"structure path {str(path)!r} is not a file")
    if path.stat().st_size == 0:
        raise IonflowInputError(f"structure file {str(path)!r} is empty")
    # pymatgen refuses a CIF whose occupancies at one position sum above 1 and ASE would then
    # read it as an ordered structure with the occupancies dropped: refuse it here instead.
    check_cif_occupancies(path)

    try:
        return _read_with_pymatgen(path)
    except Exception as exc:  # any parser failure falls back to ASE
        pmg_error = f"{type(exc).__name__}: {exc}"
        logger.debug("pymatgen could not read %s (%s); trying ASE", path, pmg_error)

    try:
        structure = _read_with_ase(path)
    except Exception as exc:  # reported below with both messages
        ase_error = f"{type(exc).__name__}: {exc}"
    else:
        logger.info("read %s with ASE (pymatgen could not: %s)", path, pmg_error)
        return structure

    raise IonflowInputError(
        f"could not read a crystal structure from {str(path)!r}: "
        f"pymatgen said {pmg_error!s}; ASE said {ase_error!s}"
    )
