"""DFT labelling: label parsing and the fake VASP used in tests.

- :mod:`~ionflow.core.dft.parse`: the label of a VASP static (emmet's ``TaskDoc``):
  :func:`parse_vasp_dir`, :func:`label_from_task_doc`, :class:`DftLabel`;
- :mod:`~ionflow.core.dft.fake_vasp`: a standard-library ``vasp`` executable that fails like
  VASP on its first run and then writes teacher labels (custodian's handler loop in tests).

Input sets and custodian come from atomate2 (:mod:`ionflow.jobs.label`).
"""

from __future__ import annotations

from ionflow.core.dft.parse import DftLabel, kbar_to_gpa_voigt, label_from_task_doc, parse_vasp_dir

__all__ = ["DftLabel", "kbar_to_gpa_voigt", "label_from_task_doc", "parse_vasp_dir"]
