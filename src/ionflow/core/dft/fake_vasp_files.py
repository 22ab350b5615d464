"""The files the fake VASP writes: vasprun.xml, OUTCAR, OSZICAR, CONTCAR (standard library only).

What pymatgen's Vasprun/Outcar/Oszicar, emmet's TaskDoc and custodian's handlers and validators
need: typed INCAR and parameter items (IBRION present), energies of every electronic step
(``NELM`` of them for an unconverged run), forces, stress in kBar with VASP's sign, a gapped
eigenvalue spectrum and a Fermi level, ``NBANDS=``/``NPLWV``/``IBRION =`` lines in OUTCAR.
Used by :mod:`ionflow.core.dft.fake_vasp`, also when that file runs as a script.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["inverse", "write_text_outputs", "write_vasprun"]


def inverse(m: list[list[float]]) -> list[list[float]]:
    """Inverse of a 3x3 matrix."""
    a, b, c = m
    det = (
        a[0] * (b[1] * c[2] - b[2] * c[1])
        - a[1] * (b[0] * c[2] - b[2] * c[0])
        + a[2] * (b[0] * c[1] - b[1] * c[0])
    )
    cof = [
        [b[1] * c[2] - b[2] * c[1], a[2] * c[1] - a[1] * c[2], a[1] * b[2] - a[2] * b[1]],
        [b[2] * c[0] - b[0] * c[2], a[0] * c[2] - a[2] * c[0], a[2] * b[0] - a[0] * b[2]],
        [b[0] * c[1] - b[1] * c[0], a[1] * c[0] - a[0] * c[1], a[0] * b[1] - a[1] * b[0]],
    ]
    return [[cof[i][j] / det for j in range(3)] for i in range(3)]


_TYPES = {
    "PREC": "string", "ALGO": "string", "GGA": "string", "METAGGA": "string", "SYSTEM": "string",
    "ISMEAR": "int", "ISPIN": "int", "NSW": "int", "IBRION": "int", "NELM": "int", "LORBIT": "int",
    "LMAXMIX": "int", "ISIF": "int", "NBANDS": "int", "KPAR": "int", "NCORE": "int", "NPAR": "int",
    "ISYM": "int", "IVDW": "int", "NELMIN": "int", "LDAUTYPE": "int", "LMIXTAU": "logical",
}  # fmt: skip


def _typed(key: str, value: str) -> tuple[str, str]:
    """VASP's typed vasprun item: (type, text); pymatgen reads untyped items as floats."""
    text = value.strip()
    if text.upper().strip(".") in ("TRUE", "FALSE", "T", "F"):
        return "logical", "T" if text.upper().strip(".").startswith("T") else "F"
    kind = _TYPES.get(key)
    if kind is None:
        try:
            float(text.split()[0])
        except ValueError:
            kind = "string"
    return kind or "", text


def _incar_xml(tags: dict[str, str], indent: str = "  ") -> str:
    out = []
    for key, value in tags.items():
        if len(value.split()) > 1 and "*" not in value and _typed(key, value)[0] != "string":
            out.append(f'{indent}<v name="{key}">{value}</v>')
            continue
        if "*" in value:  # MAGMOM = 4*0.6
            expanded = []
            for tok in value.split():
                n, _, v = tok.partition("*")
                expanded += [v] * int(n) if v else [n]
            out.append(f'{indent}<v name="{key}">{" ".join(expanded)}</v>')
            continue
        kind, text = _typed(key, value)
        type_attr = f' type="{kind}"' if kind else ""
        out.append(f'{indent}<i{type_attr} name="{key}">{text}</i>')
    return "\n".join(out)


def _varray(name: str, rows: list[list[float]], indent: str = "  ") -> str:
    body = "\n".join(f"{indent} <v>" + " ".join(f"{x:16.8f}" for x in r) + " </v>" for r in rows)
    return f'{indent}<varray name="{name}">\n{body}\n{indent}</varray>'


