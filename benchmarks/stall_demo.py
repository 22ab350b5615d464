"""Stall handling of the NEB band optimiser, on the hop that stalled: Li4P2O7 (devi2025).

The SevenNet band of ``devi_train_275_Li4P2O7`` (207 atoms, 14 images) took about 290 ODE12r
steps and 4,061 force calls; its residual hovered at 0.057-0.09 eV/Å for ~160 steps (README,
barrier accuracy). That band costs hours on a shared CPU, so this demo runs the *same hop*
in a smaller supercell of the same crystal: the 208-atom cell of the record (the initial
state plus the Li on the vacant end site) is reduced to its translation lattice and the
fewest-atom supercell whose image distance is at least ``--min-distance`` (8 Å: 78 atoms,
9.8 Å between images) is built around the record's start and end positions
(:func:`ionflow.core.hops.choose_supercell`, :func:`ionflow.core.hops.build_vacancy_endpoints`).

One run is one band; run it twice, without stall handling and with it::

    python benchmarks/stall_demo.py --label before --stall-window 0
    python benchmarks/stall_demo.py --label after            # stall_window 40, FIRE fallback

Each run checkpoints its band (``benchmarks/runs/checkpoints/``, resumed when rerun) and writes
``benchmarks/runs/stall_li4p2o7_<label>.json``: force calls, steps, barrier, the switches and
the residual of every step.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

HERE = Path(__file__).resolve().parent
RECORD = "devi_train_275_Li4P2O7"
DATA = (
    Path(os.environ.get("IONFLOW_SHARED_DIR", HERE.parent.parent / "shared"))
    / "benchmarks"
    / "devi2025_li_tm_free_hops.json"
)


def hop_endpoints(min_distance: float):
    """The record's hop in the smallest supercell with images >= ``min_distance`` apart."""
    from pymatgen.core import Structure

    from ionflow.core.hops import build_vacancy_endpoints, choose_supercell

    data = json.loads(DATA.read_text())
    records = data["records"] if isinstance(data, dict) else data
    (rec,) = [r for r in records if r["id"] == RECORD]
    full = Structure.from_dict(rec["structure_ini"])
    hop = rec["hop"]
    full.append("Li", hop["end_frac"])  # the vacant end site: the perfect 208-atom crystal
    choice = choose_supercell(full, min_distance, "distance", translation_tol=1e-2)
    start = np.asarray(hop["start_frac"], dtype=float)
    end = np.asarray(hop["end_frac"], dtype=float)
    length = float(np.linalg.norm((end - start) @ full.lattice.matrix))
    ns = SimpleNamespace(hop_id=RECORD, start_frac=start, end_frac=end, length=length)
    ends = build_vacancy_endpoints(full, ns, choice=choice)
    return ends, choice, rec


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--label", required=True, help="name of this run (output file suffix)")
    p.add_argument("--model", default="chgnet")
    p.add_argument("--min-distance", type=float, default=8.0, help="image distance, Å")
    p.add_argument("--n-images", type=int, default=7)
    p.add_argument("--max-gap", type=float, default=1.5)
    p.add_argument("--max-steps", type=int, default=400)
    p.add_argument("--stall-window", type=int, default=40)
    p.add_argument("--stall-improvement", type=float, default=0.1)
    p.add_argument("--stall-fallback", default="fire")
    p.add_argument("--out-dir", type=Path, default=HERE / "runs")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")

    from ionflow.core.neb import NebSettings, run_neb
    from ionflow.mlip import get_evaluator

    ends, choice, rec = hop_endpoints(args.min_distance)
    a, b = ends.to_ase()
    settings = NebSettings(
        max_steps=args.max_steps,
        stall_window=args.stall_window,
        stall_improvement=args.stall_improvement,
        stall_fallback=args.stall_fallback,
    )
    out = args.out_dir / f"stall_li4p2o7_{args.label}.json"
    ckpt = args.out_dir / "checkpoints" / f"stall_li4p2o7_{args.label}.npz"
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    trace_file = out.with_suffix(".trace.txt")
    print(
        f"{RECORD}: {choice.n_atoms - 1} atoms (record: {len(rec['structure_ini']['sites'])}), "
        f"image distance {choice.min_image_distance:.2f} Å, hop {ends.hop_vector @ ends.hop_vector:.0f}"
        f" Å² ; model {args.model}; stall_window {args.stall_window}, fallback "
        f"{args.stall_fallback}",
        flush=True,
    )

    def report(step: int, residual: float) -> None:
        with trace_file.open("a") as fh:
            fh.write(f"{step} {residual:.5f}\n")
        if step % 10 == 0:
            print(f"  step {step}: residual {residual:.4f} eV/Å", flush=True)

    evaluator = get_evaluator(args.model)
    t0 = time.perf_counter()
    res = run_neb(
        a,
        b,
        evaluator,
        settings,
        n_images=args.n_images,
        max_gap=args.max_gap,
        moving_index=0,
        unwrap=False,
        progress=report,
        checkpoint=ckpt,
        checkpoint_every=5,
    )
    trace = [
        [int(s), float(r)]
        for s, r in (line.split() for line in trace_file.read_text().splitlines())
    ]
    doc = {
        "record": RECORD,
        "label": args.label,
        "model": args.model,
        "n_atoms": len(a),
        "supercell": choice.as_dict(),
        "n_images": len(res.energies),
        "settings": res.settings,
        "converged": res.converged,
        "failure_reason": res.failure_reason,
        "n_steps": res.n_steps,
        "force_calls": res.force_calls,
        "band_force_calls": res.band_force_calls,
        "endpoint_force_calls": res.endpoint_force_calls,
        "barrier_forward_eV": res.barrier_forward,
        "barrier_reverse_eV": res.barrier_reverse,
        "max_force_eV_A": res.max_force,
        "optimizer_switches": res.optimizer_switches,
        "wall_time_s": res.wall_time_s,
        "wall_time_this_process_s": time.perf_counter() - t0,
        "residual_trace": trace,
    }
    out.write_text(json.dumps(doc, indent=1))
    print(
        f"{args.label}: converged={res.converged} steps {res.n_steps}, force calls "
        f"{res.force_calls} (band {res.band_force_calls}), barrier {res.barrier_forward:.3f} eV, "
        f"switches {res.optimizer_switches} -> {out}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
