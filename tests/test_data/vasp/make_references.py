"""Regenerate the reference VASP directories of tests/jobs/test_label.py (atomate2 layout).

Run from the repository root (seconds, no VASP, no POTCARs)::

    .venv/bin/python tests/test_data/vasp/make_references.py

Each ``<name>/inputs`` holds what :class:`ionflow.jobs.label.VaspStaticLabelMaker` must write
(INCAR, KPOINTS, POSCAR, POTCAR.spec: atomate2's ``fake_run_vasp`` checks them) and each
``<name>/outputs`` what the fake VASP (``ionflow.core.dft.fake_vasp``) wrote for fixed labels
(vasprun.xml, OUTCAR, OSZICAR, CONTCAR), all gzipped. Rerun it only when the input sets are
meant to change; a change of INCAR defaults then shows in the diff of ``inputs/INCAR.gz``.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from pymatgen.core import Lattice, Structure

from ionflow.core.dft.fake_vasp import fake_vasp_command, write_labels_file
from ionflow.jobs.label import VaspStaticLabelMaker

HERE = Path(__file__).parent
INPUTS = ("INCAR", "KPOINTS", "POSCAR", "POTCAR.spec")
OUTPUTS = ("vasprun.xml", "OUTCAR", "OSZICAR", "CONTCAR")


def li2o() -> Structure:
    """Antifluorite Li2O primitive cell (3 atoms), as ``tests/conftest.py::li2o_primitive``."""
    conv = Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(4.61), ["Li", "O"], [[0.25, 0.25, 0.25], [0, 0, 0]]
    )
    return conv.get_primitive_structure()


def labels(structure: Structure) -> list[dict]:
    """Fixed, made-up labels (the reference tests check plumbing, not physics)."""
    forces = [[0.01 * (i + 1), -0.02 * (i + 1), 0.0] for i in range(len(structure))]
    forces[-1] = [-sum(f[0] for f in forces[:-1]), -sum(f[1] for f in forces[:-1]), 0.0]
    return [
        {
            "species": [site.specie.symbol for site in structure],
            "frac_coords": structure.frac_coords.tolist(),
            "lattice": structure.lattice.matrix.tolist(),
            "energy_eV": -14.25,
            "forces_eV_A": forces,
            "stress_GPa": [0.5, 0.5, 0.5, 0.0, 0.0, 0.0],
        }
    ]


def make_reference(name: str, maker: VaspStaticLabelMaker, structure: Structure) -> None:
    """Write ``<name>/inputs`` and ``<name>/outputs``, gzipped."""
    from atomate2.vasp.files import write_vasp_input_set

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        generator = maker.static_maker().input_set_generator
        write_vasp_input_set(structure, generator, directory=work, potcar_spec=True)
        labels_file = write_labels_file(work / "labels.json", labels(structure), None)
        cmd = fake_vasp_command(labels_file)
        subprocess.run(cmd, shell=True, cwd=work, check=True, stdout=subprocess.DEVNULL)
        for sub, files in (("inputs", INPUTS), ("outputs", OUTPUTS)):
            target = HERE / name / sub
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            for fname in files:
                if (work / fname).exists():
                    data = (work / fname).read_bytes()
                    (target / f"{fname}.gz").write_bytes(gzip.compress(data, mtime=0))
    print(f"wrote {HERE / name}")


def main() -> int:
    """Write every reference directory."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    make_reference("Li2O_pbe_static", VaspStaticLabelMaker(), li2o())
    make_reference("Li2O_r2scan_static", VaspStaticLabelMaker(functional="r2scan"), li2o())
    return 0


if __name__ == "__main__":
    sys.exit(main())
