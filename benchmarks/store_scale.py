"""How the embedded store (maggma MontyStore on montydb/sqlite) scales with the number of jobs.

DESIGN.md section 4 warns that montydb has no real indexes, so every query scans. This fills a
fresh store in a temporary directory the way jobflow does (one ``update`` per job output, keyed
on uuid+index), with the job mix of real hop screens (per screen: one enumeration document,
nine NEB documents and one screen summary), and times at each size:

* ``write``: storing one more job output (mean over the batch just written),
* ``results``: the query of ``ionflow results --formula F`` (latest 20 screens of one formula),
* ``get_output``: one job's output by uuid, as a flow's later job or a user does.

Usage::

    python benchmarks/store_scale.py                 # 330, 1100, 3300 jobs
    python benchmarks/store_scale.py --screens 30 100 300 1000

The store used by the package is not touched.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid as uuidlib
from datetime import datetime, timezone

N_FORMULAS = 25
NEB_PER_SCREEN = 9


def _screen_doc(rng: random.Random, formula: str) -> dict:
    rows = [
        {
            "hop_id": f"Li{i % 3 + 1}(4h)->Li{j % 3 + 1}(2c)",
            "length_A": rng.uniform(2.5, 4.0),
            "barrier_forward_eV": rng.uniform(0.1, 1.0),
            "barrier_reverse_eV": rng.uniform(0.1, 1.0),
            "converged": True,
            "failure_reason": None,
            "force_calls": rng.randint(40, 400),
            "wall_time_s": rng.uniform(30, 600),
        }
        for i in range(3)
        for j in range(3)
    ]
    return {
        "formula": formula,
        "reduced_formula": formula,
        "species": "Li",
        "model": "chgnet",
        "n_hops": len(rows),
        "hops": rows,
        "lowest_barrier_eV": min(r["barrier_forward_eV"] for r in rows),
        "percolation_barriers_eV": {"1D": 0.3, "2D": 0.5, "3D": 0.9},
        # a ~30-atom unit cell, as stored with each screen
        "structure": {
            "lattice": {"matrix": [[5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0]]},
            "sites": [
                {"species": [{"element": "O", "occu": 1}], "abc": [rng.random() for _ in range(3)]}
                for _ in range(30)
            ],
        },
    }


def _neb_doc(rng: random.Random, formula: str) -> dict:
    return {
        "formula": formula,
        "hop_id": "Li1(4h)->Li2(2c)",
        "barrier_forward_eV": rng.uniform(0.1, 1.0),
        "barrier_reverse_eV": rng.uniform(0.1, 1.0),
        "energies": [rng.uniform(-500, -499) for _ in range(9)],
        "converged": True,
        "force_calls": rng.randint(40, 400),
        # image positions live in the data store; the document keeps a reference
        "images": {"@class": "JobStoreReference", "blob_uuid": str(uuidlib.uuid4())},
    }


def _job(output: dict) -> dict:
    return {
        "uuid": str(uuidlib.uuid4()),
        "index": 1,
        "output": output,
        "completed_at": datetime.now(timezone.utc).isoformat(),
        "metadata": {},
        "hosts": [],
        "name": "job",
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--screens", type=int, nargs="+", default=[30, 100, 300], help="cumulative screen counts"
    )
    p.add_argument("--queries", type=int, default=5, help="repeats of each query")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if sorted(args.screens) != args.screens or args.screens[0] < 1:
        p.error("--screens must be increasing positive counts")

    from ionflow.store import embedded_store

    rng = random.Random(args.seed)
    formulas = [f"Li{k}X{k + 1}" for k in range(1, N_FORMULAS + 1)]
    header = (
        f"{'screens':>8}{'jobs':>7}{'write/ms':>10}{'results/ms':>12}{'hits':>6}"
        f"{'get_output/ms':>15}"
    )
    with tempfile.TemporaryDirectory(prefix="ionflow_store_scale_") as tmp:
        store = embedded_store(tmp)
        store.connect()
        print(f"embedded store in {tmp}; {N_FORMULAS} formulas, {NEB_PER_SCREEN} NEB jobs/screen")
        print(header)
        print("-" * len(header))
        n_screens = 0
        n_jobs = 0
        uuids: list[str] = []
        for target in args.screens:
            t0 = time.perf_counter()
            written = 0
            while n_screens < target:
                formula = formulas[n_screens % N_FORMULAS]
                batch = [_job({"formula": formula, "n_sites": 3})]
                batch += [_job(_neb_doc(rng, formula)) for _ in range(NEB_PER_SCREEN)]
                batch.append(_job(_screen_doc(rng, formula)))
                for doc in batch:
                    store.docs_store.update(doc, key=["uuid", "index"])
                    uuids.append(doc["uuid"])
                written += len(batch)
                n_screens += 1
            n_jobs += written
            write_ms = 1e3 * (time.perf_counter() - t0) / written

            query = {"output.n_hops": {"$exists": True}, "output.reduced_formula": formulas[0]}
            t0 = time.perf_counter()
            for _ in range(args.queries):
                hits = list(
                    store.query(
                        query,
                        properties=["uuid", "completed_at", "output"],
                        sort={"completed_at": -1},
                        limit=20,
                    )
                )
            results_ms = 1e3 * (time.perf_counter() - t0) / args.queries

            t0 = time.perf_counter()
            for _ in range(args.queries):
                doc = store.query_one({"uuid": rng.choice(uuids)}, properties=["output"])
                assert doc is not None
            get_ms = 1e3 * (time.perf_counter() - t0) / args.queries
            print(
                f"{n_screens:>8}{n_jobs:>7}{write_ms:>10.1f}{results_ms:>12.1f}{len(hits):>6}"
                f"{get_ms:>15.1f}",
                flush=True,
            )
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
