"""A fake ``vasp`` executable for tests: custodian's real handler loop without VASP.

Standard library only and fast (milliseconds), so that custodian (through atomate2's
``run_vasp``) can run it as ``vasp_cmd``::

    python /path/to/fake_vasp.py --labels labels.json

(:func:`fake_vasp_command` builds this line). In the run directory it reads INCAR, KPOINTS and
POSCAR like VASP and then either

- fails like VASP: prints the tetrahedron error (``Tetrahedron method fails (number of
  k-points < 4)``) to stdout (custodian's ``vasp.out``) and OUTCAR and exits 0, when
  ``ISMEAR = -5`` with fewer than 4 k-points, or on the first run in a directory when the
  labels file asks for it (``"first_run_error": "tet"``) — custodian's ``VaspErrorHandler``
  then sets ``ISMEAR = 0, SIGMA = 0.05`` and reruns; or
- writes vasprun.xml (typed INCAR and parameters), OUTCAR (``NBANDS=``, ``IBRION =``), OSZICAR,
  CONTCAR and stdout whose energy, forces and stress are the labels of the matching
  configuration in the labels file (computed beforehand by a teacher model, see
  :func:`write_labels_file`). An entry with ``"unconverged": true`` runs ``NELM`` electronic
  steps without converging, which pymatgen and custodian report as unconverged.

A configuration is matched by species and fractional coordinates (any atom order: VASP input
sets sort the sites), so labels can be prepared from the structures before the input set is
written. No match: the fake prints an error, writes nothing and exits 1 (custodian fails the
job), never inventing a label.

Labels file (JSON)::

    {"first_run_error": "tet" | null,
     "entries": [{"species": ["Li", ...], "frac_coords": [[x, y, z], ...],
                  "lattice": [[ax, ay, az], [bx, by, bz], [cx, cy, cz]],  # Å; optional
                  "energy_eV": -12.3, "forces_eV_A": [[fx, fy, fz], ...],
                  "stress_GPa": [xx, yy, zz, yz, xz, xy],   # ASE sign (positive = tensile)
                  "unconverged": false}]}
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

if __package__:
    from ionflow.core.dft.fake_vasp_files import inverse, write_text_outputs, write_vasprun
else:  # run as a script: the sibling file, still standard library only
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from fake_vasp_files import inverse, write_text_outputs, write_vasprun

__all__ = ["TET_ERROR", "fake_vasp_command", "main", "run_fake_vasp", "write_labels_file"]

#: The message of VASP 6 that custodian's VaspErrorHandler knows as "tet".
TET_ERROR = "Tetrahedron method fails (number of k-points < 4)"
_MARKER = ".fake_vasp_runs"
_TOL = 1e-3


# ----------------------------------------------------------------------------- inputs
def read_incar(path: Path) -> dict[str, str]:
    """INCAR tags as upper-case strings (comments and ``;``-separated items handled)."""
    tags: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#")[0].split("!")[0]
        for item in line.split(";"):
            if "=" in item:
                key, value = item.split("=", 1)
                tags[key.strip().upper()] = value.strip()
    return tags


def read_poscar(path: Path) -> tuple[list[list[float]], list[str], list[list[float]]]:
    """Lattice (Å), species per atom and fractional coordinates of a VASP 5 POSCAR."""
    lines = path.read_text().splitlines()
    scale = float(lines[1].split()[0])
    lattice = [[float(x) * scale for x in lines[i].split()[:3]] for i in (2, 3, 4)]
    names = lines[5].split()
    counts = [int(x) for x in lines[6].split()]
    species = [name.split("/")[0].split("_")[0] for name, n in zip(names, counts) for _ in range(n)]
    row = 7
    if lines[row].strip()[0] in "sS":
        row += 1
    cartesian = lines[row].strip()[0] in "cCkK"
    coords = [[float(x) for x in lines[row + 1 + i].split()[:3]] for i in range(len(species))]
    if cartesian:
        inv = inverse(lattice)
        coords = [
            [sum(c[k] * scale * inv[k][j] for k in range(3)) for j in range(3)] for c in coords
        ]
    return lattice, species, coords


def count_kpoints(path: Path) -> int:
    """Number of k-points of a KPOINTS file (grid product or explicit list); 1000 if absent."""
    if not path.exists():
        return 1000  # KSPACING: assume plenty
    lines = path.read_text().splitlines()
    n = int(lines[1].split()[0])
    style = lines[2].strip()[:1].lower()
    if n == 0 and style in "gm":
        return math.prod(int(x) for x in lines[3].split()[:3])
    if n == 0:  # fully automatic (length)
        return 1000
    return n


# ----------------------------------------------------------------------------- labels
def write_labels_file(
    path: str | Path, entries: list[dict], first_run_error: str | None = "tet"
) -> Path:
    """Write the labels file the fake reads.

    Parameters
    ----------
    path
        JSON file to write.
    entries
        One dict per configuration: ``species``, ``frac_coords``, ``lattice`` (Å, rows; an
        entry without one matches any cell of the same fractional coordinates),
        ``energy_eV``, ``forces_eV_A``, ``stress_GPa`` (Voigt, ASE sign), optional
        ``unconverged``.
    first_run_error
        ``"tet"``: the first run in every directory fails with the tetrahedron error;
        ``None``: only ``ISMEAR = -5`` with < 4 k-points fails.

    Returns
    -------
    Path
        The file.
    """
    path = Path(path)
    path.write_text(json.dumps({"first_run_error": first_run_error, "entries": entries}))
    return path


def fake_vasp_command(labels_file: str | Path, python: str | None = None) -> str:
    """The ``vasp_cmd`` that runs this fake with ``labels_file``.

    Parameters
    ----------
    labels_file
        File written by :func:`write_labels_file`.
    python
        Interpreter (default: the current one).

    Returns
    -------
    str
        A shell command line.
    """
    return f'"{python or sys.executable}" "{Path(__file__).resolve()}" --labels "{labels_file}"'


def _frac_distance(a: list[float], b: list[float]) -> float:
    return max(abs((x - y) - round(x - y)) for x, y in zip(a, b))


def _same_lattice(a: list[list[float]] | None, b: list[list[float]]) -> bool:
    if a is None:  # an entry without a lattice matches any cell
        return True
    return all(abs(x - y) < _TOL for row_a, row_b in zip(a, b) for x, y in zip(row_a, row_b))


def match_entry(
    entries: list[dict],
    species: list[str],
    coords: list[list[float]],
    lattice: list[list[float]] | None = None,
) -> tuple[dict, list[int]] | None:
    """The entry matching a configuration and, per POSCAR atom, the entry's atom index."""
    for entry in entries:
        if sorted(entry["species"]) != sorted(species):
            continue
        if lattice is not None and not _same_lattice(entry.get("lattice"), lattice):
            continue
        order: list[int] = []
        used: set[int] = set()
        for sp, xyz in zip(species, coords):
            found = next(
                (
                    j
                    for j, (sp2, xyz2) in enumerate(zip(entry["species"], entry["frac_coords"]))
                    if j not in used and sp2 == sp and _frac_distance(xyz, xyz2) < _TOL
                ),
                None,
            )
            if found is None:
                break
            used.add(found)
            order.append(found)
        if len(order) == len(species):
            return entry, order
    return None


