"""Tests of ionflow.core.io.read_structure."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.io import write
from pymatgen.io.ase import AseAtomsAdaptor

from ionflow.core.errors import IonflowInputError
from ionflow.core.io import read_structure


def test_reads_gzipped_cif(test_data_dir):
    structure = read_structure(test_data_dir / "Li2MnO3_C2m.cif.gz")
    assert len(structure) == 24
    assert structure.composition.reduced_formula == "Li2MnO3"
    assert structure.lattice.beta == pytest.approx(109.3, abs=1e-3)


def test_reads_poscar_as_str_path(tmp_path, li2mno3):
    path = tmp_path / "POSCAR"
    li2mno3.to(filename=str(path), fmt="poscar")
    structure = read_structure(str(path))
    assert structure.composition == li2mno3.composition
    np.testing.assert_allclose(structure.lattice.matrix, li2mno3.lattice.matrix, atol=1e-6)


@pytest.mark.parametrize("name", ["frames.extxyz", "frames.traj"])
def test_ase_fallback_reads_last_frame(tmp_path, na_structure, name):
    first = AseAtomsAdaptor.get_atoms(na_structure)
    last = first.copy()
    last.positions[0] += [0.1, 0.0, 0.0]
    path = tmp_path / name
    write(path, [first, last])
    structure = read_structure(path)
    assert structure.composition == na_structure.composition
    np.testing.assert_allclose(structure.cart_coords, last.positions, atol=1e-8)


def test_missing_file(tmp_path):
    with pytest.raises(IonflowInputError, match=r"nothere\.cif.*does not exist"):
        read_structure(tmp_path / "nothere.cif")


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(IonflowInputError, match="is not a file"):
        read_structure(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.cif"
    path.write_text("")
    with pytest.raises(IonflowInputError, match=r"empty\.cif.*is empty"):
        read_structure(path)


def test_unparsable_file_names_file_and_parsers(tmp_path):
    path = tmp_path / "garbage.cif"
    path.write_text("this is not a crystal structure\n1 2 3\n")
    with pytest.raises(IonflowInputError, match=r"garbage\.cif.*pymatgen said.*ASE said"):
        read_structure(path)


def test_molecule_without_cell_is_rejected(tmp_path):
    path = tmp_path / "water.xyz"
    write(path, Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]]))
    with pytest.raises(IonflowInputError, match=r"water\.xyz.*periodic"):
        read_structure(path)


def test_cif_with_occupancy_above_one_is_refused_not_read_as_ordered(p1_cif):
    # pymatgen refuses this CIF and ASE would read it with the occupancy dropped
    path = p1_cif("Li1 Li 0 0 0 1.3\nCl1 Cl 0.5 0.5 0.5 1", "over.cif")
    with pytest.raises(IonflowInputError, match=r"occupancies above 1.*Li1"):
        read_structure(path)
