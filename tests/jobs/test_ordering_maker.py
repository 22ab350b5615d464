"""OrderingMaker: the Maker shape, the document, a run with a cheap model (EMT)."""

from __future__ import annotations

import numpy as np
import pytest
from jobflow import JobStore, run_locally
from maggma.stores import MemoryStore
from pymatgen.core import Lattice, Structure

from ionflow.core.errors import IonflowInputError
from ionflow.jobs import OrderingMaker
from ionflow.schemas.ordering import OrderingDoc

EMT = {"@module": "ase.calculators.emt", "@callable": "EMT"}


def _cu3au_disordered() -> Structure:
    """fcc Cu-Au, one quarter Au on every site (EMT covers both)."""
    return Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(3.75), [{"Cu": 0.75, "Au": 0.25}], [[0, 0, 0]]
    )


def test_maker_shape_and_update_maker_kwargs():
    maker = OrderingMaker(model=None, top_k=3, supercell=[2, 1, 1], worker="cpu")
    job = maker.make(_cu3au_disordered())
    assert job.maker is not maker
    assert isinstance(job.maker, OrderingMaker)
    assert job.config.manager_config["_category"] == "cpu"
    job.update_maker_kwargs({"_set": {"top_k": 2}}, dict_mod=True, class_filter=OrderingMaker)
    assert job.maker.top_k == 2


@pytest.mark.parametrize(
    "kwargs",
    [{"top_k": 0}, {"max_orderings": 0}, {"temperature": -1.0}, {"enumerator": "magic"}],
)
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(IonflowInputError):
        OrderingMaker(model=None, **kwargs)


def test_run_with_emt_ranks_by_relaxed_energy():
    maker = OrderingMaker(
        model=EMT,
        top_k=4,
        supercell=[2, 1, 1],
        oxidation_states={"Cu": 0, "Au": 0},
        max_steps=30,
        fmax=0.1,
        worker="cpu",
    )
    job = maker.make(_cu3au_disordered())
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    run_locally(job, store=store, ensure_success=True, log=False)
    doc = OrderingDoc(**store.get_output(job.uuid, load=True))
    assert doc.energy_source == "mlip"
    assert doc.n_atoms == 8
    assert doc.supercell_size == 2
    assert 1 <= len(doc.orderings) <= 4
    assert doc.n_distinct is not None
    assert len(doc.orderings) == min(4, doc.n_enumerated)
    energies = [o.energy_per_atom_eV for o in doc.orderings]
    assert energies == sorted(energies)
    assert doc.lowest.relative_energy_meV_atom == 0.0
    assert np.isclose(sum(o.weight for o in doc.orderings), 1.0)
    assert doc.lowest.weight == max(o.weight for o in doc.orderings)
    for o in doc.orderings:
        assert o.structure.is_ordered
        assert o.structure.composition.reduced_formula == "Cu3Au"
        assert o.energy_eV is not None
        assert o.n_steps is not None
