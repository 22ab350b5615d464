"""The JobStore ionflow writes to and reads from.

On one machine the default is an embedded, persistent MontyDB store (maggma ``MontyStore``) in
``IONFLOW_STORE_DIR``: documents in ``outputs`` and big arrays (NEB images, trajectories) in the
``data`` store ``outputs_blobs``. On a cluster, a jobflow store configuration (MongoDB + GridFS in
``~/.jobflow.yaml``) takes over automatically.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ionflow.settings import IonflowSettings, get_settings
from ionflow.store.indexes import IndexReport as IndexReport
from ionflow.store.indexes import ensure_indexes as ensure_indexes

if TYPE_CHECKING:
    from jobflow import JobStore

logger = logging.getLogger(__name__)


def jobflow_store_configured() -> bool:
    """True when the user has told jobflow where its store is."""
    if os.environ.get("JOBFLOW_JOB_STORE"):
        return True
    cfg = os.environ.get("JOBFLOW_CONFIG_FILE", "~/.jobflow.yaml")
    return Path(cfg).expanduser().is_file()


def embedded_store(directory: str | Path) -> JobStore:
    """A persistent JobStore on disk (MontyDB, sqlite engine) with a ``data`` store."""
    from jobflow import JobStore
    from maggma.stores import MontyStore

    path = Path(directory).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"Cannot create the ionflow store directory {path}: {exc}") from exc
    docs = MontyStore("outputs", database_path=str(path), database_name="ionflow", key="uuid")
    data = MontyStore(
        "outputs_blobs", database_path=str(path), database_name="ionflow", key="blob_uuid"
    )
    return JobStore(docs, additional_stores={"data": data})


def get_store(settings: IonflowSettings | None = None) -> JobStore:
    """The JobStore to use: jobflow's configured store, else the embedded one."""
    settings = settings or get_settings()
    mode = settings.USE_JOBFLOW_STORE
    if mode == "always" or (mode == "auto" and jobflow_store_configured()):
        from jobflow import SETTINGS

        logger.info("Using the jobflow JobStore from the jobflow settings")
        return SETTINGS.JOB_STORE
    logger.info("Using the embedded store in %s", settings.store_dir)
    return embedded_store(settings.store_dir)


def output_as_dict(store: JobStore, uuid: str, load: bool = True) -> dict | None:
    """A job's output as a plain dict (documents come back as pydantic models otherwise)."""
    from monty.json import jsanitize

    out = store.get_output(uuid, load=load)
    if out is None:
        return None
    if hasattr(out, "model_dump"):
        out = out.model_dump()
    return jsanitize(out, strict=False, enum_values=True, recursive_msonable=True)
