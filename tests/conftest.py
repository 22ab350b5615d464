"""Shared pytest fixtures: small reference structures (no model, no store, no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pymatgen.core import Lattice, Structure

TEST_DATA = Path(__file__).parent / "test_data"


@pytest.fixture
def test_data_dir() -> Path:
    """Folder of the small (gzipped) reference files."""
    return TEST_DATA


@pytest.fixture
def lifepo4() -> Structure:
    """pymatgen's test LiFePO4 (28 atoms, olivine; slightly distorted: alpha = 90.5°).

    At ``symprec=0.01`` it is P2_1/c with two Li sites (2a, 2b); at ``symprec=0.1`` it is
    Pnma with one Li site (4a) and Li-Li chains along b (3.03 Å).
    """
    from pymatgen.util.testing import MatSciTest

    return MatSciTest.get_structure("LiFePO4")


@pytest.fixture
def li2mno3() -> Structure:
    """Li2MnO3 (cf. mp-18988), C2/m conventional cell, 24 atoms; Li on 4h, 2c, 2b."""
    from ionflow.core.io import read_structure

    return read_structure(TEST_DATA / "Li2MnO3_C2m.cif.gz")


@pytest.fixture
def na_structure() -> Structure:
    """Rock-salt NaCl conventional cell (a = 5.64 Å, 8 atoms): one Na site (4a)."""
    return Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]
    )


# ----------------------------------------------------------------------------- models
#: An ASE calculator spec that costs milliseconds: EMT (Cu, Al, Ni, ...), used wherever a
#: test exercises the NEB/flow machinery rather than a particular MLIP.
EMT_SPEC = {"@module": "ase.calculators.emt", "@callable": "EMT"}


@pytest.fixture
def emt_spec() -> dict:
    return dict(EMT_SPEC)


@pytest.fixture
def cu_fcc() -> Structure:
    """fcc Cu conventional cell (4 atoms): one site; EMT vacancy migration ~0.76 eV."""
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(3.61), ["Cu"], [[0, 0, 0]])


@pytest.fixture
def li2o_primitive() -> Structure:
    """Antifluorite Li2O primitive cell (3 atoms): one Li site (8c), cubic Li sublattice."""
    conv = Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(4.61), ["Li", "O"], [[0.25, 0.25, 0.25], [0, 0, 0]]
    )
    return conv.get_primitive_structure()


@pytest.fixture
def store_dir(tmp_path, monkeypatch) -> Path:
    """A fresh embedded-store directory, also exported as IONFLOW_STORE_DIR."""
    path = tmp_path / "store"
    monkeypatch.setenv("IONFLOW_STORE_DIR", str(path))
    monkeypatch.setenv("IONFLOW_USE_JOBFLOW_STORE", "never")
    monkeypatch.setenv("IONFLOW_CONFIG_FILE", str(tmp_path / "no-ionflow.yaml"))
    monkeypatch.setenv("IONFLOW_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    return path


_P1_CIF = """data_p1
_cell_length_a 4.2
_cell_length_b 4.2
_cell_length_c 4.2
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_symmetry_space_group_name_H-M 'P 1'
loop_
_symmetry_equiv_pos_as_xyz
 'x, y, z'
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_occupancy
{rows}
"""


@pytest.fixture
def p1_cif(tmp_path):
    """Write a cubic (4.2 Å) P1 CIF with the given atom-site rows; returns its path.

    Rows are ``label symbol x y z occupancy`` lines, e.g. ``"Li1 Li 0 0 0 1.3"``: the
    occupancies go into the file as written (pymatgen would rescale or drop some).
    """

    def write(rows: str, name: str = "p1.cif") -> Path:
        path = tmp_path / name
        path.write_text(_P1_CIF.format(rows=rows))
        return path

    return write
