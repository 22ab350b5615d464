"""Hop screen from Python: build the flow, run it on the default store, query the result.

    python workflows/screen_hops.py workflows/structures/Li2O.cif --species Li --model chgnet

On a cluster, submit the same flow to FireWorks instead of running it locally::

    from jobflow.managers.fireworks import flow_to_workflow
    from fireworks import LaunchPad
    wf = flow_to_workflow(flow)          # store=None: each worker uses its own JobStore
    LaunchPad.auto_load().add_wf(wf)

NEB jobs carry ``_category: gpu`` and the enumeration/collection jobs ``_category: cpu`` in
their Firework spec, so GPU and CPU workers pull only the jobs meant for them.
"""

from __future__ import annotations

import argparse

from jobflow import run_locally

from ionflow.core.io import read_structure
from ionflow.core.neb.summary import format_barrier_table
from ionflow.flows import ScreenHopsFlow
from ionflow.jobs import HopEnumerationMaker, MLIPNebMaker
from ionflow.store import get_store, output_as_dict


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("structure")
    p.add_argument("--species", default="Li")
    p.add_argument("--model", default="chgnet")
    p.add_argument("--supercell-min", type=float, default=10.0)
    args = p.parse_args()

    structure = read_structure(args.structure)
    flow = ScreenHopsFlow(
        enumeration_maker=HopEnumerationMaker(
            species=args.species, supercell_min_length=args.supercell_min
        ),
        neb_maker=MLIPNebMaker(model=args.model, neb_settings={"fmax": 0.05}),
    ).make(structure)
    store = get_store()
    run_locally(flow, store=store, log=False)
    doc = output_as_dict(store, flow.output.uuid)
    print(format_barrier_table(doc["hops"]))
    print("percolation barriers (eV):", doc["percolation_barriers_eV"])

    # the same document, queried later from any process:
    store.connect()
    latest = store.query_one(
        {"output.reduced_formula": doc["reduced_formula"], "output.n_hops": {"$exists": True}},
        sort={"completed_at": -1},
    )
    print("stored screen uuid:", latest["uuid"])


if __name__ == "__main__":
    main()
