"""``ionflow label``: energy, forces and stress of configurations, by VASP or a teacher MLIP."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ionflow.cli.common import (
    add_command,
    add_json_option,
    check_model,
    configure_torch,
    fmt,
    print_json,
    run_on_store,
)
from ionflow.errors import IonflowError, IonflowInputError

if TYPE_CHECKING:
    import argparse
    from typing import TextIO

    from pymatgen.core import Structure

logger = logging.getLogger(__name__)

#: Files read frame by frame (every frame is a configuration); others give one structure.
MULTI_FRAME = (".extxyz", ".xyz", ".traj")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``ionflow label``."""
    parser = add_command(
        subparsers,
        "label",
        "label configurations (energy, forces, stress) with VASP or a teacher model",
        run,
        description="Label configurations with VASP statics (atomate2's MP input sets, "
        "custodian) or a teacher MLIP; both give the same labels. Every frame of an extxyz/"
        "traj file is a configuration. Unconverged or failed calculations are reported, never "
        "written as labels. Exit status 1 when any configuration was not labelled.",
    )
    parser.add_argument("configs", nargs="+", help="structure files (CIF, POSCAR, extxyz, ...)")
    add_labeller_options(parser, workdir="ionflow-label")
    parser.add_argument(
        "--output",
        default=None,
        help="extxyz file for the labels: energy, forces, stress (default: none written)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (default: IONFLOW_TORCH_THREADS, else torch's own)",
    )
    add_json_option(parser)


def add_labeller_options(parser: argparse.ArgumentParser, workdir: str) -> None:
    """``--labeller`` with its VASP and teacher options (``label`` and ``discover``).

    Parameters
    ----------
    parser
        The command's parser.
    workdir
        Default of ``--workdir`` (VASP calculation directories).
    """
    parser.add_argument(
        "--labeller",
        required=True,
        help="vasp (PBE, MP-compatible), vasp:r2scan, or a model spec (sevennet, chgnet, "
        'a checkpoint, {"@module": ..., "@callable": ...})',
    )
    vasp = parser.add_argument_group("VASP (--labeller vasp)")
    vasp.add_argument(
        "--encut",
        type=float,
        default=None,
        help="ENCUT in eV (default: the input set's, 520 PBE, 680 r2SCAN)",
    )
    vasp.add_argument(
        "--kpoint-density",
        type=float,
        default=None,
        help="k-points per Å⁻³ of reciprocal volume (default: the input set's)",
    )
    vasp.add_argument(
        "--kspacing",
        type=float,
        default=None,
        help="VASP KSPACING in Å⁻¹ instead of a KPOINTS file (default: none)",
    )
    vasp.add_argument(
        "--vasp-cmd", default=None, help="command that runs VASP (default: atomate2's VASP_CMD)"
    )
    vasp.add_argument(
        "--workdir", default=workdir, help="one calculation directory per job in here"
    )
    vasp.add_argument(
        "--potcar-spec",
        action="store_true",
        help="write POTCAR.spec instead of POTCAR (no POTCARs: dry runs, a fake vasp)",
    )
    vasp.add_argument(
        "--custodian-polling",
        type=float,
        default=None,
        help="custodian polling interval in s (default: custodian's 10 s)",
    )
    teacher = parser.add_argument_group("teacher model (--labeller MODEL_SPEC)")
    teacher.add_argument("--batch-size", type=int, default=16, help="configurations per call")


def read_configs(paths: list[str]) -> tuple[list[Structure], list[dict[str, Any]]]:
    """Configurations and their provenance (file, frame) from structure files.

    Parameters
    ----------
    paths
        Structure files; extxyz/xyz/traj files give every frame.

    Returns
    -------
    tuple
        Structures and one ``{"kind": "user", "file", "frame"}`` per structure.
    """
    import ase.io
    from pymatgen.io.ase import AseAtomsAdaptor

    from ionflow.core.io import read_structure

    structures, sources = [], []
    for path in paths:
        if not Path(path).is_file():
            raise IonflowInputError(f"configuration file {path!r} does not exist")
        if Path(path).suffix.lower() in MULTI_FRAME:
            try:
                frames = ase.io.read(path, index=":")
            except Exception as exc:
                raise IonflowInputError(f"{path}: cannot be read: {exc}") from exc
            for i, atoms in enumerate(frames):
                if not atoms.pbc.all():
                    raise IonflowInputError(f"{path} frame {i}: not periodic in 3D")
                structures.append(AseAtomsAdaptor.get_structure(atoms))
                sources.append({"kind": "user", "file": str(path), "frame": i})
        else:
            structures.append(read_structure(path))
            sources.append({"kind": "user", "file": str(path)})
    if not structures:
        raise IonflowInputError("no configuration in the given files")
    return structures, sources