def _structure_xml(name: str, lattice: list[list[float]], coords: list[list[float]]) -> str:
    volume = abs(
        sum(
            lattice[0][i] * (lattice[1][(i + 1) % 3] * lattice[2][(i + 2) % 3]
                             - lattice[1][(i + 2) % 3] * lattice[2][(i + 1) % 3])
            for i in range(3)
        )
    )  # fmt: skip
    name_attr = f' name="{name}"' if name else ""
    return (
        f"<structure{name_attr}>\n <crystal>\n{_varray('basis', lattice)}\n"
        f'  <i name="volume">{volume:.8f}</i>\n{_varray("rec_basis", inverse(lattice))}\n'
        f" </crystal>\n{_varray('positions', coords, ' ')}\n</structure>"
    )


def _energy_xml(energy: float, indent: str) -> str:
    return (
        f"{indent}<energy>\n"
        f'{indent} <i name="e_fr_energy">{energy:16.8f}</i>\n'
        f'{indent} <i name="e_wo_entrp">{energy:16.8f}</i>\n'
        f'{indent} <i name="e_0_energy">{energy:16.8f}</i>\n'
        f"{indent}</energy>"
    )


def potcar_titles(kinds: list[str]) -> list[str]:
    """POTCAR titles per species, from POTCAR (TITEL) or POTCAR.spec (symbols), else PBE."""
    titles: list[str] = []
    if Path("POTCAR").exists():
        for line in Path("POTCAR").read_text().splitlines():
            if "TITEL" in line and "=" in line:
                titles.append(line.split("=", 1)[1].strip())
    elif Path("POTCAR.spec").exists():
        titles = [f"PAW_PBE {sym.strip()}" for sym in Path("POTCAR.spec").read_text().split()]
    return titles if len(titles) == len(kinds) else [f"PAW_PBE {s}" for s in kinds]


def _atominfo_xml(species: list[str]) -> str:
    kinds = list(dict.fromkeys(species))
    titles = potcar_titles(kinds)
    atoms = "\n".join(f"   <rc><c>{s:2s}</c><c>{kinds.index(s) + 1:3d}</c></rc>" for s in species)
    types = "\n".join(
        f"   <rc><c>{species.count(s):4d}</c><c>{s:2s}</c><c>1.0</c><c>1.0</c><c>  {title}</c></rc>"
        for s, title in zip(kinds, titles)
    )
    return (
        f"<atominfo>\n <atoms>{len(species)}</atoms>\n <types>{len(kinds)}</types>\n"
        ' <array name="atoms">\n  <dimension dim="1">ion</dimension>\n'
        '  <field type="string">element</field>\n  <field type="int">atomtype</field>\n'
        f"  <set>\n{atoms}\n  </set>\n </array>\n"
        ' <array name="atomtypes">\n  <dimension dim="1">type</dimension>\n'
        '  <field type="int">atomspertype</field>\n  <field type="string">element</field>\n'
        "  <field>mass</field>\n  <field>valence</field>\n"
        '  <field type="string">pseudopotential</field>\n'
        f"  <set>\n{types}\n  </set>\n </array>\n</atominfo>"
    )


def _parameters(tags: dict[str, str], n_bands: int) -> dict[str, str]:
    params = {
        "NELM": tags.get("NELM", "60"),
        "NSW": tags.get("NSW", "0"),
        "IBRION": tags.get("IBRION", "-1" if int(tags.get("NSW", "0")) <= 0 else "0"),
        "ISIF": tags.get("ISIF", "2"),
        "ISPIN": tags.get("ISPIN", "1"),
        "ISMEAR": tags.get("ISMEAR", "1"),
        "SIGMA": tags.get("SIGMA", "0.2"),
        "ENCUT": tags.get("ENCUT", "400.0"),
        "EDIFF": tags.get("EDIFF", "1e-4"),
        "LORBIT": tags.get("LORBIT", "0"),
        "NBANDS": str(n_bands),
        "GGA": tags.get("GGA", "--"),
        "METAGGA": tags.get("METAGGA", "--"),
        "LEPSILON": "F",
        "LCHIMAG": "F",
        "LDAU": tags.get("LDAU", "F"),
        "LASPH": tags.get("LASPH", "F"),
        "ALGO": tags.get("ALGO", "Normal"),
    }
    return params


