"""Atomic ``.npz`` checkpoint files shared by the MD and NEB engines.

A checkpoint is a set of named arrays plus a JSON metadata record, written to a temporary file
and renamed over the old one, so a process killed mid-write leaves the previous checkpoint
intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ionflow.core.jsonable import jsonable

META_KEY = "__meta__"


def write_npz(path: str | Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write ``arrays`` plus JSON ``meta`` to ``path`` atomically (temporary file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        np.savez(handle, **{META_KEY: np.array(json.dumps(jsonable(meta)))}, **arrays)
    os.replace(tmp, path)


def read_npz(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``(arrays, meta)`` of a file written by :func:`write_npz`."""
    with np.load(Path(path), allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files if key != META_KEY}
        meta = json.loads(str(data[META_KEY]))
    return arrays, meta


def checkpoint_path(directory: str | Path, kind: str, name: str, key: Any) -> Path:
    """The checkpoint file of one calculation: ``DIR/<kind>_<name>_<hash of key>.npz``.

    One naming rule for MD and NEB: a rerun of the same calculation (same ``key``: structure,
    settings, model, ...) finds its file; a changed calculation gets another name and starts
    afresh instead of colliding with the old file.

    Parameters
    ----------
    directory
        Checkpoint directory (``~`` is expanded).
    kind
        ``"md"`` or ``"neb"``.
    name
        Readable part (formula, hop, temperature, seed, model); unsafe characters become ``_``.
    key
        Anything :func:`~ionflow.core.jsonable.jsonable` accepts; its SHA-1 (12 hex digits)
        ends the name.

    Returns
    -------
    Path
        The checkpoint path (its directory is not created).
    """
    blob = json.dumps(jsonable(key), sort_keys=True)
    digest = hashlib.sha1(blob.encode(), usedforsecurity=False).hexdigest()[:12]
    safe = re.sub(r"[^A-Za-z0-9_.+-]+", "_", f"{kind}_{name}").strip("_")
    return Path(directory).expanduser() / f"{safe}_{digest}.npz"
