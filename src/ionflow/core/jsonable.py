"""One JSON sanitiser for the whole package (CLI output, stored summaries, checkpoints).

:func:`jsonable` turns what ionflow produces (numpy scalars and arrays, tuples, dataclasses,
pydantic documents, MSONable objects such as pymatgen structures, paths, enums) into plain
JSON types. Non-finite floats become ``None`` (JSON has no NaN), so ``json.dumps`` of the
result is strict JSON that ``jq`` and ``json.loads`` accept.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from pathlib import PurePath
from typing import Any

import numpy as np

__all__ = ["jsonable"]


def jsonable(value: Any) -> Any:
    """Return ``value`` as plain JSON types (dict, list, str, int, float, bool, None).

    Parameters
    ----------
    value
        Any nesting of dicts, sequences, numbers, numpy objects, dataclasses, pydantic models
        (``model_dump``) and MSONable objects (``as_dict``).

    Returns
    -------
    Any
        The same data in JSON types; NaN and infinities are ``None``.

    Examples
    --------
    >>> import numpy as np
    >>> jsonable({"D": np.float32(1.5), "err": float("nan"), "T": (600, 800)})
    {'D': 1.5, 'err': None, 'T': [600, 800]}
    """
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "model_dump"):
        return jsonable(value.model_dump())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    if hasattr(value, "as_dict"):
        return jsonable(value.as_dict())
    return str(value)
