"""Teacher demonstration: fine-tune CHGNet on SevenNet-0 labels, barrier error on held-out hops.

The teacher (SevenNet-0, ``"sevennet"``) stands in for DFT; the student is pretrained CHGNet.

1. ``teacher``: climbing-image NEB of every hop with the teacher (its barriers are the
   reference);
2. ``pretrained``: the training hops with pretrained CHGNet (their bands join the dataset);
3. ``label``: band images of the TRAINING hops only (teacher's and student's bands, endpoints
   included; optionally ±3 % strained endpoints and rattled copies) labelled by the teacher
   (energy, forces, stress), written as extxyz;
4. ``finetune``: CHGNet fine-tuned on that dataset (lian2025: efs, MSE, energy 1 / force 1 /
   stress 0.1, RAdam, lr 1e-3, 80/10/10 split, early stopping);
5. ``heldout``: each held-out hop with pretrained CHGNet ("before") and the fine-tuned
   checkpoint ("after"), hop by hop;
6. ``finetuned``: the training hops with the fine-tuned checkpoint.

Held-out hops are never in the dataset: two hops of training structures (their reverse hops
are not used either) and every hop of one held-out structure (Li2O2). Results go to
``benchmarks/runs/teacher_finetune.json`` after every hop; bands and NEB checkpoints to
``benchmarks/runs/teacher_finetune_work/``, so a killed run continues where it stopped::

    OMP_NUM_THREADS=1 nohup .venv/bin/python benchmarks/teacher_finetune.py --resume \
        > benchmarks/runs/teacher_finetune.log 2>&1 &

``--stop-after STAGE`` stops after a stage; ``--resume`` keeps what the results file holds.
A fine-tuning variant on the same bands and dataset (e.g. without the stress term)::

    python benchmarks/teacher_finetune.py --from-results benchmarks/runs/teacher_finetune.json \
        --out benchmarks/runs/teacher_finetune_c.json --work benchmarks/runs/teacher_finetune_work_c \
        --targets ef --epochs 20 --patience 20
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
from pathlib import Path

import numpy as np
from barrier_accuracy import _step_printer  # same folder: one band-progress printer

HERE = Path(__file__).resolve().parent
RUNS = HERE / "runs"
STAGES = ("teacher", "pretrained", "label", "finetune", "heldout", "finetuned")
TEACHER = "sevennet"
STUDENT = "chgnet"

#: (structure, hop id, role): role "train" hops feed the dataset; the others are held out.
HOPS = [
    ("Li3N", "Li2(2c)->Li2(2c)", "train"),
    ("Li3N", "Li1(1b)->Li2(2c)", "train"),
    ("Li2O", "Li1(8c)->Li1(8c)", "train"),
    ("LiFePO4", "Li1(2a)->Li2(2b)", "train"),
    ("Li3N", "Li1(1b)->Li1(1b)", "heldout_hop"),
    ("LiFePO4", "Li1(2a)->Li1(2a)", "heldout_hop"),
    ("Li2O2", "Li1(2a)->Li2(2c)", "heldout_structure"),
    ("Li2O2", "Li1(2a)->Li1(2a)", "heldout_structure"),
]
#: supercell_min_length (Å) per structure: small cells keep this within an hour on 2 cores.
MIN_LENGTH = {"Li3N": 7.0, "Li2O": 6.5, "LiFePO4": 6.0, "Li2O2": 6.0}


def structures() -> dict:
    """The unit cells (pymatgen's test structures, Li3N built from its Wyckoff sites)."""
    from pymatgen.core import Lattice, Structure
    from pymatgen.util.testing import MatSciTest

    li3n = Structure.from_spacegroup(
        "P6/mmm",
        Lattice.hexagonal(3.65, 3.87),
        ["Li", "Li", "N"],
        [[0, 0, 0.5], [1 / 3, 2 / 3, 0], [0, 0, 0]],
    )
    return {
        "Li3N": li3n,
        "Li2O": MatSciTest.get_structure("Li2O").get_primitive_structure(),
        "LiFePO4": MatSciTest.get_structure("LiFePO4"),
        "Li2O2": MatSciTest.get_structure("Li2O2"),
    }


def hop_key(formula: str, hop_id: str) -> str:
    """A file-name-safe key of one hop."""
    safe = hop_id.replace("(", "").replace(")", "").replace("->", "-")
    return f"{formula}_{safe}"


def endpoints(cells: dict, formula: str, hop_id: str):
    """Vacancy-mechanism endpoints (ASE) of one hop."""
    from ionflow.core.hops.endpoints import build_vacancy_endpoints
    from ionflow.core.hops.enumerate import enumerate_hops

    hops = {h.hop_id: h for h in enumerate_hops(cells[formula], "Li")}
    ep = build_vacancy_endpoints(cells[formula], hops[hop_id], min_length=MIN_LENGTH[formula])
    a, b = ep.to_ase()
    return a, b, ep.moving_index, float(hops[hop_id].length)


def run_band(args, cells, formula, hop_id, model_label, evaluator) -> dict:
    """One NEB (checkpointed); the band is saved as npz; returns the result row."""
    from ionflow.core.neb.engine import NebSettings, run_neb

    work = args.work
    key = hop_key(formula, hop_id)
    a, b, moving, length = endpoints(cells, formula, hop_id)
    settings = NebSettings(fmax=args.fmax, max_steps=args.max_steps)
    ckpt = work / "checkpoints" / f"{model_label}_{key}.npz"
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    res = run_neb(
        a,
        b,
        evaluator,
        settings,
        n_images=args.n_images,
        moving_index=moving,
        unwrap=False,
        progress=_step_printer(f"{model_label} {key}", 20),
        checkpoint=ckpt,
        checkpoint_every=5,
    )
    if res.converged:
        ckpt.unlink(missing_ok=True)
    band = work / "bands" / f"{model_label}_{key}.npz"
    band.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        band,
        positions=res.positions,
        numbers=res.numbers,
        cell=res.cell,
        energies=np.asarray(res.energies),
    )
    fwd = res.barrier_forward
    return {
        "barrier_forward_eV": fwd if math.isfinite(fwd) else None,
        "barrier_reverse_eV": res.barrier_reverse if math.isfinite(res.barrier_reverse) else None,
        "converged": bool(res.converged),
        "failure_reason": res.failure_reason,
        "n_atoms": len(a),
        "hop_length_A": length,
        "n_images": len(res.energies),
        "force_calls": res.force_calls,
        "wall_time_s": round(time.perf_counter() - t0, 1),
        "band_file": _rel(band),
    }


