"""ScreenHopsFlow on a partially occupied input: ordered first, its lowest ordering screened."""

from __future__ import annotations

from jobflow import JobStore, run_locally
from maggma.stores import MemoryStore
from pymatgen.core import Lattice, Structure

from ionflow.flows import ScreenHopsFlow
from ionflow.jobs import HopEnumerationMaker, MLIPNebMaker
from ionflow.jobs.ordering import OrderingMaker
from ionflow.store import output_as_dict


def test_disordered_input_is_ordered_then_screened(emt_spec):
    # conventional fcc Cu with two of its four sites half Al: orderings are Cu3Al cells
    s = Structure.from_spacegroup("Fm-3m", Lattice.cubic(3.61), ["Cu"], [[0, 0, 0]])
    s.replace(2, {"Cu": 0.5, "Al": 0.5})
    s.replace(3, {"Cu": 0.5, "Al": 0.5})
    assert not s.is_ordered
    flow = ScreenHopsFlow(
        enumeration_maker=HopEnumerationMaker(species="Cu", supercell_min_length=7.0),
        neb_maker=MLIPNebMaker(model=emt_spec, n_images=5, neb_settings={"fmax": 0.1}),
        ordering_maker=OrderingMaker(model=emt_spec, oxidation_states={"Cu": 0, "Al": 0}, top_k=2),
    ).make(s)
    assert [j.name for j in flow.jobs][:2] == ["ordering", "lowest ordering"]
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    run_locally(flow, store=store, ensure_success=True, log=False)
    doc = output_as_dict(store, flow.output.uuid)
    ordering = output_as_dict(store, flow.jobs[0].uuid)
    lowest = Structure.from_dict(ordering["orderings"][0]["structure"])
    assert lowest.is_ordered
    # the screen ran on the lowest ordering (Cu3Al per 4 sites), not on the disordered input
    screened = Structure.from_dict(doc["structure"])
    assert screened.composition.reduced_formula == "AlCu3"
    assert screened.matches(lowest)
    assert doc["n_hops"] >= 1
    assert doc["n_converged"] == doc["n_hops"]
    assert doc["supercell"]["n_atoms"] >= 8
    assert all(h["barrier_forward_eV"] > 0.1 for h in doc["hops"])
