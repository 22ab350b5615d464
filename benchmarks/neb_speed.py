"""NEB speed: ionflow vs what users run today, on the same hop and convergence.

The hop: the nearest-neighbour Li vacancy hop in a 2x2x2 Li2O conventional supercell
(95 atoms after the vacancy), endpoints relaxed at fixed cell, IDPP start, 7 images,
climbing image, improved tangent, fmax 0.05 eV/Å, pretrained CHGNet.

(a) plain ASE: endpoints relaxed with FIRE and a ``CHGNetCalculator``; ``NEB(climb=True,
    method="improvedtangent")`` with one ``CHGNetCalculator`` per image (sharing the loaded
    weights, so model loading is not counted against it), IDPP interpolation, FIRE.
(b) atomate2 (0.1.x): ``ForceFieldNebFromEndpointsMaker`` with CHGNet; where that raises
    (atomate2 0.1.5: IndexError), its working path: ``ForceFieldRelaxMaker`` (fixed cell) for
    the endpoints, ``interpolate_endpoints_ase(..., "IDPP")`` and
    ``ForceFieldNebFromImagesMaker``.
(c) ionflow: ``run_neb`` (shared evaluator, energy+forces only, changed images only).

Prints force calls, wall time, barriers and the ratios baseline/ionflow.

    python benchmarks/neb_speed.py [--skip-atomate2] [--threads 2]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings

import numpy as np


def li2o_hop(min_length: float = 9.0):
    from pymatgen.core import Lattice, Structure

    from ionflow.core.hops import build_vacancy_endpoints, enumerate_hops

    conv = Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(4.61), ["Li", "O"], [[0.25, 0.25, 0.25], [0, 0, 0]]
    )
    hop = enumerate_hops(conv, "Li", symprec=0.1)[0]
    ends = build_vacancy_endpoints(conv, hop, min_length=min_length)
    a, b = ends.to_ase()
    return a, b, ends.moving_index, hop


def run_ionflow(a, b, moving):
    from ionflow.core.neb.engine import NebSettings, run_neb
    from ionflow.mlip import get_evaluator

    ev = get_evaluator("chgnet")
    ev.evaluate([a])  # warm-up (first call builds caches); not counted
    t = time.perf_counter()
    res = run_neb(a, b, ev, NebSettings(fmax=0.05), n_images=7, moving_index=moving, unwrap=False)
    wall = time.perf_counter() - t
    return {
        "name": "ionflow",
        "force_calls": res.force_calls,
        "endpoint_calls": res.endpoint_force_calls,
        "band_calls": res.band_force_calls,
        "band_steps": res.n_steps,
        "wall_s": wall,
        "forward": res.barrier_forward,
        "reverse": res.barrier_reverse,
        "converged": res.converged,
        "n_images": len(res.energies),
    }


def counting_chgnet_calculator(model, counter):
    from chgnet.model.dynamics import CHGNetCalculator

    class Counting(CHGNetCalculator):
        def calculate(self, *args, **kwargs):
            counter[0] += 1
            return super().calculate(*args, **kwargs)

    return Counting(model=model)


def run_plain_ase(a, b, model, n_images):
    from ase.mep import NEB
    from ase.optimize import FIRE

    counter = [0]
    t = time.perf_counter()
    ends = []
    for atoms in (a, b):
        x = atoms.copy()
        x.calc = counting_chgnet_calculator(model, counter)
        FIRE(x, logfile=None).run(fmax=0.05, steps=500)
        ends.append(x)
    endpoint_calls = counter[0]
    images = [ends[0]] + [ends[0].copy() for _ in range(n_images - 2)] + [ends[1]]
    for im in images[1:-1]:
        im.calc = counting_chgnet_calculator(model, counter)
    neb = NEB(images, climb=True, method="improvedtangent")
    neb.interpolate(method="idpp")
    opt = FIRE(neb, logfile=None)
    conv = opt.run(fmax=0.05, steps=500)
    wall = time.perf_counter() - t
    e = np.array([im.get_potential_energy() for im in images])
    return {
        "name": "plain ASE",
        "force_calls": counter[0],
        "endpoint_calls": endpoint_calls,
        "band_calls": counter[0] - endpoint_calls,
        "band_steps": opt.nsteps,
        "wall_s": wall,
        "forward": float(e.max() - e[0]),
        "reverse": float(e.max() - e[-1]),
        "converged": bool(conv),
        "n_images": len(images),
    }


def run_atomate2(a, b, n_images):
    from chgnet.model.dynamics import CHGNetCalculator
    from jobflow import run_locally
    from pymatgen.io.ase import AseAtomsAdaptor

    counter = [0]
    orig = CHGNetCalculator.calculate

    def counted(self, *args, **kwargs):
        counter[0] += 1
        return orig(self, *args, **kwargs)

    CHGNetCalculator.calculate = counted
    adaptor = AseAtomsAdaptor()
    sa, sb = adaptor.get_structure(a), adaptor.get_structure(b)
    path = "ForceFieldNebFromEndpointsMaker"
    t = time.perf_counter()
    try:
        from atomate2.forcefields.neb import ForceFieldNebFromEndpointsMaker

        maker = ForceFieldNebFromEndpointsMaker(
            force_field_name="CHGNet", neb_kwargs={"climb": True, "method": "improvedtangent"}
        )
        job = maker.make([sa, sb], n_images - 2)
        out = run_locally(job, ensure_success=True, log=False)
    except Exception as exc:
        path = (
            f"ForceFieldNebFromEndpointsMaker raised {type(exc).__name__}; used "
            "ForceFieldRelaxMaker + interpolate_endpoints_ase(IDPP) + ForceFieldNebFromImagesMaker"
        )
        counter[0] = 0
        t = time.perf_counter()
        from atomate2.ase.neb import interpolate_endpoints_ase
        from atomate2.forcefields.jobs import ForceFieldRelaxMaker
        from atomate2.forcefields.neb import ForceFieldNebFromImagesMaker

        relax = ForceFieldRelaxMaker(
            force_field_name="CHGNet", relax_cell=False, relax_kwargs={"fmax": 0.05}
        )
        relaxed = []
        for s in (sa, sb):
            rj = relax.make(s)
            res = run_locally(rj, ensure_success=True, log=False)
            relaxed.append(res[rj.uuid][1].output.structure)
        endpoint_calls = counter[0]
        images = interpolate_endpoints_ase(
            (relaxed[0], relaxed[1]), n_images - 2, interpolation_method="IDPP"
        )
        structs = [adaptor.get_structure(im) for im in images]
        neb_maker = ForceFieldNebFromImagesMaker(
            force_field_name="CHGNet",
            neb_kwargs={"climb": True, "method": "improvedtangent"},
            relax_kwargs={"fmax": 0.05},
        )
        nj = neb_maker.make(structs)
        out = run_locally(nj, ensure_success=True, log=False)
        job = nj
    else:
        endpoint_calls = None
    wall = time.perf_counter() - t
    CHGNetCalculator.calculate = orig
    doc = out[job.uuid][1].output
    energies = np.array(doc.energies)
    return {
        "name": "atomate2",
        "path": path,
        "force_calls": counter[0],
        "endpoint_calls": endpoint_calls,
        "band_calls": counter[0] - (endpoint_calls or 0),
        "band_steps": None,
        "wall_s": wall,
        "forward": float(energies.max() - energies[0]),
        "reverse": float(energies.max() - energies[-1]),
        "converged": None,
        "n_images": len(energies),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--skip-atomate2", action="store_true")
    p.add_argument("--skip-ase", action="store_true")
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.WARNING)
    import torch

    torch.set_num_threads(args.threads)
    from ionflow.mlip import get_evaluator

    a, b, moving, hop = li2o_hop()
    print(f"hop {hop.hop_id}, {hop.length:.3f} Å, {len(a)} atoms, torch threads {args.threads}")
    rows = [run_ionflow(a, b, moving)]
    n_images = rows[0]["n_images"]
    model = get_evaluator("chgnet").model
    if not args.skip_ase:
        rows.append(run_plain_ase(a, b, model, n_images))
    if not args.skip_atomate2:
        try:
            rows.append(run_atomate2(a, b, n_images))
        except ImportError as exc:
            print(f"atomate2 baseline skipped: {exc}")
    ref = rows[0]
    print(
        f"\n{'run':<12}{'calls':>7}{'(ends':>7}{'band)':>7}{'steps':>7}{'wall/s':>9}"
        f"{'fwd/eV':>9}{'rev/eV':>9}{'speed-up of ionflow':>22}"
    )
    for r in rows:
        ratio = r["wall_s"] / ref["wall_s"]
        print(
            f"{r['name']:<12}{r['force_calls']:>7}{r['endpoint_calls'] or '-':>7}"
            f"{r['band_calls']:>7}{r['band_steps'] if r['band_steps'] is not None else '-':>7}"
            f"{r['wall_s']:>9.1f}{r['forward']:>9.3f}{r['reverse']:>9.3f}"
            f"{(f'{ratio:.2f}x' if r is not ref else ''):>22}"
        )
    for r in rows[1:]:
        d = abs(r["forward"] - ref["forward"])
        print(
            f"{r['name']}: wall-time ratio {r['wall_s'] / ref['wall_s']:.2f}x, force-call ratio "
            f"{r['force_calls'] / ref['force_calls']:.2f}x, |Δ barrier| {d:.3f} eV"
            + (f"  [{r['path']}]" if r.get("path") else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
