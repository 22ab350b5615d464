"""What every ionflow Maker shares: the kind of worker its jobs need."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobflow import Flow, Job

#: Worker kinds. FireWorks workers pull only Fireworks whose ``_category`` matches theirs.
WORKER_KINDS = ("cpu", "gpu")


def route(job: Job | Flow, worker: str, **manager_config: object) -> Job | Flow:
    """Tag ``job`` (and jobs it later creates) with the worker kind it needs.

    The tag is jobflow's ``manager_config``; :func:`jobflow.managers.fireworks.job_to_firework`
    copies it into the Firework spec, where ``_category`` routes it to matching workers.
    """
    if worker not in WORKER_KINDS:
        raise ValueError(f"worker must be one of {WORKER_KINDS}, got {worker!r}")
    config = {"_category": worker, **manager_config}
    job.update_config({"manager_config": config}, dynamic=False)
    return job