def _fail(message: str) -> int:
    banner = "EEEEEEE  RRRRRR   RRRRRR   OOOOOOO  RRRRRR      ###     ###     ###"
    block = f" {'-' * 77}\n|{' ' * 77}|\n|     {banner:<72}|\n"
    text = f" running on    1 total cores\n{block}|     {message:<72}|\n {'-' * 77}\n"
    print(text, end="")
    Path("OUTCAR").write_text(f" vasp.6.4.2 (fake)\n{text}")
    return 0


def _run_data(
    entry: dict, order: list[int], tags: dict, lattice: list, species: list, coords: list
) -> dict:
    forces = [entry["forces_eV_A"][j] for j in order]
    s = [float(x) for x in entry.get("stress_GPa") or [0.0] * 6]
    stress_3x3 = [[s[0], s[5], s[4]], [s[5], s[1], s[3]], [s[4], s[3], s[2]]]
    nelm = int(tags.get("NELM", "60"))
    cart = [[sum(c[k] * lattice[k][j] for k in range(3)) for j in range(3)] for c in coords]
    return {
        "incar": tags,
        "lattice": lattice,
        "species": species,
        "coords": coords,
        "cart": cart,
        "energy": float(entry["energy_eV"]),
        "forces": forces,
        "stress_3x3": stress_3x3,
        "n_esteps": nelm if entry.get("unconverged") else min(6, max(nelm - 1, 1)),
        "n_bands": int(tags.get("NBANDS", str(max(8, 4 * len(species))))),
        "kpoints": [1, 1, 1],
    }


def run_fake_vasp(labels_file: str | Path, directory: str | Path = ".") -> int:
    """Run one fake VASP calculation in ``directory``; return the exit code.

    Parameters
    ----------
    labels_file
        File written by :func:`write_labels_file`.
    directory
        The calculation directory (INCAR, KPOINTS, POSCAR).

    Returns
    -------
    int
        0 for a VASP-like run (failed or not), 1 when no label matches.
    """
    import os

    os.chdir(directory)
    control = json.loads(Path(labels_file).read_text())
    marker = Path(_MARKER)
    n_runs = int(marker.read_text()) if marker.exists() else 0
    marker.write_text(str(n_runs + 1))
    tags = read_incar(Path("INCAR"))
    n_kpoints = count_kpoints(Path("KPOINTS"))
    if control.get("first_run_error") == "tet" and n_runs == 0:
        return _fail(TET_ERROR)
    if int(float(tags.get("ISMEAR", "1"))) == -5 and n_kpoints < 4:
        return _fail(TET_ERROR)
    lattice, species, coords = read_poscar(Path("POSCAR"))
    found = match_entry(control.get("entries", []), species, coords, lattice)
    if found is None:
        print(f"fake vasp: no label for this {len(species)}-atom configuration in {labels_file}")
        return 1
    run = _run_data(*found, tags, lattice, species, coords)
    kpoints = Path("KPOINTS")
    if kpoints.exists() and kpoints.read_text().splitlines()[2].strip()[:1].lower() in "gm":
        run["kpoints"] = [int(x) for x in kpoints.read_text().splitlines()[3].split()[:3]]
    write_vasprun(run)
    print(write_text_outputs(run), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line: ``fake_vasp.py --labels labels.json``.

    Parameters
    ----------
    argv
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit code.
    """
    parser = argparse.ArgumentParser(description="fake VASP for tests (ionflow)")
    parser.add_argument("--labels", required=True, help="labels JSON file")
    parser.add_argument("--directory", default=".")
    args = parser.parse_args(argv)
    return run_fake_vasp(args.labels, args.directory)


if __name__ == "__main__":
    sys.exit(main())
