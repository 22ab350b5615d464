"""Barrier accuracy of ionflow's MLIP-NEB against literature DFT barriers.

Runs the logic of ``ionflow neb`` (fixed-cell endpoint relaxation, IDPP path with images added
where neighbours are > 1 Å apart, climbing-image NEB to fmax 0.05 eV/Å) on records of
``../shared/benchmarks/devi2025_li_tm_free_hops.json`` (48 Li vacancy hops in transition-metal
free conductors; the moving Li is atom 0 in both endpoints) and prints MAE, RMSE and the
per-hop table.

    python benchmarks/barrier_accuracy.py --model chgnet --limit 10
    python benchmarks/barrier_accuracy.py --model sevennet --limit 10 --filter Li3PS4

Record selection (no tuning to individual records): records carrying a ``flags`` entry in the
data file are skipped unless ``--include-flagged``; ``--order diverse`` (default) takes the
records round-robin over compositions in file order, so ``--limit 10`` spans several
chemistries; ``--order file`` takes them in file order. Results are written as JSON to
``benchmarks/runs/`` after every record; ``--resume`` keeps the records already there. Each
band is checkpointed to ``benchmarks/runs/checkpoints/`` every ``--checkpoint-every`` steps, so
a record killed part-way (a 200-atom hop with SevenNet takes hours on 2 CPU cores) continues
where it stopped on the next run.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CLEARANCE_WARN = 1.0  # Å: a straight hop segment closer than this to another atom is flagged
DEFAULT_DATA = (
    Path(os.environ.get("IONFLOW_SHARED_DIR", HERE.parent.parent / "shared"))
    / "benchmarks"
    / "devi2025_li_tm_free_hops.json"
)


def select_records(records, limit, order, name_filter, include_flagged):
    pool = [r for r in records if include_flagged or not r.get("flags")]
    if name_filter:
        pool = [r for r in pool if name_filter.lower() in r["id"].lower()]
    if order == "diverse":
        groups: OrderedDict[str, list] = OrderedDict()
        for r in pool:
            groups.setdefault(r["reduced_formula_perfect"], []).append(r)
        ordered = []
        while any(groups.values()):
            for key in list(groups):
                if groups[key]:
                    ordered.append(groups[key].pop(0))
        pool = ordered
    return pool[:limit] if limit else pool


def endpoints_from_record(record):
    from pymatgen.core import Structure
    from pymatgen.io.ase import AseAtomsAdaptor

    ini = Structure.from_dict(record["structure_ini"])
    fin = Structure.from_dict(record["structure_fin"])
    a = AseAtomsAdaptor.get_atoms(ini)
    b = AseAtomsAdaptor.get_atoms(fin)
    a.positions = ini.cart_coords
    b.positions = fin.cart_coords
    # the source gives the hop unwrapped (the periodic image actually used): honour it
    i = record["hop"]["migrating_index"]
    a.positions[i] = ini.lattice.get_cartesian_coords(record["hop"]["start_frac"])
    b.positions[i] = ini.lattice.get_cartesian_coords(record["hop"]["end_frac"])
    return a, b, i


def straight_path_clearance(record) -> float:
    """Closest approach (Å) of the record's straight start -> end segment to any other atom.

    An elementary vacancy hop keeps well clear of other ions (typically > 1.5 Å); a segment that
    runs through an anion or another Li means the tabulated "hop" is really a longer path
    (through intermediate sites, or a concerted move), which a single-ion NEB between these two
    endpoints does not describe.
    """
    from pymatgen.core import Structure

    from ionflow.core.hops.enumerate import _min_ion_distance

    ini = Structure.from_dict(record["structure_ini"])
    hop = record["hop"]
    return _min_ion_distance(
        ini,
        hop["migrating_index"],
        -1,  # the end site is vacant in structure_ini: no target atom to leave out
        (0, 0, 0),
        np.asarray(hop["start_frac"], dtype=float),
        np.asarray(hop["end_frac"], dtype=float),
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", default="chgnet", help="model spec (chgnet, sevennet, ...)")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--limit", type=int, default=10, help="number of records (0: all)")
    p.add_argument("--filter", default=None, help="substring of the record id")
    p.add_argument("--order", choices=["diverse", "file"], default="diverse")
    p.add_argument("--include-flagged", action="store_true")
    p.add_argument(
        "--skip", action="append", default=[], help="record id to leave out (repeatable)"
    )
    p.add_argument("--fmax", type=float, default=0.05)
    p.add_argument("--max-steps", type=int, default=500)
    p.add_argument("--n-images", type=int, default=7)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument(
        "--progress-every",
        type=int,
        default=25,
        metavar="N",
        help="print the band step and residual to stderr every N steps (0: quiet)",
    )
    p.add_argument("--out", type=Path, default=None, help="JSON results file")
    p.add_argument(
        "--checkpoint-dir",
        type=Path,
        default=HERE / "runs" / "checkpoints",
        help="band checkpoints of unfinished records (a killed run continues from them; "
        "a record's checkpoint is removed once it converges)",
    )
    p.add_argument(
        "--checkpoint-every", type=int, default=5, metavar="N", help="band steps between saves"
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="keep the records already in the results file and run only the others",
    )
    args = p.parse_args(argv)

    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.WARNING)
    if not args.data.is_file():
        print(f"SKIP: benchmark data not found at {args.data} (set IONFLOW_SHARED_DIR)")
        return 0
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    from ionflow.core.neb.engine import NebSettings, run_neb
    from ionflow.mlip import get_evaluator

    records = json.loads(args.data.read_text())
    chosen = select_records(records, args.limit, args.order, args.filter, args.include_flagged)
    if args.skip:
        print(f"skipping {', '.join(args.skip)} on request")
        chosen = [r for r in chosen if r["id"] not in set(args.skip)]
    print(f"{len(chosen)} record(s) of {len(records)}; model {args.model}; fmax {args.fmax}")
    out = args.out or HERE / "runs" / f"barrier_accuracy_{args.model.replace('/', '_')}.json"
    done: dict[str, dict] = {}
    if args.resume and out.is_file():
        previous = json.loads(out.read_text())
        if previous.get("fmax") == args.fmax:
            done = {r["id"]: r for r in previous.get("records", [])}
            print(f"resuming: {len(done)} record(s) already in {out}")
    evaluator = get_evaluator(args.model)
    settings = NebSettings(fmax=args.fmax, max_steps=args.max_steps)

    rows = []
    header = (
        f"{'record':<32}{'atoms':>6}{'len/Å':>7}{'clear':>6}{'DFT':>7}{'fwd':>7}{'rev':>7}"
        f"{'err':>7}{'imgs':>5}{'calls':>6}{'time/s':>8}  status"
    )
    print(header)
    print("-" * len(header))
    t_all = time.perf_counter()
    for rec in chosen:
        clearance = straight_path_clearance(rec)
        if rec["id"] in done:
            r = done[rec["id"]]
            r["straight_path_clearance_A"] = clearance
            rows.append(r)
            print(
                f"{r['id']:<32}{r['n_atoms']:>6}{r['hop_length_A']:>7.2f}{clearance:>6.2f}"
                f"{r['dft_barrier_eV']:>7.3f}"
                f"{r['barrier_forward_eV']:>7.3f}{r['barrier_reverse_eV']:>7.3f}"
                f"{r['error_eV']:>+7.3f}{r['n_images']:>5}{r['force_calls']:>6}"
                f"{r['wall_time_s']:>8.0f}  (from {out.name})"
            )
            continue
        a, b, moving = endpoints_from_record(rec)
        ckpt = args.checkpoint_dir / f"{args.model.replace('/', '_')}_{rec['id']}.npz"
        if ckpt.is_file():
            print(f"  {rec['id']}: continuing from {ckpt}", file=sys.stderr, flush=True)
        res = run_neb(
            a,
            b,
            evaluator,
            settings,
            n_images=args.n_images,
            moving_index=moving,
            unwrap=False,
            progress=_step_printer(rec["id"], args.progress_every),
            checkpoint=ckpt,
            checkpoint_every=args.checkpoint_every,
        )
        if res.converged:
            ckpt.unlink(missing_ok=True)
        dft = rec["dft_barrier_eV"]
        fwd = res.barrier_forward
        err = fwd - dft if math.isfinite(fwd) else float("nan")
        status = "ok" if res.converged else f"FAILED: {res.failure_reason}"
        rows.append(
            {
                "id": rec["id"],
                "n_atoms": len(a),
                "hop_length_A": rec["hop"]["hop_length_A"],
                "straight_path_clearance_A": clearance,
                "xc": rec["tabulated"]["XC"],
                "dft_barrier_eV": dft,
                "barrier_forward_eV": fwd,
                "barrier_reverse_eV": res.barrier_reverse,
                "error_eV": err,
                "converged": res.converged,
                "failure_reason": res.failure_reason,
                "n_images": len(res.energies),
                "force_calls": res.force_calls,
                "wall_time_s": res.wall_time_s,
            }
        )
        print(
            f"{rec['id']:<32}{len(a):>6}{rec['hop']['hop_length_A']:>7.2f}{clearance:>6.2f}"
            f"{dft:>7.3f}"
            f"{fwd:>7.3f}{res.barrier_reverse:>7.3f}{err:>+7.3f}{len(res.energies):>5}"
            f"{res.force_calls:>6}{res.wall_time_s:>8.0f}  {status}",
            flush=True,
        )
        _write(out, args, rows, partial=True)

    summary = _write(out, args, rows, partial=False)
    ok = [r for r in rows if r["converged"] and math.isfinite(r["error_eV"])]
    errs = np.array([r["error_eV"] for r in ok])
    print("-" * len(header))
    if len(errs):
        print(
            f"{args.model}: MAE {summary['mae_eV']:.3f} eV, RMSE {summary['rmse_eV']:.3f} eV, "
            f"mean signed error {summary['mean_signed_error_eV']:+.3f} eV over {len(ok)} "
            f"converged hop(s) of {len(rows)}; {time.perf_counter() - t_all:.0f} s"
        )
    all_errs = np.array([r["error_eV"] for r in rows if math.isfinite(r["error_eV"])])
    if len(all_errs) != len(errs):
        print(
            f"including unconverged hops: MAE {np.mean(np.abs(all_errs)):.3f} eV "
            f"over {len(all_errs)} hop(s)"
        )
    tight = [r for r in rows if r.get("straight_path_clearance_A", np.inf) < CLEARANCE_WARN]
    if tight:
        print(
            f"note: the straight path of {', '.join(r['id'] for r in tight)} passes within "
            f"{CLEARANCE_WARN} Å of another atom ('clear' column): not an elementary vacancy "
            "hop, so its literature barrier may belong to a different path"
        )
        ok_clear = [r for r in ok if r not in tight]
        if ok_clear:
            e = np.array([r["error_eV"] for r in ok_clear])
            print(
                f"without them: MAE {np.mean(np.abs(e)):.3f} eV, RMSE "
                f"{np.sqrt(np.mean(e**2)):.3f} eV over {len(ok_clear)} converged hop(s)"
            )
    print(f"results written to {out}")
    return 0


def _step_printer(record_id: str, every: int):
    """A ``run_neb`` progress callback printing every ``every`` band steps (None when 0)."""
    if every <= 0:
        return None
    t0 = time.perf_counter()

    def report(step: int, residual: float) -> None:
        if step % every == 0:
            print(
                f"  {record_id}: band step {step}, residual {residual:.3f} eV/Å, "
                f"{time.perf_counter() - t0:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    return report


def _write(out: Path, args, rows: list[dict], partial: bool) -> dict:
    ok = [r for r in rows if r["converged"] and math.isfinite(r["error_eV"])]
    errs = np.array([r["error_eV"] for r in ok])
    summary = {
        "model": args.model,
        "n_records": len(rows),
        "n_converged": len(ok),
        "mae_eV": float(np.mean(np.abs(errs))) if len(errs) else None,
        "rmse_eV": float(np.sqrt(np.mean(errs**2))) if len(errs) else None,
        "mean_signed_error_eV": float(np.mean(errs)) if len(errs) else None,
        "fmax": args.fmax,
        "partial": partial,
        "records": rows,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    sys.exit(main())
