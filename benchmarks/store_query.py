"""ionflow.query and ``ionflow results`` against the number of stored jobs, with the write cost.

Fills a fresh store in a temporary directory with the job mix of real campaigns: per hop screen
one enumeration, nine NEB and one summary document (percolation barriers drawn per screen); per
ten screens one conductivity flow (six MD runs, two diffusion analyses, one Arrhenius result);
now and then a fine-tuned model. At each size it times:

* ``write``: storing one job output the way jobflow does (one ``update`` keyed on uuid+index),
  mean over ``--sample`` single writes at that size (the bulk of the fill is written in batches
  to save time; that is not what is timed);
* every :mod:`ionflow.query` call, ``ionflow results --json`` (the CLI, newest 20 screens) and
  one output by uuid, mean over ``--repeats``.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/store_query.py                 # 1,000 and 10,000 jobs
    python benchmarks/store_query.py --jobs 1000 3000 --backend memory  # mongomock, for scale

The store used by the package is not touched.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import sys
import tempfile
import time
import uuid as uuidlib
from datetime import datetime, timedelta, timezone

NEB_PER_SCREEN = 9
ELEMENTS = ["O", "S", "P", "Cl", "Ge", "Si", "Fe", "Mn", "Ti", "Zr", "La", "N", "B", "Al"]
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Campaign:
    """Documents in the shape ionflow stores them (outputs only what queries read, plus bulk)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.n_written = 0
        self.last_screen_formula = ""
        from pymatgen.core import Composition

        self.formulas = []
        for _ in range(200):
            a, x, b = self.rng.randint(1, 7), self.rng.choice(ELEMENTS[4:]), self.rng.randint(1, 3)
            y, c = self.rng.choice([None, *ELEMENTS[:4]]), self.rng.randint(2, 8)
            formula = f"Li{a}{x}{b}" + (f"{y}{c}" if y else "")
            self.formulas.append(Composition(formula).reduced_formula)

    def _job(self, output: dict | None, name: str, hosts: list[str]) -> dict:
        self.n_written += 1
        return {
            "uuid": str(uuidlib.uuid4()),
            "index": 1,
            "output": output,
            "completed_at": (START + timedelta(seconds=self.n_written)).isoformat(),
            "metadata": {"ionflow_fingerprint": uuidlib.uuid4().hex},
            "hosts": hosts,
            "name": name,
        }

    def _hop(self, i: int) -> dict:
        fwd, rev = self.rng.uniform(0.1, 1.2), self.rng.uniform(0.1, 1.2)
        return {
            "hop_id": f"Li{i // 3 + 1}(4h)->Li{i % 3 + 1}(2c)", "initial": "Li1 (4h)",
            "final": "Li2 (2c)", "length_A": self.rng.uniform(2.5, 4.0), "close_approach": False,
            "barrier_forward_eV": fwd, "barrier_reverse_eV": rev, "converged": True,
            "failure_reason": None, "force_calls": self.rng.randint(40, 400),
            "wall_time_s": self.rng.uniform(30, 600),
        }  # fmt: skip

    def screen(self) -> list[dict]:
        formula = self.rng.choice(self.formulas)
        flow = [str(uuidlib.uuid4())]
        structure = {
            "lattice": {"matrix": [[5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0]]},
            "sites": [
                {"species": [{"element": "O", "occu": 1}], "abc": [self.rng.random()] * 3}
                for _ in range(30)
            ],
        }
        docs = [self._job({"formula": formula, "structure": structure, "hops": []}, "enum", flow)]
        hops = [self._hop(i) for i in range(NEB_PER_SCREEN)]
        for hop in hops:
            neb = {"formula": formula, "model": "chgnet", "hop_id": hop["hop_id"],
                   "barrier_forward_eV": hop["barrier_forward_eV"],
                   "barrier_reverse_eV": hop["barrier_reverse_eV"], "converged": True,
                   "energies_eV": [self.rng.uniform(-500, -499) for _ in range(9)],
                   "images": {"@class": "JobStoreReference", "blob_uuid": str(uuidlib.uuid4())}}  # fmt: skip
            docs.append(self._job(neb, "mlip neb", flow))
        barriers = sorted(max(h["barrier_forward_eV"], h["barrier_reverse_eV"]) for h in hops)
        perc = {"1D": barriers[0], "2D": barriers[2], "3D": barriers[4]}
        self.last_screen_formula = formula
        summary = {
            "formula": formula, "reduced_formula": formula, "species": "Li", "model": "chgnet",
            "structure": structure, "sites": [], "hops": hops, "lowest_barrier_eV": barriers[0],
            "lowest_barrier_hop": hops[0]["hop_id"], "percolation_barriers_eV": perc,
            "n_hops": len(hops), "n_converged": len(hops), "n_failed": 0, "warnings": [],
        }  # fmt: skip
        docs.append(self._job(summary, "collect hop screen", flow))
        return docs

    def conductivity(self) -> list[dict]:
        formula = self.rng.choice(self.formulas)
        flow = [str(uuidlib.uuid4())]
        docs = [
            self._job(
                {
                    "formula": formula,
                    "model": "chgnet",
                    "temperature_K": t,
                    "seed": s,
                    "completed": True,
                    "n_frames": 2000,
                },
                "mlip md",
                flow,
            )
            for t in (600.0, 800.0)
            for s in range(3)
        ]
        docs += [
            self._job({"temperature_K": t, "n_runs": 3}, "diffusion", flow) for t in (600, 800)
        ]
        sigma = 10 ** self.rng.uniform(-3, 1)
        arr = {
            "formula": formula, "mobile_species": "Li", "temperatures_K": [600.0, 800.0],
            "Ea_eV": self.rng.uniform(0.15, 0.6), "Ea_err_eV": 0.02, "D0_cm2_s": 1e-3,
            "T_extrapolate_K": 300.0, "D_extrapolated_cm2_s": 1e-8,
            "D_extrapolated_interval_cm2_s": [5e-9, 2e-8], "sigma_mS_cm": sigma,
            "sigma_interval_mS_cm": [sigma / 2, sigma * 2], "confidence": 0.95, "warnings": [],
        }  # fmt: skip
        docs.append(self._job(arr, "arrhenius", flow))
        return docs

    def model(self) -> list[dict]:
        out = {"backend": "chgnet", "model_spec": f"chgnet:/m/{self.n_written}.pth.tar",
               "checkpoint": f"/m/{self.n_written}.pth.tar", "base_model": "chgnet",
               "best_epoch": 5, "epochs_run": 9, "stopped_early": True, "dataset_version": "x",
               "metrics": {"test": {"energy_mae": 0.01, "force_mae": 0.05}}}  # fmt: skip
        return [self._job(out, "fine-tune", [])]

    def next_batch(self) -> list[dict]:
        r = self.rng.random()
        if r < 0.1:
            return self.conductivity()
        if r < 0.11:
            return self.model()
        return self.screen()