def _rel(path: Path) -> str:
    """``path`` relative to the repository when inside it (the results file travels)."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(HERE.parent))
    except ValueError:
        return str(path)


def stage_neb(args, results, cells, model_label, spec, roles=None, hops=None) -> None:
    """NEB of every hop (of ``roles``) with one model; hops already in ``results`` are kept."""
    from ionflow.mlip import get_evaluator

    for formula, hop_id, role in hops or HOPS:
        if roles is not None and role not in roles:
            continue
        row = results["hops"].setdefault(
            hop_key(formula, hop_id), {"structure": formula, "hop_id": hop_id, "role": role}
        )
        if model_label in row:
            continue
        print(f"[{model_label}] {formula} {hop_id} ({role})", flush=True)
        evaluator = get_evaluator(spec)  # loaded once per process
        row[model_label] = run_band(args, cells, formula, hop_id, model_label, evaluator)
        r = row[model_label]
        print(
            f"[{model_label}] {formula} {hop_id}: forward {r['barrier_forward_eV']} eV, "
            f"converged {r['converged']}, {r['force_calls']} calls, {r['wall_time_s']} s",
            flush=True,
        )
        save(args, results)


def stage_heldout(args, results, cells) -> None:
    """Before and after on each held-out hop in turn (each finished hop is a pair)."""
    spec = results["finetune"]["model_spec"]
    for formula, hop_id, role in HOPS:
        if role == "train":
            continue
        for model_label, model in (("pretrained", STUDENT), ("finetuned", spec)):
            one = [(formula, hop_id, role)]
            stage_neb(args, results, cells, model_label, model, roles=None, hops=one)


def band_atoms(path: Path) -> list:
    """The images of a saved band as ASE Atoms."""
    from ase import Atoms

    data = np.load(path)
    return [
        Atoms(numbers=data["numbers"], positions=pos, cell=data["cell"], pbc=True)
        for pos in data["positions"]
    ]


def training_configs(args, results) -> list:
    """Unlabelled training configurations: band images of the training hops (both models).

    ``--rattle`` adds a rattled copy of each teacher image, ``--strain`` ±3 % strained
    endpoints (deng2025); both are off by default: CHGNet training with stress costs several
    seconds per 30-atom configuration and epoch on this CPU.
    """
    from ionflow.core.training import strain_configs

    rng = np.random.default_rng(args.seed)
    configs = []
    for key, row in results["hops"].items():
        if row["role"] != "train":
            continue
        for model_label in ("teacher", "pretrained"):
            if model_label not in row:
                continue
            images = band_atoms(HERE.parent / row[model_label]["band_file"])
            for i, atoms in enumerate(images):
                atoms.info.update(source=f"{model_label} neb {key}", image=i)
                configs.append(atoms)
            if model_label != "teacher":
                continue
            for i, atoms in enumerate(images[1:-1] if args.rattle > 0 else [], start=1):
                rattled = atoms.copy()
                rattled.positions += rng.normal(0, args.rattle, rattled.positions.shape)
                rattled.info.update(source=f"rattled teacher neb {key}", image=i)
                configs.append(rattled)
            for strained in strain_configs(images[0]) if args.strain else []:
                strained.info.update(source=f"strained teacher endpoint {key}")
                configs.append(strained)
    return configs


def stage_label(args, results) -> None:
    """Label the training configurations with the teacher; write the dataset as extxyz."""
    from ase.calculators.singlepoint import SinglePointCalculator

    from ionflow.core.training import write_extxyz
    from ionflow.mlip import get_evaluator

    dataset = args.work / "dataset.extxyz"
    if "dataset" in results and dataset.is_file():
        return
    configs = training_configs(args, results)
    t0 = time.perf_counter()
    teacher = get_evaluator(TEACHER)
    preds = teacher.evaluate(configs, stress=True)
    for atoms, pred in zip(configs, preds):
        atoms.calc = SinglePointCalculator(
            atoms, energy=pred.energy, forces=pred.forces, stress=pred.stress
        )
        atoms.info["labeller"] = TEACHER
    write_extxyz(configs, dataset)
    results["dataset"] = {
        "file": _rel(dataset),
        "n_configs": len(configs),
        "n_atoms_total": int(sum(len(a) for a in configs)),
        "labeller": TEACHER,
        "label_time_s": round(time.perf_counter() - t0, 1),
        "training_hops": [k for k, r in results["hops"].items() if r["role"] == "train"],
    }
    print(f"[label] {len(configs)} configurations labelled -> {dataset}", flush=True)
    save(args, results)


def stage_finetune(args, results) -> None:
    """Fine-tune CHGNet on the dataset (lian2025 settings)."""
    from ionflow.core.training import FineTuneSettings, get_backend, read_extxyz, split_dataset

    if "finetune" in results and Path(results["finetune"]["checkpoint"]).is_file():
        return
    configs = read_extxyz(args.work / "dataset.extxyz")
    split = split_dataset(configs, seed=args.seed)
    settings = FineTuneSettings(
        base_model=args.base_model,
        targets=args.targets,
        energy_weight=args.energy_weight,
        stress_weight=args.stress_weight,
        learning_rate=args.lr,
        epochs=args.epochs,
        patience=args.patience,
        batch_size=args.batch_size,
        seed=args.seed,
        progress=False,
    )
    out_dir = args.work / "finetune"
    result = get_backend("chgnet").train(split.train, split.val, split.test, settings, out_dir)
    results["finetune"] = {
        "checkpoint": str(result.checkpoint),
        "model_spec": result.model_spec,
        "metrics": result.metrics,
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "reference_shift": result.reference_shift,
        "history": result.history,
        "wall_time_s": result.wall_time_s,
        "curve_png": str(result.curve_png) if result.curve_png else None,
        "settings": settings.as_plain_dict(),
        "split_sizes": [len(split.train), len(split.val), len(split.test)],
    }
    print(f"[finetune] {json.dumps(results['finetune']['metrics'])}", flush=True)
    save(args, results)


def summarise(results) -> dict:
    """Barrier errors against the teacher, before and after, per role."""
    out = {}
    for role in ("train", "heldout_hop", "heldout_structure", "heldout_all"):
        rows = [
            r
            for r in results["hops"].values()
            if (r["role"] == role or (role == "heldout_all" and r["role"] != "train"))
            and r.get("teacher", {}).get("barrier_forward_eV") is not None
        ]
        entry = {"n_hops": len(rows)}
        for model_label in ("pretrained", "finetuned"):
            errs = [
                r[model_label]["barrier_forward_eV"] - r["teacher"]["barrier_forward_eV"]
                for r in rows
                if r.get(model_label, {}).get("barrier_forward_eV") is not None
            ]
            if errs:
                entry[f"{model_label}_mae_eV"] = float(np.mean(np.abs(errs)))
                entry[f"{model_label}_n"] = len(errs)
        out[role] = entry
    return out


def save(args, results) -> None:
    """Write the results file (partial until the last stage is done)."""
    results["summary"] = summarise(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str))


def print_table(results) -> None:
    """Per-hop barriers and errors (``*``: that band did not converge)."""
    models = ("teacher", "pretrained", "finetuned")
    print(f"{'hop':<26}{'role':<19}{'teacher':>9}{'pre':>9}{'ft':>9}{'err pre':>9}{'err ft':>9}")
    for key, r in results["hops"].items():
        vals = [r.get(m, {}).get("barrier_forward_eV") for m in models]
        flags = ["" if r.get(m, {}).get("converged", True) else "*" for m in models]
        t = vals[0]
        errs = [None if (v is None or t is None) else v - t for v in vals[1:]]
        cells = [f"{v:.3f}{f}" if v is not None else "-" for v, f in zip(vals, flags)]
        cells += [f"{e:+.3f}" if e is not None else "-" for e in errs]
        print(f"{key:<26}{r['role']:<19}" + "".join(f"{c:>9}" for c in cells))
    print(json.dumps(results["summary"], indent=1))


def variant_of(args) -> dict:
    """Results seeded from another run: same bands (and dataset), nothing fine-tuned yet."""
    import shutil

    base = json.loads(args.from_results.read_text())
    hops = {k: {m: v for m, v in r.items() if m != "finetuned"} for k, r in base["hops"].items()}
    args.work.mkdir(parents=True, exist_ok=True)
    if args.rattle > 0 or args.strain:  # a bigger dataset: labelled again from the same bands
        return {"hops": hops, "variant_of": _rel(args.from_results)}
    shutil.copy(HERE.parent / base["dataset"]["file"], args.work / "dataset.extxyz")
    dataset = {**base["dataset"], "file": _rel(args.work / "dataset.extxyz")}
    return {"hops": hops, "dataset": dataset, "variant_of": _rel(args.from_results)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", type=Path, default=RUNS / "teacher_finetune.json")
    p.add_argument("--work", type=Path, default=RUNS / "teacher_finetune_work")
    p.add_argument("--resume", action="store_true", help="keep what the results file holds")
    p.add_argument("--stop-after", choices=STAGES, default=STAGES[-1])
    p.add_argument("--fmax", type=float, default=0.05)
    p.add_argument("--max-steps", type=int, default=300)
    p.add_argument("--n-images", type=int, default=7)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--patience", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--rattle", type=float, default=0.0, help="Å; > 0 adds rattled copies")
    p.add_argument("--strain", action="store_true", help="add ±3 %% strained endpoints")
    p.add_argument("--targets", choices=("efs", "ef"), default="efs")
    p.add_argument("--energy-weight", type=float, default=1.0)
    p.add_argument("--stress-weight", type=float, default=0.1)
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate (lian2025: 1e-3)")
    p.add_argument(
        "--base-model",
        default=STUDENT,
        help="model the fine-tune starts from (default: pretrained CHGNet; a chgnet:/path "
        "checkpoint continues an earlier run's model)",
    )
    p.add_argument(
        "--from-results",
        type=Path,
        default=None,
        help="start from another run's results (its teacher and pretrained bands, dataset): "
        "a fine-tuning variant on the same data",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)

    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    torch.set_num_threads(args.threads)
    results = {"hops": {}}
    if args.resume and args.out.is_file():
        results = json.loads(args.out.read_text())
    elif args.from_results:
        results = variant_of(args)
    results.update(
        teacher=TEACHER,
        student=STUDENT,
        neb={"fmax": args.fmax, "max_steps": args.max_steps, "n_images": args.n_images},
        min_length_A=MIN_LENGTH,
        partial=True,
    )
    cells = structures()
    last = STAGES.index(args.stop_after)
    stage_neb(args, results, cells, "teacher", TEACHER)
    if last >= 1:  # the student's bands of the training hops feed the dataset
        stage_neb(args, results, cells, "pretrained", STUDENT, roles={"train"})
    if last >= 2:
        stage_label(args, results)
    if last >= 3:
        stage_finetune(args, results)
    if last >= 4:  # the numbers that matter first: before/after on held-out hops
        stage_heldout(args, results, cells)
    if last >= 5:  # then the training hops after fine-tuning
        stage_neb(args, results, cells, "finetuned", results["finetune"]["model_spec"])
        results["partial"] = False
    save(args, results)
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
