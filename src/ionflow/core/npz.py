"""Atomic ``.npz`` checkpoint files shared by the MD and NEB engines.

A checkpoint is a set of named arrays plus a JSON metadata record, written to a temporary file
and renamed over the old one, so a process killed mid-write leaves the previous checkpoint
intact.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

META_KEY = "__meta__"


def write_npz(path: str | Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write ``arrays`` plus JSON ``meta`` to ``path`` atomically (temporary file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        np.savez(handle, **{META_KEY: np.array(json.dumps(meta, default=_json_default))}, **arrays)
    os.replace(tmp, path)


def read_npz(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``(arrays, meta)`` of a file written by :func:`write_npz`."""
    with np.load(Path(path), allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files if key != META_KEY}
        meta = json.loads(str(data[META_KEY]))
    return arrays, meta


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")
