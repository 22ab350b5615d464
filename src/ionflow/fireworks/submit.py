"""Submit ionflow flows to a FireWorks LaunchPad, once per structure and settings.

A flow is fingerprinted before it is submitted: the SHA-256 of its jobs' functions, Makers
(settings) and inputs (structures), with job uuids replaced by the jobs' positions so that two
flows built from the same structure and settings have the same fingerprint. The fingerprint goes
into the workflow's metadata on the LaunchPad and into the metadata of every job (also those
made at run time), so every document the flow writes to the JobStore carries it. Submitting a
flow whose fingerprint is already on the LaunchPad (or whose result is already in the store)
does nothing unless ``force=True``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobflow import Flow, Job

from ionflow.errors import IonflowError, IonflowInputError
from ionflow.fireworks.credentials import assert_no_credentials
from ionflow.fireworks.routing import route_flow

if TYPE_CHECKING:
    from fireworks import LaunchPad
    from jobflow import JobStore

__all__ = [
    "FINGERPRINT_KEY",
    "SubmitResult",
    "completed_in_store",
    "find_submitted",
    "flow_fingerprint",
    "load_launchpad",
    "submit",
]

logger = logging.getLogger(__name__)

#: Metadata key of the fingerprint (workflow metadata and every job's metadata).
FINGERPRINT_KEY = "ionflow_fingerprint"
#: Metadata key that marks the job whose output is the flow's result.
FLOW_OUTPUT_KEY = "ionflow_flow_output"
#: Workflow states that do not block a new submission.
RESUBMITTABLE_STATES = ("ARCHIVED", "DEFUSED")
#: Keys that do not describe what a flow computes (ids, bookkeeping, package versions).
_IGNORED_KEYS = frozenset(
    {"@version", "hosts", "config", "metadata", "config_updates", "metadata_updates",
     "name_updates", "index"}
)  # fmt: skip
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class SubmitResult:
    """What :func:`submit` did.

    Parameters
    ----------
    fingerprint
        The flow's fingerprint.
    submitted
        True when a workflow was added to the LaunchPad.
    fw_ids
        The new Firework ids (empty when nothing was submitted).
    existing
        Workflows (``{"fw_ids", "state", "name"}``) or store documents (``{"uuid"}``) with the
        same fingerprint that made :func:`submit` skip the flow.
    reason
        Why nothing was submitted (empty when submitted).
    """

    fingerprint: str
    submitted: bool
    fw_ids: list[int] = field(default_factory=list)
    existing: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""


def _jobs(flow: Flow | Job) -> list[Job]:
    return [flow] if isinstance(flow, Job) else [j for j, _ in flow.iterflow()]


def _canonical(obj: Any, ids: dict[str, str]) -> Any:
    if isinstance(obj, dict):
        return {k: _canonical(v, ids) for k, v in obj.items() if k not in _IGNORED_KEYS}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v, ids) for v in obj]
    if isinstance(obj, str) and _UUID.search(obj):
        return _UUID.sub(lambda m: ids.get(m.group(0), "#external"), obj)
    return obj


def flow_fingerprint(flow: Flow | Job, extra: dict[str, Any] | None = None) -> str:
    """SHA-256 of what ``flow`` computes: job functions, Makers and inputs, not its ids.

    Parameters
    ----------
    flow
        A flow or job, before it runs.
    extra
        More that defines the computation but is not in the flow itself, e.g. the checksum of
        an input file the flow names only by its path.

    Returns
    -------
    str
        64 hex digits; equal for flows built from equal structures and settings.
    """
    jobs = _jobs(flow)
    ids = {job.uuid: f"#{i}" for i, job in enumerate(jobs)}
    ids[flow.uuid] = ids.get(flow.uuid, "#flow")
    payload = [
        _canonical(
            {"name": job.name, "function": job.function, "args": job.function_args,
             "kwargs": job.function_kwargs, "maker": job.maker},
            ids,
        )
        for job in jobs
    ]  # fmt: skip
    if extra:
        payload.append({"extra": extra})
    from monty.json import jsanitize

    text = json.dumps(
        _canonical(jsanitize(payload, strict=True, enum_values=True), ids), sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()


def tag_flow(flow: Flow | Job, fingerprint: str) -> None:
    """Put ``fingerprint`` in the metadata of every job (also run-time ones) of ``flow``.

    The job whose output is the flow's result is also marked with ``ionflow_flow_output``.

    Parameters
    ----------
    flow
        A flow or job.
    fingerprint
        From :func:`flow_fingerprint`.
    """
    from jobflow.core.reference import find_and_get_references

    flow.update_metadata({FINGERPRINT_KEY: fingerprint}, dynamic=True)
    output_uuids = {ref.uuid for ref in find_and_get_references(flow.output)}
    for job in _jobs(flow):
        if job.uuid in output_uuids:
            job.metadata[FLOW_OUTPUT_KEY] = True


def load_launchpad(path: str | Path | None = None) -> LaunchPad:
    """The user's LaunchPad; ``${VAR}`` in its YAML file is taken from the environment.

    Parameters
    ----------
    path
        A ``my_launchpad.yaml``; default: FireWorks' own (``LAUNCHPAD_LOC``, the
        ``FW_config.yaml`` folder, the working directory), else a local default LaunchPad.

    Returns
    -------
    fireworks.LaunchPad
        Connected lazily by FireWorks.

    Raises
    ------
    IonflowInputError
        When the file names an environment variable that is not set.
    """
    import yaml
    from fireworks import LaunchPad, fw_config

    path = path or fw_config.LAUNCHPAD_LOC
    if not path:
        return LaunchPad()
    missing: set[str] = set()
    spec = _expand_env(yaml.safe_load(Path(path).expanduser().read_text()), missing)
    if missing:
        raise IonflowInputError(
            f"{path} needs the environment variables {', '.join(sorted(missing))}"
        )
    return LaunchPad.from_dict(spec)


def _expand_env(value: Any, missing: set[str]) -> Any:
    """``${VAR}``/``$VAR`` in the string values of a parsed YAML file (comments never count)."""
    if isinstance(value, dict):
        return {k: _expand_env(v, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, missing) for v in value]
    if isinstance(value, str):
        expanded = os.path.expandvars(value)
        missing.update(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", expanded))
        return expanded
    return value


def find_submitted(launchpad: LaunchPad, fingerprint: str) -> list[dict[str, Any]]:
    """Workflows on ``launchpad`` with this fingerprint that block a new submission.

    Parameters
    ----------
    launchpad
        The LaunchPad.
    fingerprint
        From :func:`flow_fingerprint`.

    Returns
    -------
    list of dict
        ``{"fw_ids", "state", "name"}`` per workflow (archived and defused ones left out).
    """
    docs = launchpad.workflows.find(
        {f"metadata.{FINGERPRINT_KEY}": fingerprint},
        {"nodes": 1, "state": 1, "name": 1, "_id": 0},
    )
    return [
        {"fw_ids": sorted(d.get("nodes", [])), "state": d.get("state"), "name": d.get("name")}
        for d in docs
        if d.get("state") not in RESUBMITTABLE_STATES
    ]


def completed_in_store(store: JobStore, fingerprint: str) -> list[dict[str, Any]]:
    """Results of flows with this fingerprint already in ``store``.

    Parameters
    ----------
    store
        A JobStore (connected here).
    fingerprint
        From :func:`flow_fingerprint`.

    Returns
    -------
    list of dict
        ``{"uuid", "completed_at"}`` of each stored result.
    """
    store.connect()
    query = {
        f"metadata.{FINGERPRINT_KEY}": fingerprint,
        f"metadata.{FLOW_OUTPUT_KEY}": True,
        "output": {"$ne": None},
    }
    return [
        {"uuid": d["uuid"], "completed_at": d.get("completed_at")}
        for d in store.query(query, properties=["uuid", "completed_at"])
    ]


def submit(
    flow: Flow | Job,
    launchpad: LaunchPad | None = None,
    *,
    force: bool = False,
    store: JobStore | None = None,
    fworker: str | None = None,
    default_worker: str = "cpu",
    metadata: dict[str, Any] | None = None,
    fingerprint_extra: dict[str, Any] | None = None,
) -> SubmitResult:
    """Add ``flow`` to the LaunchPad, routed by worker kind, unless it is there already.

    The workflow is built with ``flow_to_workflow(flow, store=None)``: each worker writes to its
    own jobflow store, and no store (or its credentials) is serialised into the Firework specs.

    Parameters
    ----------
    flow
        A flow (or job) from an ionflow flow maker, not yet run.
    launchpad
        Default: :func:`load_launchpad`.
    force
        Submit even when a workflow (or stored result) with the same fingerprint exists.
    store
        Also skip when this store already holds the flow's result.
    fworker
        Pin every job to the FireWorker of this name (``_fworker``).
    default_worker
        Category of jobs that name none (jobflow's helper jobs).
    metadata
        More workflow metadata on the LaunchPad.
    fingerprint_extra
        Hashed into the fingerprint as well (see :func:`flow_fingerprint`).

    Returns
    -------
    SubmitResult
        Whether it was submitted, the Firework ids or the existing duplicates.
    """
    from jobflow.managers.fireworks import flow_to_workflow

    fingerprint = flow_fingerprint(flow, fingerprint_extra)
    launchpad = launchpad or load_launchpad()
    if not force:
        existing = find_submitted(launchpad, fingerprint)
        if existing:
            states = ", ".join(f"{e['state']} (fw {e['fw_ids'][:1]})" for e in existing)
            return SubmitResult(
                fingerprint, False, existing=existing, reason=f"on the LaunchPad: {states}"
            )
        done = completed_in_store(store, fingerprint) if store is not None else []
        if done:
            return SubmitResult(fingerprint, False, existing=done, reason="result in the store")
    route_flow(flow, default_worker=default_worker, fworker=fworker)
    tag_flow(flow, fingerprint)
    wf = flow_to_workflow(
        flow, store=None, metadata={FINGERPRINT_KEY: fingerprint, **(metadata or {})}
    )
    assert_no_credentials(wf.to_dict(), what=f"workflow {wf.name!r}")
    mapping = launchpad.add_wf(wf)
    fw_ids = sorted(mapping.values())
    if not fw_ids:
        raise IonflowError(f"the LaunchPad accepted workflow {wf.name!r} without Fireworks")
    logger.info("Submitted %r as Fireworks %s (fingerprint %s)", wf.name, fw_ids, fingerprint[:12])
    return SubmitResult(fingerprint, True, fw_ids=fw_ids)
