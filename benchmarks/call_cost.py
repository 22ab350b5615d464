"""Seconds per force call: ionflow's evaluator against ASE's ``CHGNetCalculator``.

The screen benchmarks count force calls, which do not depend on the machine's load; this
script gives the price of one call on a quiet machine, per supercell rule, so that force
calls convert to CPU time. One vacancy supercell of STRUCTURE per rule (the first mobile
site removed), a warm-up call, then ``--repeat`` calls with the first atom nudged each time:

- ``ionflow``: :func:`ionflow.mlip.get_evaluator` (CHGNet's energy and force heads, batched
  graph; what every ionflow band and relaxation calls);
- ``ASE``: ``chgnet.model.dynamics.CHGNetCalculator`` on the same loaded model (what a plain
  ASE NEB calls per image; it computes stress and magnetic moments too).

    OMP_NUM_THREADS=1 python benchmarks/call_cost.py tests/test_data/Li2MnO3_C2m.cif.gz
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("structure")
    p.add_argument("--species", default="Li")
    p.add_argument("--min-length", type=float, default=10.0)
    p.add_argument("--rules", default="width,length")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")
    import torch

    torch.set_num_threads(args.threads)
    from chgnet.model.dynamics import CHGNetCalculator
    from pymatgen.io.ase import AseAtomsAdaptor

    from ionflow.core.hops.supercell import build_supercell, choose_supercell
    from ionflow.core.io import read_structure
    from ionflow.mlip import get_evaluator

    structure = read_structure(args.structure)
    ev = get_evaluator("chgnet")
    calc = CHGNetCalculator(model=ev.model)
    rows = []
    for rule in args.rules.split(","):
        cell = build_supercell(structure, choose_supercell(structure, args.min_length, rule))
        first = next(i for i, s in enumerate(cell) if s.specie.symbol == args.species)
        cell.remove_sites([first])
        atoms = AseAtomsAdaptor.get_atoms(cell)
        row = {"rule": rule, "atoms": len(atoms)}
        for name in ("ionflow", "ase"):
            if name == "ase":
                atoms.calc = calc
            call = (lambda a: ev.evaluate([a])) if name == "ionflow" else (lambda a: a.get_forces())
            call(atoms)  # warm-up
            t = time.perf_counter()
            for _ in range(args.repeat):
                atoms.positions[0] += 0.01
                call(atoms)
            row[f"{name}_s_per_call"] = (time.perf_counter() - t) / args.repeat
        row["ase_over_ionflow"] = row["ase_s_per_call"] / row["ionflow_s_per_call"]
        rows.append(row)
        print(
            f"{rule:<8}{row['atoms']:>5} atoms  ionflow {row['ionflow_s_per_call']:.2f} s/call  "
            f"ASE CHGNetCalculator {row['ase_s_per_call']:.2f} s/call  "
            f"(x{row['ase_over_ionflow']:.2f})",
            flush=True,
        )
    if args.out:
        meta = {"structure": args.structure, "threads": args.threads, "argv": sys.argv[1:]}
        args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