def labeller_maker(args: argparse.Namespace) -> Any:
    """The labelling Maker of the ``--labeller`` options (checked: exit 2 on bad input)."""
    from ionflow.jobs.label import label_maker

    if args.labeller.split(":")[0].lower() != "vasp":
        check_model(args.labeller)
        configure_torch(args.threads)
        maker = label_maker(args.labeller, batch_size=args.batch_size)
        load_model(args.labeller, "teacher")
        return maker
    run_vasp_kwargs: dict[str, Any] = {}
    if args.vasp_cmd:
        run_vasp_kwargs["vasp_cmd"] = args.vasp_cmd
    if args.custodian_polling:
        run_vasp_kwargs["custodian_kwargs"] = {
            "polling_time_step": args.custodian_polling,
            "monitor_freq": 1,
        }
    return label_maker(
        args.labeller,
        encut=args.encut,
        kpoint_density=args.kpoint_density,
        kspacing=args.kspacing,
        run_vasp_kwargs=run_vasp_kwargs,
        write_input_set_kwargs={"potcar_spec": True} if args.potcar_spec else {},
    )


def load_model(spec: str, role: str) -> None:
    """Load ``spec`` now (once per process; the jobs run here reuse it).

    A corrupt checkpoint or a calculator that cannot be built is then bad input (exit 2,
    naming the file) before anything runs, instead of a failed job.

    Parameters
    ----------
    spec
        The model spec.
    role
        What the model is for, in the message (``"teacher"``, ``"model"``).

    Raises
    ------
    IonflowInputError
        When the model cannot be loaded.
    """
    from ionflow.mlip import ModelLoadError, get_evaluator

    try:
        get_evaluator(spec)
    except ModelLoadError as exc:
        raise IonflowInputError(f"{role} {spec!r} cannot be loaded: {exc}") from exc


def run_in_folders(job: Any, workdir: str) -> Any:
    """Run a flow with one directory per job under ``workdir`` (VASP statics need their own)."""
    from jobflow import run_locally

    from ionflow.store import get_store

    root = Path(workdir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    store = get_store()
    run_locally(
        job, store=store, log=False, ensure_success=False, create_folders=True, root_dir=root
    )
    store.connect()
    return store


def run(args: argparse.Namespace) -> int:
    """Label ``args.configs``; exit status 1 when any configuration was not labelled."""
    from ionflow.jobs.label import VaspStaticLabelMaker
    from ionflow.schemas.label import LabelSetDoc
    from ionflow.store import output_as_dict

    structures, sources = read_configs(args.configs)
    maker = labeller_maker(args)
    job = maker.make(structures, sources)
    if isinstance(maker, VaspStaticLabelMaker):
        store = run_in_folders(job, args.workdir)
    else:
        store = run_on_store(job)
    out = output_as_dict(store, job.uuid, load=True)
    if out is None:
        raise IonflowError("the labelling job produced no output; see the log above")
    doc = LabelSetDoc.model_validate(out)
    if args.output and doc.labels:
        import ase.io

        ase.io.write(args.output, doc.to_atoms_list(), format="extxyz")
    summary = _summary(doc, args.output if doc.labels else None)
    if args.json:
        print_json(summary, args.stdout)
    else:
        _print_summary(summary, args.stdout)
    return 0 if doc.n_failed == 0 else 1


def _summary(doc: Any, output: str | None) -> dict[str, Any]:
    import numpy as np

    labels = [
        {
            "index": label.source.get("index"),
            "source": label.source,
            "formula": label.structure.composition.formula,
            "energy_eV": label.energy_eV,
            "energy_per_atom_eV": label.energy_per_atom_eV,
            "max_force_eV_A": float(np.linalg.norm(label.forces_eV_A, axis=1).max())
            if label.forces_eV_A
            else None,
            "n_corrections": len(label.corrections),
        }
        for label in doc.labels
    ]
    failed = [
        {"index": f.source.get("index"), "source": f.source, "failure_reason": f.failure_reason}
        for f in doc.failed
    ]
    return {
        "labeller": doc.labeller,
        "n_ok": doc.n_ok,
        "n_failed": doc.n_failed,
        "n_corrections": doc.n_corrections,
        "output": output,
        "labels": labels,
        "failed": failed,
    }


def _print_summary(summary: dict[str, Any], out: TextIO) -> None:
    print(
        f"labeller {summary['labeller']}: {summary['n_ok']} labelled, "
        f"{summary['n_failed']} failed, {summary['n_corrections']} custodian corrections",
        file=out,
    )
    for row in summary["labels"]:
        print(
            f"  {row['index']:>4}  {row['formula']:<16} E = {fmt(row['energy_eV'], '.4f')} eV "
            f"({fmt(row['energy_per_atom_eV'], '.4f')} eV/atom), max |F| = "
            f"{fmt(row['max_force_eV_A'])} eV/Å",
            file=out,
        )
    for row in summary["failed"]:
        print(f"  {row['index']:>4}  not labelled: {row['failure_reason']}", file=out)
    if summary["output"]:
        print(f"labels written to {summary['output']}", file=out)
