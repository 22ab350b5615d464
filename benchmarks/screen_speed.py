"""Screen speed: one structure screened three ways, every barrier side by side (issue 15).

(i)   today's ionflow per-hop procedure: ``supercell_rule="length"`` (every lattice length
      >= L), one NEB per hop (``MLIPNebMaker``), each relaxing its own two endpoints
      (``ScreenHopsFlow(share_work=False)``);
(ii)  the new procedure: ``supercell_rule="width"`` (fewest atoms with every perpendicular
      width >= L), each symmetry-distinct vacancy relaxed once (``VacancyRelaxMaker``) and
      mapped onto every endpoint, one NEB per distinct path (``ScreenHopsFlow(share_work=True)``);
(ii') ``shared``: the new procedure on today's supercell (``--procedures shared``): what
      sharing alone changes, without the supercell change;
(iii) plain ASE per hop, on today's endpoints: each endpoint relaxed with FIRE and a
      ``CHGNetCalculator`` (fixed cell), IDPP, ``NEB(climb=True, method="improvedtangent")``
      with one ``CHGNetCalculator`` per image (sharing the loaded weights), FIRE.

(i) and (ii) call the bodies of the screen's own jobs (the code the flow runs, without the
job store), one unit of work at a time; each finished unit (hop, vacancy, band) is written to
``OUT/results.json`` at once, and ``--resume`` skips the units already there (band and
vacancy checkpoints under ``benchmarks/runs/checkpoints/`` continue interrupted ones). Force calls are counted by
the model evaluator (ionflow) or the calculators (ASE); model loading and one warm-up call are
not counted. ``--hops`` runs (i) and (iii) on a subset of hops; the totals of the other hops
are then extrapolated from the mean force calls per hop and the measured seconds per call
(marked "extrapolated").

    OMP_NUM_THREADS=1 python benchmarks/screen_speed.py STRUCTURE [--species Li]
        [--procedures today,new,ase] [--hops 0,3] [--min-length 10] [--out DIR] [--resume]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
log = logging.getLogger("screen_speed")


def _load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {"units": {}}


def _save(path: Path, results: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1, default=float))
    tmp.replace(path)


def enumerate_with(structure, species, rule, min_length, symprec):
    from ionflow.jobs.hops import HopEnumerationMaker

    maker = HopEnumerationMaker(
        species=species, supercell_rule=rule, supercell_min_length=min_length, symprec=symprec
    )
    return maker.make.original(maker, structure).model_dump()


def _structure(obj):
    from pymatgen.core import Structure

    return obj if isinstance(obj, Structure) else Structure.from_dict(obj)


def _neb_unit(doc, wall: float, n_atoms: int) -> dict:
    d = doc.model_dump(exclude={"images"})
    keep = ("barrier_forward_eV", "barrier_reverse_eV", "converged", "failure_reason")
    out = {k: d[k] for k in keep}
    out.update(
        force_calls=d["force_calls"],
        endpoint_calls=d["endpoint_force_calls"],
        band_calls=d["band_force_calls"],
        steps=d["n_steps"],
        optimizer_switches=d.get("optimizer_switches", []),
        relative_energies_eV=[round(e, 4) for e in d.get("relative_energies_eV", [])],
        wall_s=wall,
        atoms=n_atoms,
    )
    return out


def run_today(enum, neb_maker, hops, results, save):
    """One NEB per hop, each relaxing its own endpoints (the flow's job body)."""
    for k in hops:
        h = enum["hops"][k]
        key = f"today/hop/{h['hop_id']}"
        if key in results["units"]:
            continue
        ini, fin = (_structure(h[x]) for x in ("initial_structure", "final_structure"))
        t = time.perf_counter()
        meta = {"hop_id": h["hop_id"], "length_A": h["length_A"]}
        doc = neb_maker.make.original(
            neb_maker, ini, fin, moving_index=h["moving_index"], hop=meta, unwrap=False
        )
        results["units"][key] = _neb_unit(doc, time.perf_counter() - t, len(ini) + 1)
        save()
        log.info("%s: %s", key, results["units"][key])


def run_new(enum, neb_maker, species, results, save, work: Path, prefix="new", only=None):
    """Distinct vacancies relaxed once, mapped; one NEB per band (the flow's job bodies)."""
    from ionflow.flows.screen import _band_endpoints, _hop_ends, _plan
    from ionflow.jobs.vacancy import VacancyRelaxMaker

    plan = _plan(enum)
    vac_maker = VacancyRelaxMaker.from_neb_maker(neb_maker, species)
    vac_maker.checkpoint_dir = str(work / f"vacancies_{prefix}")
    docs = []
    n_atoms = len(plan.symmetry.structure)
    for v in plan.vacancies:
        key = f"{prefix}/vacancy/{v.vacancy_id}"
        t = time.perf_counter()
        meta = {"vacancy_id": v.vacancy_id, "label": v.label, "site_index": v.site}
        doc = vac_maker.make.original(vac_maker, v.structure, vacancy=meta)
        docs.append(doc.model_dump())
        if key not in results["units"]:
            results["units"][key] = {
                "label": v.label,
                "force_calls": doc.force_calls,
                "wall_s": time.perf_counter() - t,
                "converged": doc.converged,
                "endpoints": len(v.endpoints),
                "atoms": n_atoms,
            }
            save()
            log.info("%s: %s", key, results["units"][key])
    ends = {h["hop_id"]: h for h in enum["hops"]}
    hop_ends = {h.hop_id: h for h in _hop_ends(enum)}
    for band in plan.bands:
        key = f"{prefix}/band/{band.band_id}"
        if key in results["units"] or (only and band.band_id not in only):
            continue
        hop = hop_ends[band.hop_id]
        t = time.perf_counter()
        mapped, failure = _band_endpoints(plan, hop, docs, neb_maker.neb_settings.max_ion_shift)
        if mapped is None:
            results["units"][key] = {"failure_reason": failure, "force_calls": 0, "wall_s": 0.0}
            continue
        meta = {"hop_id": band.hop_id, "length_A": ends[band.hop_id]["length_A"]}
        doc = neb_maker.make.original(
            neb_maker,
            mapped[0].structure,
            mapped[1].structure,
            moving_index=hop.moving_index,
            hop=meta,
            unwrap=False,
            endpoint_energies=[m.energy for m in mapped],
            endpoint_forces=[m.forces.tolist() for m in mapped],
        )
        unit = _neb_unit(doc, time.perf_counter() - t, n_atoms)
        unit.update(hop_id=band.hop_id, members=[[h, r] for h, r in band.members])
        results["units"][key] = unit
        save()
        log.info("%s: %s", key, unit)


def run_ase(enum, hops, model, n_images, fmax, results, save):
    """Plain ASE per hop on today's endpoints (benchmarks/neb_speed.py's baseline)."""
    sys.path.insert(0, str(HERE))
    from neb_speed import run_plain_ase

    from ionflow.jobs.neb import _to_atoms

    if fmax != 0.05:
        log.warning("plain ASE baseline runs at fmax 0.05 eV/Å (neb_speed.py)")
    for k in hops:
        h = enum["hops"][k]
        key = f"ase/hop/{h['hop_id']}"
        if key in results["units"]:
            continue
        a, b = (_to_atoms(_structure(h[x])) for x in ("initial_structure", "final_structure"))
        r = run_plain_ase(a, b, model, n_images)
        results["units"][key] = {
            "barrier_forward_eV": r["forward"],
            "barrier_reverse_eV": r["reverse"],
            "converged": r["converged"],
            "force_calls": r["force_calls"],
            "endpoint_calls": r["endpoint_calls"],
            "band_calls": r["band_calls"],
            "steps": int(r["band_steps"]),
            "wall_s": r["wall_s"],
            "atoms": len(a) + 1,
        }
        save()
        log.info("%s: %s", key, results["units"][key])


def _barriers(units: dict, proc: str, enum) -> dict[str, tuple]:
    """Per hop id: (forward, reverse, band) of one procedure."""
    out = {}
    if proc in ("new", "shared"):
        for key, u in units.items():
            if key.startswith(f"{proc}/band/") and "members" in u:
                for hop_id, rev in u["members"]:
                    f, r = u["barrier_forward_eV"], u["barrier_reverse_eV"]
                    out[hop_id] = (r, f) if rev else (f, r)
                    out[hop_id] += (key.split("/")[-1] + (" rev" if rev else ""),)
        return out
    for h in enum["hops"]:
        u = units.get(f"{proc}/hop/{h['hop_id']}")
        if u is not None:
            out[h["hop_id"]] = (u["barrier_forward_eV"], u["barrier_reverse_eV"], "")
    return out


def _partners(units: dict) -> dict[str, list[str]]:
    """Per hop id, the other hops of its band (the same path) in the shared procedures."""
    out: dict[str, list[str]] = {}
    for key, u in units.items():
        if "/band/" in key and "members" in u:
            ids = [h for h, _ in u["members"]]
            for h in ids:
                out.setdefault(h, [x for x in ids if x != h])
    return out


def _extrapolate(mine: dict, proc: str, partners: dict, n_hops: int) -> dict:
    """Totals over all hops of a per-hop procedure that ran on a subset.

    A hop not run costs what a measured hop of the same path (its band partner) cost; any
    other missing hop costs the mean of the measured hops.
    """
    ran = {k.split("/", 2)[2]: u for k, u in mine.items() if "/hop/" in k}
    calls = sum(u["force_calls"] for u in ran.values())
    wall = sum(u["wall_s"] for u in ran.values())
    mean_calls, mean_wall = calls / len(ran), wall / len(ran)
    by_partner = 0
    all_ids = set(ran) | set(partners)
    missing = [h for h in sorted(all_ids) if h not in ran]
    for h in missing:
        twin = next((ran[p] for p in partners.get(h, []) if p in ran), None)
        by_partner += twin is not None
        calls += twin["force_calls"] if twin else mean_calls
        wall += twin["wall_s"] if twin else mean_wall
    n_other = n_hops - len(ran) - len(missing)  # hops no band names (no shared run)
    calls += max(n_other, 0) * mean_calls
    wall += max(n_other, 0) * mean_wall
    return {
        "force_calls": calls,
        "wall_s": wall,
        "nebs": n_hops,
        "endpoint_relaxations": 2 * n_hops,
        "from_hops": len(ran),
        "from_partner_hop": by_partner,
    }


def summarize(results: dict, n_hops: int) -> dict:
    """Totals per procedure (extrapolated to all hops where a subset ran)."""
    units = results["units"]
    totals = {}
    for proc in ("today", "new", "shared", "ase"):
        mine = {k: u for k, u in units.items() if k.startswith(proc + "/")}
        if not mine:
            continue
        calls = sum(u.get("force_calls") or 0 for u in mine.values())
        wall = sum(u.get("wall_s") or 0.0 for u in mine.values())
        nebs = sum(1 for k in mine if "/hop/" in k or "/band/" in k)
        shared = proc in ("new", "shared")
        relax = sum(1 for k in mine if "/vacancy/" in k) if shared else 2 * nebs
        t = {
            "force_calls": calls,
            "wall_s": wall,
            "nebs": nebs,
            "endpoint_relaxations": relax,
            "atoms": max(u.get("atoms") or 0 for u in mine.values()),
            "s_per_call": wall / calls if calls else None,
            "units": len(mine),
        }
        if not shared and 0 < nebs < n_hops:
            t["extrapolated"] = _extrapolate(mine, proc, _partners(units), n_hops)
        totals[proc] = t
    return totals


def report(results: dict, enum_today, enum_new) -> str:
    n = len((enum_today or enum_new)["hops"])
    totals = summarize(results, n)
    results["totals"] = totals
    lines = [f"{'procedure':<10}{'atoms':>7}{'NEBs':>6}{'relax':>7}{'calls':>9}{'wall/s':>9}"]
    for proc, t in totals.items():
        x = t.get("extrapolated", t)
        tag = f"  (extrapolated from {t['nebs']} hops)" if "extrapolated" in t else ""
        lines.append(
            f"{proc:<10}{t['atoms']:>7}{x['nebs']:>6}{x['endpoint_relaxations']:>7}"
            f"{x['force_calls']:>9.0f}{x['wall_s']:>9.0f}{tag}"
        )
    for a, b in (("today", "new"), ("ase", "new"), ("ase", "today")):
        if a in totals and b in totals:
            ta, tb = totals[a].get("extrapolated", totals[a]), totals[b]
            results.setdefault("ratios", {})[f"{a}/{b}"] = {
                "force_calls": ta["force_calls"] / tb["force_calls"],
                "wall_s": ta["wall_s"] / tb["wall_s"],
            }
            lines.append(
                f"{a}/{b}: force calls x{ta['force_calls'] / tb['force_calls']:.2f}, "
                f"wall time x{ta['wall_s'] / tb['wall_s']:.2f}"
            )
    enum = enum_today or enum_new
    per = {p: _barriers(results["units"], p, enum) for p in ("today", "new", "shared", "ase")}
    lines.append(
        f"\n{'hop':<22}{'len/Å':>7}{'today fwd/rev':>16}{'new fwd/rev':>16}{'band':>8}"
        f"{'ASE fwd/rev':>16}{'shared(length)':>16}"
    )
    fmt = lambda v: "-" if v is None else f"{v[0]:.3f}/{v[1]:.3f}"  # noqa: E731
    for h in enum["hops"]:
        i = h["hop_id"]
        new = per["new"].get(i)
        lines.append(
            f"{i:<22}{h['length_A']:>7.3f}{fmt(per['today'].get(i)):>16}{fmt(new):>16}"
            f"{(new[2] if new else '-'):>8}{fmt(per['ase'].get(i)):>16}"
            f"{fmt(per['shared'].get(i)):>16}"
        )
    results["barriers"] = {p: {k: list(v) for k, v in d.items()} for p, d in per.items()}
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("structure")
    p.add_argument("--species", default="Li")
    p.add_argument("--symprec", type=float, default=0.1)
    p.add_argument("--procedures", default="today,new,ase")
    p.add_argument("--hops", default=None, help="hop indices for today and ase (default all)")
    p.add_argument("--ase-hops", default=None, help="hop indices for ase (default: --hops)")
    p.add_argument("--bands", default=None, help="band ids of the new procedure (default all)")
    p.add_argument(
        "--tag", default=None, help="write OUT/results_TAG.json (parallel runs of one study)"
    )
    p.add_argument("--min-length", type=float, default=10.0, help="L of both rules (Å)")
    p.add_argument("--today-min-length", type=float, default=None)
    p.add_argument("--fmax", type=float, default=0.05)
    p.add_argument("--max-steps", type=int, default=None, help="band steps (NebSettings default)")
    p.add_argument(
        "--stall-window", type=int, default=None, help="0 turns stall handling off (default 40)"
    )
    p.add_argument("--stall-fallback", default=None, help="fire, restart, ... (default fire)")
    p.add_argument(
        "--no-dynamic", action="store_true", help="FIRE without DyNEB freezing of converged images"
    )
    p.add_argument("--n-images", type=int, default=7)
    p.add_argument("--model", default="chgnet")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=None)
    p.add_argument("--resume", action="store_true")
    p.add_argument(
        "--report-only", action="store_true", help="only summarise OUT/results.json (no work)"
    )
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("ionflow.core.neb", "ionflow.jobs", "ionflow.core.hops"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    import torch

    torch.set_num_threads(args.threads)
    from pymatgen.io.ase import AseAtomsAdaptor

    from ionflow.core.io import read_structure
    from ionflow.core.neb.settings import NebSettings
    from ionflow.jobs.neb import MLIPNebMaker
    from ionflow.mlip import get_evaluator

    structure = read_structure(args.structure)
    name = Path(args.structure).name.split(".")[0]
    out = Path(args.out or HERE / "runs" / f"screen_speed_{name}")
    out.mkdir(parents=True, exist_ok=True)
    path = out / (f"results_{args.tag}.json" if args.tag else "results.json")
    results = _load(path) if args.resume or args.report_only else {"units": {}}
    if args.report_only:  # every parallel part of the study
        for part in sorted(out.glob("results_*.json")):
            for key, unit in _load(part)["units"].items():
                results["units"].setdefault(key, unit)  # the first run of a unit counts
    save = lambda: _save(path, results)  # noqa: E731
    procs = args.procedures.split(",")
    work = HERE / "runs" / "checkpoints" / out.name  # band/vacancy checkpoints (git-ignored)
    today_l = args.today_min_length or args.min_length
    enum_today = enumerate_with(structure, args.species, "length", today_l, args.symprec)
    enum_new = enumerate_with(structure, args.species, "width", args.min_length, args.symprec)
    hops = range(len(enum_today["hops"]))
    if args.hops:
        hops = [int(x) for x in args.hops.split(",")]
    results["meta"] = {
        "structure": args.structure,
        "species": args.species,
        "hops": [h["hop_id"] for h in enum_today["hops"]],
        "subset": list(hops),
        "today": {"rule": "length", "L": today_l, "atoms": enum_today["n_sites_supercell"] + 1},
        "new": {"rule": "width", "L": args.min_length, "atoms": enum_new["n_sites_supercell"] + 1},
        "fmax": args.fmax,
        "n_images": args.n_images,
        "model": args.model,
        "threads": args.threads,
        "argv": sys.argv[1:],
    }
    log.info("%s", results["meta"])
    if args.report_only:
        procs = []
    ev = get_evaluator(args.model) if procs else None
    if ev is not None:
        ev.evaluate([AseAtomsAdaptor.get_atoms(structure)])  # warm-up, not counted

    def neb_maker(sub: str) -> MLIPNebMaker:
        knobs = {
            "max_steps": args.max_steps,
            "stall_window": args.stall_window,
            "stall_fallback": args.stall_fallback,
            "dynamic": False if args.no_dynamic else None,
        }
        settings = NebSettings(fmax=args.fmax, **{k: v for k, v in knobs.items() if v is not None})
        return MLIPNebMaker(
            model=args.model,
            n_images=args.n_images,
            neb_settings=settings,
            progress=False,
            checkpoint_dir=str(work / sub),
        )

    if "new" in procs:
        only = args.bands.split(",") if args.bands else None
        run_new(enum_new, neb_maker("new"), args.species, results, save, work, "new", only)
    if "shared" in procs:  # shared work on today's supercell: the sharing alone
        run_new(enum_today, neb_maker("shared"), args.species, results, save, work, "shared")
    if "today" in procs:
        run_today(enum_today, neb_maker("today"), hops, results, save)
    ase_hops = [int(x) for x in args.ase_hops.split(",")] if args.ase_hops else hops
    results["meta"]["ase_subset"] = list(ase_hops)
    if "ase" in procs:
        run_ase(enum_today, ase_hops, ev.model, args.n_images, args.fmax, results, save)
    text = report(results, enum_today, enum_new)
    save()
    if args.report_only or not args.tag:
        (out / "summary.txt").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