def _eigenvalues_xml(n_bands: int, n_spins: int) -> str:
    """A gapped spectrum (1 eV between bands, lower half occupied) at one k-point."""
    rows = "\n".join(
        f"       <r> {-5.0 + b:10.4f} {1.0 if b < n_bands // 2 else 0.0:8.4f} </r>"
        for b in range(n_bands)
    )
    spins = "\n".join(
        f'    <set comment="spin {s + 1}">\n     <set comment="kpoint 1">\n{rows}\n'
        "     </set>\n    </set>"
        for s in range(n_spins)
    )
    return (
        '  <eigenvalues>\n   <array>\n    <dimension dim="1">band</dimension>\n'
        '    <dimension dim="2">kpoint</dimension>\n    <dimension dim="3">spin</dimension>\n'
        f"    <field>eigene</field>\n    <field>occ</field>\n    <set>\n{spins}\n"
        "    </set>\n   </array>\n  </eigenvalues>"
    )


def _dos_xml(n_bands: int, n_spins: int) -> str:
    """Fermi level mid-gap and a three-point total DOS (enough for pymatgen's band gap)."""
    efermi = -5.0 + n_bands // 2 - 0.5
    rows = "\n".join(f"       <r> {efermi + d:10.4f} 0.0000 0.0000 </r>" for d in (-1, 0, 1))
    spins = "\n".join(
        f'     <set comment="spin {s + 1}">\n{rows}\n     </set>' for s in range(n_spins)
    )
    return (
        f'  <dos>\n   <i name="efermi">{efermi:10.4f}</i>\n   <total>\n    <array>\n'
        '     <dimension dim="1">gridpoints</dimension>\n     <dimension dim="2">spin</dimension>\n'
        "     <field>energy</field>\n     <field>total</field>\n     <field>integrated</field>\n"
        f"     <set>\n{spins}\n     </set>\n    </array>\n   </total>\n  </dos>"
    )


def write_vasprun(run: dict) -> None:
    """Write vasprun.xml for a finished (or unconverged) static run."""
    tags, lattice, species, coords = run["incar"], run["lattice"], run["species"], run["coords"]
    energy, n_esteps = run["energy"], run["n_esteps"]
    kpt = run["kpoints"]
    n_spins = 2 if tags.get("ISPIN", "1").strip() == "2" else 1
    scsteps = "\n".join(
        f"  <scstep>\n{_energy_xml(energy + 10.0 ** (-i), '   ')}\n  </scstep>"
        if i < n_esteps - 1
        else f"  <scstep>\n{_energy_xml(energy, '   ')}\n  </scstep>"
        for i in range(n_esteps)
    )
    stress_kbar = [[-10.0 * x for x in row] for row in run["stress_3x3"]]
    text = f"""<?xml version="1.0" encoding="ISO-8859-1"?>
<modeling>
 <generator>
  <i name="program" type="string">vasp </i>
  <i name="version" type="string">6.4.2  </i>
  <i name="subversion" type="string">fake (ionflow.core.dft.fake_vasp) </i>
  <i name="platform" type="string">LinuxIFC </i>
  <i name="date" type="string">2026 01 01 </i>
  <i name="time" type="string">00:00:00 </i>
 </generator>
 <incar>
{_incar_xml({"IBRION": _parameters(tags, 0)["IBRION"], **tags})}
 </incar>
 <kpoints>
  <generation param="Gamma">
   <v type="int" name="divisions">{" ".join(str(d) for d in kpt)} </v>
   <v name="usershift">0.0 0.0 0.0 </v>
  </generation>
  <varray name="kpointlist">
   <v>0.0 0.0 0.0 </v>
  </varray>
  <varray name="weights">
   <v>1.0 </v>
  </varray>
 </kpoints>
 <parameters>
{_incar_xml(_parameters(tags, run["n_bands"]))}
 </parameters>
{_atominfo_xml(species)}
{_structure_xml("initialpos", lattice, coords)}
 <calculation>
{scsteps}
{_structure_xml("", lattice, coords)}
{_varray("forces", run["forces"])}
{_varray("stress", stress_kbar)}
{_energy_xml(energy, "  ")}
{_eigenvalues_xml(run["n_bands"], n_spins)}
{_dos_xml(run["n_bands"], n_spins)}
 </calculation>
{_structure_xml("finalpos", lattice, coords)}
</modeling>
"""
    Path("vasprun.xml").write_text(text)


