"""Disorder demos: a doped variant hop-screened, and conductivity from a disordered CIF.

(a) LiMgPO4 -> Li0.5Mg0.5Al0.5PO4 doped, ordered, hop-screened; (b) ConductivityFlow from a
disordered CIF, end to end in a store.

Usage (each step is resumable: finished steps are read back from the run folder)::

    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python benchmarks/disorder_demo.py doping
    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python benchmarks/disorder_demo.py conductivity \
        --cif workflows/structures/Li3YCl6.cif

Results go to ``benchmarks/runs/disorder_<demo>/`` (JSON, logs, CIFs); work folders (NEB
checkpoints, the embedded store) to ``benchmarks/results/disorder_<demo>/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "benchmarks" / "runs"
WORK = ROOT / "benchmarks" / "results"
log = logging.getLogger("disorder_demo")


def _dump(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, default=str))


def relax_parent(cif: Path, out: Path, model: str) -> object:
    """Relax the parent (cell and positions) once; read back on a rerun."""
    from pymatgen.core import Structure

    if out.exists():
        return Structure.from_file(out)
    from ionflow.core.ordering.energy import relax_ordering
    from ionflow.mlip import get_evaluator

    parent = Structure.from_file(cif)
    t0 = time.perf_counter()
    res = relax_ordering(parent, get_evaluator(model), relax_cell=True, fmax=0.05, max_steps=300)
    log.info(
        "parent relaxed: %d steps, converged %s, E = %.4f eV, %.1f s, lattice %s",
        res.n_steps,
        res.converged,
        res.energy,
        time.perf_counter() - t0,
        [round(v, 3) for v in res.structure.lattice.abc],
    )
    res.structure.to(filename=str(out))
    return res.structure


def order(structure: object, out_dir: Path, args: argparse.Namespace) -> dict:
    """Orderings of a disordered structure by MLIP energy (ionflow.core.ordering)."""
    path = out_dir / "orderings.json"
    if path.exists():
        return json.loads(path.read_text())
    from ionflow.core.ordering import order_structure

    t0 = time.perf_counter()
    result = order_structure(
        structure,
        max_orderings=args.max_orderings,
        top_k=args.top_k,
        temperature=800.0,
        model=args.model,
        relax_cell=True,
        max_atoms=args.max_atoms,
    )
    wall = time.perf_counter() - t0
    _dump(path, ordering_summary(result, wall))
    return json.loads(path.read_text())


def ordering_summary(result: object, wall: float) -> dict:
    """JSON-friendly OrderingResult: counts, timings, each ordering with its structure."""
    rows = []
    for o in result.orderings:
        row = {k: v for k, v in vars(o).items() if k != "structure"}
        row["structure"] = o.structure.as_dict()
        rows.append(row)
    keys = (
        "formula",
        "enumerator",
        "n_enumerated",
        "n_distinct",
        "n_configurations",
        "exact",
        "energy_source",
        "model",
        "temperature",
        "oxidation_states",
        "timings",
        "warnings",
    )
    doc = {k: getattr(result, k) for k in keys}
    doc["supercell"] = str(result.supercell)
    doc["wall_s"] = wall
    doc["orderings"] = rows
    return doc


def _lowest_structure(orderings: dict) -> object:
    from pymatgen.core import Structure

    rows = orderings.get("orderings") or []
    return Structure.from_dict(rows[0]["structure"])  # ranked, lowest first


def screen(cif: Path, out_dir: Path, work: Path, args: argparse.Namespace) -> dict:
    """``ionflow screen`` on the lowest ordering (capped hops, modest supercell)."""
    path = out_dir / "screen.json"
    if path.exists():
        return json.loads(path.read_text())
    env = {**os.environ, "IONFLOW_STORE_DIR": str(work / "store"), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "ionflow.cli.main",
        "screen",
        str(cif),
        "--supercell-min",
        str(args.supercell_min),
        "--max-hops",
        str(args.max_hops),
        "--model",
        args.model,
        "--threads",
        "1",
        "--fmax",
        str(args.fmax),
        "--max-steps",
        str(args.neb_max_steps),
        "--n-images",
        str(args.n_images),
        "--checkpoint-dir",
        str(work / "bands"),
        "--json",
    ]
    if args.max_hop_length:
        cmd += ["--max-hop-length", str(args.max_hop_length)]
    log.info("running: %s", " ".join(cmd))
    t0 = time.perf_counter()
    with open(out_dir / "screen.log", "a") as err:
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
    log.info("screen exit %d after %.0f s", proc.returncode, time.perf_counter() - t0)
    if not proc.stdout.strip():
        raise SystemExit(f"screen produced no JSON (exit {proc.returncode}); see screen.log")
    doc = json.loads(proc.stdout)
    doc["wall_s"] = time.perf_counter() - t0
    doc["exit_status"] = proc.returncode
    _dump(path, doc)
    return doc


def _run_cli(cmd: list[str], env: dict, log_path: Path) -> tuple[int, dict | None]:
    log.info("running: %s", " ".join(cmd))
    with open(log_path, "a") as err:
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else None


def channel_endpoints(lowest: object, disordered: object, repeats: list[int]) -> tuple:
    """Endpoints of a hop of one Li into the empty Li site next to it (a structural vacancy).

    The N² screen moves an ion to the nearest *occupied* site of its kind (a vacancy made for
    the purpose); in a doped structure the Li sites left empty by the doping are the natural
    destinations (olivine: along the b channel, 2.98 Å). Initial state: the ordering as it is;
    final state: that Li moved onto the empty site.
    """
    import numpy as np

    li_sites = [s.frac_coords for s in disordered if "Li" in s.species_string]
    li_atoms = [i for i, s in enumerate(lowest) if s.specie.symbol == "Li"]
    empty = [
        f
        for f in li_sites
        if min(lowest.lattice.get_distance_and_image(f, lowest[i].frac_coords)[0] for i in li_atoms)
        > 1.0
    ]
    best = None
    for i in li_atoms:
        for f in empty:
            d, image = lowest.lattice.get_distance_and_image(lowest[i].frac_coords, f)
            if best is None or d < best[0]:
                best = (d, i, np.asarray(f) + image)
    dist, index, target = best
    initial = lowest.copy()
    initial.make_supercell(repeats)
    final = initial.copy()
    # atom `index` of the unit cell is atom `index * n_cells` of the supercell (pymatgen order)
    n_cells = int(np.prod(repeats))
    moving = index * n_cells
    start = initial[moving].frac_coords
    frac_target = start + (target - lowest[index].frac_coords) / np.asarray(repeats)
    final.replace(moving, final[moving].species, frac_target)
    return initial, final, dist, moving


def channel_neb(lowest: object, disordered: object, out_dir: Path, work: Path, args) -> dict:
    """CI-NEB (``ionflow neb``) of the Li hop into the neighbouring structural vacancy."""
    path = out_dir / "channel_neb.json"
    if path.exists():
        return json.loads(path.read_text())
    initial, final, dist, moving = channel_endpoints(lowest, disordered, args.channel_supercell)
    initial.to(filename=str(out_dir / "channel_initial.cif"))
    final.to(filename=str(out_dir / "channel_final.cif"))
    log.info(
        "channel hop: Li %d into the empty site %.2f Å away, %d atoms", moving, dist, len(initial)
    )
    env = {**os.environ, "IONFLOW_STORE_DIR": str(work / "store"), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "ionflow.cli.main",
        "neb",
        str(out_dir / "channel_initial.cif"),
        str(out_dir / "channel_final.cif"),
        "--model",
        args.model,
        "--threads",
        "1",
        "--max-steps",
        str(args.neb_max_steps),
        "--n-images",
        str(args.n_images),
        "--fmax",
        str(args.fmax),
        "--checkpoint-dir",
        str(work / "channel_band"),
        "--json",
    ]
    t0 = time.perf_counter()
    code, doc = _run_cli(cmd, env, out_dir / "channel_neb.log")
    if doc is None:
        raise SystemExit(f"neb produced no JSON (exit {code}); see channel_neb.log")
    doc = {k: v for k, v in doc.items() if k not in ("images", "structures")}
    doc.update(wall_s=time.perf_counter() - t0, exit_status=code, hop_length_A=dist)
    _dump(path, doc)
    return doc


def demo_doping(args: argparse.Namespace) -> None:
    """(a) LiMgPO4 -> Li0.5Mg0.5Al0.5PO4: relax, dope, order, screen the lowest ordering."""
    from ionflow.core.ordering.doping import aliovalent_substitution

    out_dir, work = RUNS / "disorder_limgpo4", WORK / "disorder_limgpo4"
    out_dir.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    parent = relax_parent(
        ROOT / "workflows/structures/LiMgPO4.cif", out_dir / "LiMgPO4_relaxed.cif", args.model
    )
    doped = aliovalent_substitution(parent, host="Mg", dopant="Al3+", fraction=0.5)
    summary = {k: v for k, v in doped.as_dict().items() if k != "structure"}
    log.info("doped: %s", summary)
    doped.structure.to(filename=str(out_dir / "Li0.5Mg0.5Al0.5PO4_disordered.cif"))
    orderings = order(doped.structure, out_dir, args)
    lowest = _lowest_structure(orderings)
    lowest_cif = out_dir / "Li0.5Mg0.5Al0.5PO4_lowest.cif"
    lowest.to(filename=str(lowest_cif))
    chan = channel_neb(lowest, doped.structure, out_dir, work, args) if args.channel else {}
    if not chan and (out_dir / "channel_neb.json").exists():
        chan = json.loads((out_dir / "channel_neb.json").read_text())
    if args.channel_only:
        return
    scr = screen(lowest_cif, out_dir, work, args)
    _dump(
        out_dir / "summary.json",
        {
            "doping": summary,
            "n_orderings": len(orderings.get("orderings") or []),
            "ordering_wall_s": orderings.get("wall_s"),
            "orderings": [
                {
                    k: o.get(k)
                    for k in (
                        "index",
                        "ewald_rank",
                        "energy_eV",
                        "energy_per_atom_eV",
                        "relative_energy_meV_atom",
                        "space_group",
                        "weight",
                        "converged",
                    )
                }
                for o in orderings.get("orderings") or []
            ],
            "lowest_barrier_eV": scr.get("lowest_barrier_eV"),
            "lowest_barrier_hop": scr.get("lowest_barrier_hop"),
            "percolation_barriers_eV": scr.get("percolation_barriers_eV"),
            "n_hops": scr.get("n_hops"),
            "n_converged": scr.get("n_converged"),
            "screen_wall_s": scr.get("wall_s"),
            "channel_hop": {
                "hop_length_A": chan.get("hop_length_A"),
                "supercell": args.channel_supercell,
                **{
                    k: (chan.get("hops") or [{}])[0].get(k)
                    for k in (
                        "barrier_forward_eV",
                        "barrier_reverse_eV",
                        "converged",
                        "n_images",
                        "force_calls",
                        "wall_time_s",
                    )
                },
            },
        },
    )
    log.info("done: %s", (out_dir / "summary.json").read_text())


def demo_conductivity(args: argparse.Namespace) -> None:
    """(b) ``ionflow conductivity`` from a disordered CIF, small cell, short MD."""
    out_dir = RUNS / f"disorder_conductivity_{Path(args.cif).stem}"
    work = WORK / out_dir.name
    out_dir.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    path = out_dir / "conductivity.json"
    if path.exists():
        log.info("already done: %s", path)
        return
    env = {
        **os.environ,
        "IONFLOW_STORE_DIR": str(work / "store"),
        "OMP_NUM_THREADS": "1",
        "IONFLOW_CHECKPOINT_DIR": str(work / "md"),
    }
    cmd = [
        sys.executable,
        "-m",
        "ionflow.cli.main",
        "conductivity",
        str(args.cif),
        "--model",
        args.model,
        "--threads",
        "1",
        "--temperatures",
        *[str(t) for t in args.temperatures],
        "--runs",
        "1",
        "--time-ps",
        str(args.time_ps),
        "--equilibration-ps",
        "0.5",
        "--heating-ps",
        "0.5",
        "--supercell",
        *[str(n) for n in args.supercell],
        "--orderings",
        str(args.n_orderings),
        "--max-orderings",
        str(args.max_orderings),
        "--top-k",
        str(args.top_k),
        "--timestep-fs",
        str(args.timestep_fs),
        "--relax-cell",
        "--plot-dir",
        str(out_dir),
        "--json",
    ]
    log.info("running: %s", " ".join(cmd))
    t0 = time.perf_counter()
    with open(out_dir / "conductivity.log", "a") as err:
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
    log.info("conductivity exit %d after %.0f s", proc.returncode, time.perf_counter() - t0)
    if proc.stdout.strip():
        doc = json.loads(proc.stdout)
        doc["wall_s"] = time.perf_counter() - t0
        doc["exit_status"] = proc.returncode
        doc["command"] = " ".join(cmd[1:])
        _dump(path, doc)


def demo_series(args: argparse.Namespace) -> None:
    """(c) Solid-solution series on a parent (deng2025): hull and Boltzmann selection."""
    from jobflow import JobStore, run_locally
    from maggma.stores import MemoryStore
    from pymatgen.core import Structure

    from ionflow.jobs.solid_solution import SolidSolutionMaker
    from ionflow.store import output_as_dict

    tag = f"{Path(args.cif).stem}_{args.site}{args.substituent}_{args.model}"
    out_dir = RUNS / f"disorder_series_{tag}"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "series.json"
    if path.exists():
        log.info("already done: %s", path)
        return
    maker = SolidSolutionMaker(
        site=args.site,
        substituent=args.substituent,
        fractions=tuple(args.fractions),
        model=None if args.model == "none" else args.model,
        max_orderings=args.max_orderings,
        top_k=args.top_k,
        relax_cell=True,
        max_atoms=args.max_atoms,
        temperature=800.0,
        seed=0,
        worker="cpu",
    )
    job = maker.make(Structure.from_file(args.cif))
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    t0 = time.perf_counter()
    run_locally(job, store=store, ensure_success=True, log=False)
    doc = output_as_dict(store, job.output.uuid)
    for c in doc["configurations"]:
        c.pop("structure", None)
    doc["wall_s"] = time.perf_counter() - t0
    _dump(path, doc)
    for c in doc["configurations"]:
        log.info(
            "%-24s %-18s E_f %+.4f eV/fu  E_hull %.4f eV/fu  %s%s",
            c["label"],
            c["formula"],
            c["e_form_per_fu_eV"],
            c["e_hull_per_fu_eV"],
            c["space_group"],
            " selected" if c["selected"] else "",
        )


def main() -> None:
    """Parse the demo and its knobs, run it."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("demo", choices=["doping", "conductivity", "series"])
    p.add_argument("--model", default="chgnet")
    p.add_argument("--max-orderings", type=int, default=200)
    p.add_argument("--top-k", type=int, default=8)
    p.add_argument("--max-atoms", type=int, default=64)
    p.add_argument("--supercell-min", type=float, default=9.0)
    p.add_argument("--max-hops", type=int, default=8)
    p.add_argument("--max-hop-length", type=float, default=None)
    p.add_argument("--cif", default=str(ROOT / "workflows/structures/Li3InBr6_disordered.cif"))
    p.add_argument("--temperatures", type=float, nargs="+", default=[800.0, 1000.0])
    p.add_argument("--time-ps", type=float, default=3.0)
    p.add_argument("--supercell", type=int, nargs=3, default=[1, 1, 1])
    p.add_argument("--n-orderings", type=int, default=2)
    p.add_argument("--timestep-fs", type=float, default=2.0)
    p.add_argument("--n-images", type=int, default=7)
    p.add_argument("--fmax", type=float, default=0.05)
    p.add_argument("--neb-max-steps", type=int, default=300)
    p.add_argument("--channel", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--channel-only", action="store_true")
    p.add_argument("--channel-supercell", type=int, nargs=3, default=[1, 2, 2])
    p.add_argument("--site", default="Br")
    p.add_argument("--substituent", default="Cl")
    p.add_argument("--fractions", type=float, nargs="+", default=[0.5])
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    demos = {"doping": demo_doping, "conductivity": demo_conductivity, "series": demo_series}
    demos[args.demo](args)


if __name__ == "__main__":
    main()