def _fill(store, docs: list[dict]) -> None:
    """Bulk insert (not timed): montydb's keyed update scans once per document."""
    collection = getattr(store.docs_store, "_collection", None)
    if collection is not None and hasattr(collection, "insert_many"):
        collection.insert_many([dict(d) for d in docs])
    else:
        store.docs_store.update(docs, key=["uuid", "index"])


def _timed(fn, repeats: int) -> tuple[float, object]:
    t0 = time.perf_counter()
    for _ in range(repeats):
        result = fn()
    return 1e3 * (time.perf_counter() - t0) / repeats, result


def _queries(store, formula: str, repeats: int) -> list[tuple[str, float, int]]:
    from ionflow import query
    from ionflow.cli.main import main as cli

    def results_cli() -> int:
        with contextlib.redirect_stdout(io.StringIO()) as out:
            assert cli(["-q", "results", "--json"]) == 0
        return out.getvalue().count('"uuid"')

    calls = [
        ("query.screens()", lambda: len(query.screens(store))),
        ("query.screens(formula)", lambda: len(query.screens(store, formula=formula))),
        ("query.screens(elements=[Li,S])", lambda: len(query.screens(store, elements=["Li", "S"]))),
        ("query.funnel() 3D<=0.5 eV", lambda: len(query.funnel(store))),
        ("query.hops(max_barrier=0.3)", lambda: len(query.hops(store, max_barrier=0.3))),
        ("query.conductivity()", lambda: len(query.conductivity(store))),
        ("query.models()", lambda: len(query.models(store))),
        ("ionflow results --json (CLI)", results_cli),
    ]
    rows = []
    for label, fn in calls:
        fn()  # warm-up: imports (pandas, pymatgen) and caches are not the query's cost
        ms, n = _timed(fn, repeats)
        rows.append((label, ms, int(n)))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--jobs", type=int, nargs="+", default=[1000, 10000], help="stored job counts")
    p.add_argument("--sample", type=int, default=50, help="single writes timed at each size")
    p.add_argument("--repeats", type=int, default=3, help="repeats of each query")
    p.add_argument("--backend", choices=["embedded", "memory"], default="embedded")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ionflow_store_query_") as tmp:
        os.environ.update(IONFLOW_STORE_DIR=tmp, IONFLOW_USE_JOBFLOW_STORE="never")
        from jobflow import JobStore
        from maggma.stores import MemoryStore

        from ionflow.store import embedded_store

        if args.backend == "embedded":
            store = embedded_store(tmp)
        else:
            store = JobStore(MemoryStore("docs"), additional_stores={"data": MemoryStore("d")})
        store.connect()
        campaign = Campaign(args.seed)
        print(f"{args.backend} store in {tmp}", flush=True)
        n = 0
        for target in sorted(args.jobs):
            t0 = time.perf_counter()
            while n < target - args.sample:
                batch = []
                while len(batch) < 500 and n + len(batch) < target - args.sample:
                    batch += campaign.next_batch()
                _fill(store, batch)
                n += len(batch)
            fill_s = time.perf_counter() - t0
            formula = campaign.last_screen_formula  # of a stored screen
            single = [d for _ in range(args.sample) for d in campaign.next_batch()][: args.sample]
            t0 = time.perf_counter()
            for doc in single:
                store.docs_store.update(doc, key=["uuid", "index"])
            write_ms = 1e3 * (time.perf_counter() - t0) / len(single)
            n += len(single)
            uuid = single[-1]["uuid"]
            get_ms, _ = _timed(lambda u=uuid: store.query_one({"uuid": u}), args.repeats)
            print(f"\n{n} jobs (bulk fill {fill_s:.1f} s); write one job: {write_ms:.1f} ms; "
                  f"one output by uuid: {get_ms:.1f} ms", flush=True)  # fmt: skip
            print(f"{'query':<34}{'ms':>10}{'rows':>8}")
            for label, ms, rows in _queries(store, formula, args.repeats):
                print(f"{label:<34}{ms:>10.1f}{rows:>8}", flush=True)
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
