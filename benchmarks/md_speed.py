"""MD speed: ionflow's ``run_md`` vs plain ASE MD with chgnet's ``CHGNetCalculator``.

Same cell (Li2O antifluorite conventional cell repeated, 96 atoms by default), same integrator
(ASE ``NoseHooverChainNVT``, 1 fs, tdamp 100 fs), same temperature, seed and step count, same
torch thread count. Model loading and one warm-up call per path are excluded from the timing;
everything else (the initial force call, guards, sampling, ionflow's one-off fast-path check)
is included.

Paths
-----
ase
    ``atoms.calc = CHGNetCalculator()``; ``NoseHooverChainNVT(...).run(steps)``. The calculator
    always predicts energy, forces, stress and magnetic moments ("efsm").
ionflow
    ``run_md(atoms, get_evaluator("chgnet"), MDSettings(...))``: energy and forces only, with
    the CHGNet fast path of ``ionflow.core.md.forces`` (crystal graph built with numpy, forces
    without the double-backward graph).
ionflow-evaluator
    The same without the fast path (``chgnet_fast_path=False``): the shared evaluator's
    batched "ef" call (pymatgen structure -> CHGNet converter -> ``predict_graph``), to show
    what the energy+forces-only lever alone is worth.

Usage::

    python benchmarks/md_speed.py                 # 50 steps, 96 atoms, 1 torch thread
    python benchmarks/md_speed.py --steps 100 --supercell 2 2 2 --threads 2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time


def build_cell(supercell: tuple[int, int, int]):
    from pymatgen.core import Lattice, Structure
    from pymatgen.io.ase import AseAtomsAdaptor

    structure = Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(4.61), ["Li", "O"], [[0.25, 0.25, 0.25], [0, 0, 0]]
    )
    atoms = AseAtomsAdaptor.get_atoms(structure).repeat(supercell)
    atoms.rattle(0.02, seed=0)
    return atoms


def run_plain_ase(atoms, steps: int, temperature: float, seed: int) -> dict:
    import numpy as np
    from ase import units
    from ase.md.nose_hoover_chain import NoseHooverChainNVT
    from chgnet.model.dynamics import CHGNetCalculator

    from ionflow.core.md.structure import initial_velocities

    work = atoms.copy()
    calc = CHGNetCalculator(use_device="cpu")
    work.calc = calc
    warm = work.copy()
    warm.calc = calc
    warm.get_potential_energy()  # warm-up call, not timed
    calc.reset()
    rng = np.random.default_rng(seed)
    initial_velocities(work, temperature, rng)  # the same velocities as run_md's
    dyn = NoseHooverChainNVT(
        work, timestep=1.0 * units.fs, temperature_K=temperature, tdamp=100 * units.fs
    )
    start = time.perf_counter()
    dyn.run(steps)
    wall = time.perf_counter() - start
    return {
        "path": "ase",
        "steps": steps,
        "wall_s": wall,
        "steps_per_s": steps / wall,
        "final_temperature_K": float(work.get_temperature()),
    }


def run_ionflow(atoms, steps: int, temperature: float, seed: int, fast: bool) -> dict:
    from ionflow.core.md import MDSettings, run_md
    from ionflow.mlip import get_evaluator

    evaluator = get_evaluator("chgnet")
    evaluator.evaluate([atoms])  # warm-up call, not timed
    settings = MDSettings(
        temperature=temperature,
        timestep_fs=1.0,
        thermostat="nose-hoover-chain",
        tdamp_fs=100.0,
        heating_ps=0.0,
        equilibration_ps=0.0,
        production_ps=steps / 1000,
        sample_interval_fs=10.0,
        mobile_species="Li",
        seed=seed,
        chgnet_fast_path=fast,
    )
    calls = evaluator.n_evaluations
    start = time.perf_counter()
    result = run_md(atoms, evaluator, settings, progress=False)
    wall = time.perf_counter() - start
    assert result.completed, result.failure_reason
    return {
        "path": "ionflow" if fast else "ionflow-evaluator",
        "steps": steps,
        "wall_s": wall,
        "steps_per_s": steps / wall,
        "model_calls": evaluator.n_evaluations - calls,
        "final_temperature_K": float(result.temperatures_K[-1]),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--supercell", type=int, nargs=3, default=(2, 2, 2))
    parser.add_argument("--threads", type=int, default=1, help="torch threads, both paths")
    parser.add_argument("--temperature", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="interleaved repeats (median)")
    parser.add_argument("--no-evaluator-variant", action="store_true")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    atoms = build_cell(tuple(args.supercell))
    print(
        f"cell: {atoms.get_chemical_formula()} ({len(atoms)} atoms), {args.steps} steps of "
        f"1 fs NHC at {args.temperature:g} K, torch threads {torch.get_num_threads()}, "
        f"load average before: {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    runs: dict[str, list[dict]] = {}
    for i in range(args.repeat):  # interleaved, so that load changes hit every path alike
        row = run_plain_ase(atoms, args.steps, args.temperature, args.seed)
        runs.setdefault(row["path"], []).append(row)
        print(f"  [{i}] ase (CHGNetCalculator)  {row['steps_per_s']:.3f} steps/s", flush=True)
        row = run_ionflow(atoms, args.steps, args.temperature, args.seed, fast=True)
        runs.setdefault(row["path"], []).append(row)
        print(f"  [{i}] ionflow run_md          {row['steps_per_s']:.3f} steps/s", flush=True)
        if not args.no_evaluator_variant:
            row = run_ionflow(atoms, args.steps, args.temperature, args.seed, fast=False)
            runs.setdefault(row["path"], []).append(row)
            print(f"  [{i}] ionflow, no fast path   {row['steps_per_s']:.3f} steps/s", flush=True)
    rows = []
    for done in runs.values():
        rates = [r["steps_per_s"] for r in done]
        rows.append({**done[0], "steps_per_s": float(statistics.median(rates)), "all": rates})
    base = rows[0]
    print(f"median steps/s: ase {base['steps_per_s']:.3f}")
    for row in rows[1:]:
        row["speedup_vs_ase"] = row["steps_per_s"] / base["steps_per_s"]
        pairs = [a / b for a, b in zip(row["all"], base["all"])]
        row["paired_ratios"] = pairs
        print(
            f"  {row['path']}: {row['steps_per_s']:.3f} steps/s, ratio to ase "
            f"{row['speedup_vs_ase']:.2f}x (per repeat: {', '.join(f'{p:.2f}' for p in pairs)})"
        )
    report = {
        "n_atoms": len(atoms),
        "steps": args.steps,
        "threads": args.threads,
        "load_average_after": os.getloadavg(),
        "rows": rows,
    }
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=2)
    return report


if __name__ == "__main__":
    main()