def write_text_outputs(run: dict) -> str:
    """Write OUTCAR, OSZICAR and CONTCAR; return what VASP prints to stdout."""
    tags, energy, n_esteps = run["incar"], run["energy"], run["n_esteps"]
    ibrion = tags.get("IBRION", "-1")
    esteps = [
        f"DAV: {i + 1:3d}    {energy + 10.0 ** (-i):.12E}   {10.0 ** (-i):.5E}   "
        f"{-(10.0 ** (-i)):.5E}    16   {10.0 ** (-i):.3E}"
        for i in range(n_esteps)
    ]
    ionic = f"   1 F= {energy:.8E} E0= {energy:.8E}  d E ={energy:.6E}"
    Path("OSZICAR").write_text(
        "       N       E                     dE             d eps       ncg     rms\n"
        + "\n".join(esteps)
        + "\n"
        + ionic
        + "\n"
    )
    n_atoms = len(run["species"])
    forces = "\n".join(
        " " + " ".join(f"{x:12.5f}" for x in pos) + "   " + " ".join(f"{f:13.6f}" for f in force)
        for pos, force in zip(run["cart"], run["forces"])
    )
    Path("OUTCAR").write_text(
        f" vasp.6.4.2 (fake, ionflow.core.dft.fake_vasp)\n"
        f"   NIONS =  {n_atoms}\n"
        f"   k-points           NKPTS =      1   k-points in BZ     NKDIM =      1"
        f"   number of bands    NBANDS=    {run['n_bands']}\n"
        f"   total plane-waves  NPLWV =   32768\n"
        f"   IBRION =     {ibrion}    ionic relax: 0-MD 1-quasi-New 2-CG\n"
        f"   NSW    =      {tags.get('NSW', '0')}    number of steps for IOM\n"
        f"   ENCUT  =  {tags.get('ENCUT', '400.0')} eV\n"
        f" POSITION                                       TOTAL-FORCE (eV/Angst)\n"
        f" {'-' * 83}\n{forces}\n {'-' * 83}\n"
        f"  FREE ENERGIE OF THE ION-ELECTRON SYSTEM (eV)\n  {'-' * 46}\n"
        f"  free  energy   TOTEN  = {energy:18.8f} eV\n\n"
        f"  energy  without entropy= {energy:18.8f}  energy(sigma->0) = {energy:18.8f}\n\n"
        " General timing and accounting informations for this job:\n"
        " ========================================================\n\n"
        "                  Total CPU time used (sec):        0.010\n"
        "                            User time (sec):        0.010\n"
        "                          System time (sec):        0.000\n"
        "                         Elapsed time (sec):        0.010\n\n"
        "                   Maximum memory used (kb):       10000.\n"
        "                   Average memory used (kb):          N/A\n\n"
        "                          Minor page faults:            0\n"
        "                          Major page faults:            0\n"
        "                 Voluntary context switches:            0\n"
    )
    Path("CONTCAR").write_text(Path("POSCAR").read_text())
    return " running on    1 total cores\n" + "\n".join(esteps) + "\n" + ionic + "\n"
