"""Vacancy supercells by image distance against the old lattice-length rule (issue 15).

Part 1 (no model, seconds): for each structure and rule the supercell's atoms, narrowest
perpendicular width, shortest image distance and the time to choose it::

    python benchmarks/supercell_sizes.py

Part 2 (``--finite-size``, CHGNet, minutes): the Li2O vacancy hop (the one hop of the
antifluorite cell) in the supercells of the rules and one larger width, to show that the
barrier of the smaller supercell is converged in size::

    python benchmarks/supercell_sizes.py --finite-size

Part 3 (``--lifepo4``, CHGNet, minutes): the quick start's LiFePO4 hop (symprec 0.1, one
site) in the width-rule supercell, against the README's 0.179 eV in the old 167-atom cell::

    python benchmarks/supercell_sizes.py --lifepo4

Results go to ``benchmarks/runs/supercell_sizes.json``, ``supercell_finite_size.json`` and
``supercell_lifepo4.json`` (parts 2 and 3 keep finished bands and continue with the rest when
rerun).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STRUCTURES = {
    "Li2MnO3": ROOT / "tests" / "test_data" / "Li2MnO3_C2m.cif.gz",
    "LiFePO4": ROOT / "workflows" / "structures" / "LiFePO4.cif",
    "Li2O": ROOT / "workflows" / "structures" / "Li2O.cif",
    "Li3N": ROOT / "workflows" / "structures" / "Li3N.cif",
}
#: (label, rule, size in Å) of the finite-size series on Li2O
FINITE_SIZE = (
    ("distance 10", "distance", 10.0),
    ("width 10 (new default)", "width", 10.0),
    ("length 10 (old default)", "length", 10.0),
    ("width 12", "width", 12.0),
)


def sizes(min_length: float) -> list[dict]:
    """Part 1: supercells of every structure under every rule."""
    from ionflow.core.hops import SUPERCELL_RULES, choose_supercell
    from ionflow.core.io import read_structure

    rows = []
    for name, path in STRUCTURES.items():
        structure = read_structure(path)
        for rule in SUPERCELL_RULES:
            t0 = time.perf_counter()
            choice = choose_supercell(structure, min_length, rule)
            rows.append(
                {
                    "structure": name,
                    "cell_atoms": len(structure),
                    "choose_time_s": time.perf_counter() - t0,
                    **choice.as_dict(),
                }
            )
    return rows


def finite_size(
    out: Path, model: str, name: str = "Li2O", series=FINITE_SIZE, symprec: float = 0.1
) -> list[dict]:
    """Parts 2 and 3: one hop's barrier against supercell size (resumable by label)."""
    from ionflow.core.hops import build_vacancy_endpoints, choose_supercell, enumerate_hops
    from ionflow.core.io import read_structure
    from ionflow.core.neb import NebSettings, run_neb
    from ionflow.mlip import get_evaluator

    done = {r["label"]: r for r in json.loads(out.read_text())} if out.is_file() else {}
    structure = read_structure(STRUCTURES[name])
    (hop,) = enumerate_hops(structure, "Li", symprec=symprec)
    evaluator = get_evaluator(model)
    rows = []
    for label, rule, size in series:
        if label in done:
            rows.append(done[label])
            continue
        choice = choose_supercell(structure, size, rule)
        a, b = build_vacancy_endpoints(structure, hop, choice=choice).to_ase()
        res = run_neb(a, b, evaluator, NebSettings(), moving_index=0, unwrap=False)
        rows.append(
            {
                "label": label,
                "structure": name,
                "model": model,
                **choice.as_dict(),
                "barrier_forward_eV": res.barrier_forward,
                "barrier_reverse_eV": res.barrier_reverse,
                "converged": res.converged,
                "force_calls": res.force_calls,
                "wall_time_s": res.wall_time_s,
            }
        )
        out.write_text(json.dumps(rows, indent=1))
        print(
            f"{label:<26}{choice.n_atoms:>5} atoms  width {choice.min_width:6.2f}  image "
            f"{choice.min_image_distance:6.2f}  barrier {res.barrier_forward:.4f} eV  "
            f"{res.force_calls} calls  {res.wall_time_s:.0f} s  converged={res.converged}",
            flush=True,
        )
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--min-length", type=float, default=10.0)
    p.add_argument("--finite-size", action="store_true", help="run the Li2O barrier series")
    p.add_argument("--lifepo4", action="store_true", help="run the quick start's hop")
    p.add_argument(
        "--labels",
        default=None,
        help="comma-separated labels of the finite-size series to run (default: all)",
    )
    p.add_argument("--out-name", default="supercell_finite_size.json")
    p.add_argument("--model", default="chgnet")
    p.add_argument("--out-dir", type=Path, default=HERE / "runs")
    args = p.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    if args.lifepo4:
        series = (("width 10 (new default)", "width", 10.0),)
        finite_size(args.out_dir / "supercell_lifepo4.json", args.model, "LiFePO4", series)
        return 0
    if args.finite_size:
        series = FINITE_SIZE
        if args.labels:
            wanted = {x.strip() for x in args.labels.split(",")}
            series = tuple(t for t in FINITE_SIZE if t[0] in wanted)
        finite_size(args.out_dir / args.out_name, args.model, series=series)
        return 0
    rows = sizes(args.min_length)
    print(
        f"{'structure':<10}{'rule':<10}{'atoms':>6}{'width/Å':>9}{'image/Å':>9}{'time/s':>8}  matrix"
    )
    for r in rows:
        print(
            f"{r['structure']:<10}{r['rule']:<10}{r['n_atoms']:>6}{r['min_width_A']:>9.2f}"
            f"{r['min_image_distance_A']:>9.2f}{r['choose_time_s']:>8.2f}  {r['matrix']}"
        )
    (args.out_dir / "supercell_sizes.json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
