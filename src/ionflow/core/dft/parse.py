"""Labels from VASP: a finished directory or the TaskDoc atomate2 made of it.

Parsing is emmet's :class:`~emmet.core.tasks.TaskDoc` (pymatgen's Vasprun/Outcar underneath,
custodian.json for the corrections); this module only picks the label out of it and decides
whether the calculation is usable. The result is a plain :class:`DftLabel`, turned into the
stored :class:`ionflow.schemas.label.ConfigLabel` by the jobs layer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from pymatgen.core import Structure

__all__ = ["DftLabel", "kbar_to_gpa_voigt", "label_from_task_doc", "parse_vasp_dir"]

logger = logging.getLogger(__name__)

#: INCAR tags kept with each label (what makes two labels comparable).
INCAR_KEYS = ("ENCUT", "ISMEAR", "SIGMA", "EDIFF", "GGA", "METAGGA", "LDAU", "ISPIN", "KSPACING")


@dataclass
class DftLabel:
    """One configuration's DFT label (fields as :class:`ionflow.schemas.label.ConfigLabel`)."""

    structure: Structure
    energy_eV: float | None
    forces_eV_A: list[list[float]] | None
    stress_GPa: list[float] | None
    converged: bool
    labeller: str
    corrections: list[dict[str, Any]] = field(default_factory=list)
    failure_reason: str | None = None
    dir_name: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def kbar_to_gpa_voigt(stress_kbar: Any) -> list[float]:
    """VASP's 3x3 stress (kBar, positive = compressive) -> Voigt GPa, ASE sign.

    Parameters
    ----------
    stress_kbar
        3x3 stress as printed by VASP (vasprun ``stress``).

    Returns
    -------
    list of float
        ``[xx, yy, zz, yz, xz, xy]`` in GPa, positive = tensile.
    """
    s = [[-0.1 * float(x) for x in row] for row in stress_kbar]
    return [s[0][0], s[1][1], s[2][2], s[1][2], s[0][2], s[0][1]]


def _get(obj: Any, *keys: str) -> Any:
    """``obj.a.b`` or ``obj["a"]["b"]`` (a TaskDoc or its stored dict), None when absent."""
    for key in keys:
        if obj is None:
            return None
        obj = obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)
    return obj


def _plain(value: Any) -> Any:
    """JSON-plain form of a custodian correction (handlers become their class names)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if not str(k).startswith("@")}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "as_dict") and not hasattr(value, "__getitem__"):
        return type(value).__name__
    return str(value)


def _corrections(task_doc: Any) -> list[dict[str, Any]]:
    """Corrections of every custodian run of the task, oldest first."""
    out = []
    for run in _get(task_doc, "custodian") or []:
        for correction in _get(run, "corrections") or []:
            item = _plain(dict(correction))
            handler = correction.get("handler") if isinstance(correction, dict) else None
            if isinstance(handler, dict):
                item["handler"] = handler.get("@class", "handler")
            out.append(item)
    return out


def _structure(value: Any) -> Structure | None:
    from pymatgen.core import Structure

    if value is None or isinstance(value, Structure):
        return value
    return Structure.from_dict(value)


def _failure_reason(task_doc: Any, state: str) -> str | None:
    """Why a finished task is not a label (None when it is)."""
    if state == "successful":
        return None
    calc = (_get(task_doc, "calcs_reversed") or [None])[0]
    nelm = _get(calc, "input", "parameters", "NELM")
    steps = _get(calc, "output", "ionic_steps") or []
    n_elec = len(_get(steps[-1], "electronic_steps") or []) if steps else None
    if nelm is not None and n_elec is not None and n_elec >= int(nelm):
        return f"electronic SCF not converged ({n_elec} steps, NELM = {nelm})"
    completed = _get(calc, "has_vasp_completed")
    return f"VASP run not successful (state {state}, completed: {_enum_value(completed)})"


def _enum_value(value: Any) -> Any:
    return getattr(value, "value", value)


def label_from_task_doc(task_doc: Any, labeller: str = "vasp") -> DftLabel:
    """The label of one VASP static from its TaskDoc (object or stored dict).

    Parameters
    ----------
    task_doc
        emmet/atomate2 ``TaskDoc`` (or ``TaskDoc.model_dump()``).
    labeller
        Labeller name stored with the label.

    Returns
    -------
    DftLabel
        Energy (``output.energy``, sigma -> 0), forces, stress (GPa, ASE sign), the final
        structure, the custodian corrections; ``converged`` only when emmet says the task is
        successful, else a ``failure_reason``.
    """
    state = str(_enum_value(_get(task_doc, "state")))
    structure = _structure(_get(task_doc, "output", "structure"))
    if structure is None:
        structure = _structure(_get(task_doc, "structure"))
    energy = _get(task_doc, "output", "energy")
    forces = _get(task_doc, "output", "forces")
    stress = _get(task_doc, "output", "stress")
    reason = _failure_reason(task_doc, state)
    if reason is None and (energy is None or forces is None):
        reason = "no energy or forces in the VASP output"
    calc = (_get(task_doc, "calcs_reversed") or [None])[0]
    incar = _get(calc, "input", "incar") or {}
    metadata = {
        "task_label": _get(task_doc, "task_label"),
        "calc_type": str(_enum_value(_get(task_doc, "calc_type"))),
        "run_type": str(_enum_value(_get(task_doc, "run_type"))),
        "incar": {k: _plain(incar[k]) for k in INCAR_KEYS if k in incar},
        "kpoints": _plain(_get(calc, "input", "kpoints", "kpoints")),
        "vasp_version": _get(calc, "vasp_version"),
    }
    return DftLabel(
        structure=structure,
        energy_eV=None if energy is None else float(energy),
        forces_eV_A=None if forces is None else [[float(x) for x in f] for f in forces],
        stress_GPa=None if stress is None else kbar_to_gpa_voigt(stress),
        converged=reason is None,
        labeller=labeller,
        corrections=_corrections(task_doc),
        failure_reason=reason,
        dir_name=_get(task_doc, "dir_name"),
        metadata=metadata,
    )


def parse_vasp_dir(path: str | Path, labeller: str = "vasp", **task_doc_kwargs: Any) -> DftLabel:
    """The label of a finished VASP static directory (emmet's ``TaskDoc.from_directory``).

    Parameters
    ----------
    path
        Directory with vasprun.xml, OUTCAR, CONTCAR (gzipped or not) and custodian.json.
    labeller
        Labeller name stored with the label.
    **task_doc_kwargs
        Passed to ``TaskDoc.from_directory``.

    Returns
    -------
    DftLabel
        See :func:`label_from_task_doc`.
    """
    from emmet.core.tasks import TaskDoc

    return label_from_task_doc(TaskDoc.from_directory(path, **task_doc_kwargs), labeller)
