"""The numpy CHGNet graph equals CHGNet's converter output (no model weights needed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pymatgen.core import Lattice, Structure

from ionflow.mlip.chgnet_graph import crystal_graph, edge_arrays

FIELDS = (
    "atomic_number",
    "atom_frac_coord",
    "atom_graph",
    "neighbor_image",
    "directed2undirected",
    "undirected2directed",
    "bond_graph",
    "lattice",
)


def _li2o():
    return Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(4.61), ["Li", "O"], [[0.25, 0.25, 0.25], [0, 0, 0]]
    )


def _rattled(structure, seed=1, amount=0.08):
    rng = np.random.default_rng(seed)
    coords = structure.cart_coords + rng.normal(0, amount, (len(structure), 3))
    return Structure(structure.lattice, structure.species, coords, coords_are_cartesian=True)


@pytest.fixture(scope="module")
def converter():
    from chgnet.graph import CrystalGraphConverter

    return CrystalGraphConverter(atom_graph_cutoff=6, bond_graph_cutoff=3)


@pytest.mark.parametrize(
    "name",
    ["li2o_conventional", "li2o_2x2x1", "lifepo4", "one_atom_small_cell", "triclinic"],
)
def test_numpy_graph_equals_converter(converter, lifepo4, name):
    structure = {
        "li2o_conventional": lambda: _li2o(),
        "li2o_2x2x1": lambda: _li2o() * (2, 2, 1),
        "lifepo4": lambda: lifepo4,
        # many images of the same pair (and of the atom itself) within the cutoffs
        "one_atom_small_cell": lambda: Structure(Lattice.cubic(2.6), ["Li"], [[0, 0, 0]]),
        "triclinic": lambda: Structure(
            Lattice.from_parameters(4.1, 4.6, 5.2, 78, 95, 112),
            ["Li", "Li", "O", "Cl"],
            [[0, 0, 0], [0.5, 0.4, 0.1], [0.25, 0.7, 0.5], [0.8, 0.2, 0.7]],
        ),
    }[name]()
    structure = _rattled(structure)
    ref = converter(structure)
    ours = crystal_graph(converter, structure)
    for field in FIELDS:
        assert torch.equal(getattr(ours, field), getattr(ref, field)), field
    assert ours.atom_graph_cutoff == ref.atom_graph_cutoff
    assert ours.bond_graph_cutoff == ref.bond_graph_cutoff
    assert ours.composition == ref.composition


def test_edge_arrays_refuse_a_one_sided_list():
    with pytest.raises(ValueError, match="not symmetric"):
        edge_arrays(2, [0], [1], [[0, 0, 0]], [1.0], 3.0)
