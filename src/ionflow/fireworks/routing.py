"""Worker routing that survives jobs created at run time.

Every ionflow Maker tags its jobs with the worker kind it needs (``self.worker``:
``"gpu"`` for MLIP NEB and MD, ``"cpu"`` for enumeration, analysis and collection); FireWorks
reads it as the Firework ``_category``. Two things in jobflow undo that tag under FireWorks:

1. ``JobConfig.pass_manager_config`` (``True`` by default) overwrites the ``manager_config`` of
   every job that a job creates at run time (``Response(replace=...)``) with its own: the GPU NEB
   jobs that the CPU fan-out job ``screen_hop_nebs`` creates would inherit ``_category: cpu``.
2. jobflow adds helper jobs of its own at run time (``store_inputs``, which stores the output of
   a replacing flow under the replaced job's uuid); they carry no category at all, and a worker
   with a named category never pulls them.

:func:`route_flow` fixes both before a flow is converted to a FireWorks workflow: it turns
``pass_manager_config`` off for every job, now and at run time (a dynamic ``update_config``),
gives jobflow's helper jobs a category (another dynamic update, filtered on the helper's
function), re-derives the category of every static job from its Maker's ``worker`` (so that
``flow.update_maker_kwargs({"worker": "cpu"}, class_filter=MLIPNebMaker)`` also moves jobs
already made), and optionally pins every job to one named FireWorker (``_fworker``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobflow import Flow, Job

from ionflow.jobs.base import check_worker

if TYPE_CHECKING:
    from fireworks import Workflow

__all__ = ["firework_categories", "job_category", "route_flow", "unrouted_jobs"]


def _jobs(flow: Flow | Job) -> list[Job]:
    return [flow] if isinstance(flow, Job) else [j for j, _ in flow.iterflow()]


def _helper_functions() -> list[Any]:
    """The job functions jobflow adds to a flow by itself at run time."""
    from jobflow.core.job import store_inputs

    return [store_inputs]


def job_category(job: Job) -> str | None:
    """The worker kind a job asks for (its Maker's ``worker``, else its ``_category``).

    Parameters
    ----------
    job
        A jobflow job.

    Returns
    -------
    str or None
        ``"cpu"``, ``"gpu"`` or ``None`` when the job is not routed.
    """
    worker = getattr(job.maker, "worker", None)
    if isinstance(worker, str):
        return worker
    return job.config.manager_config.get("_category")


def route_flow(
    flow: Flow | Job,
    *,
    default_worker: str = "cpu",
    fworker: str | None = None,
) -> Flow | Job:
    """Make the worker kinds of ``flow`` hold for every job, including run-time ones.

    Parameters
    ----------
    flow
        A flow (or job) about to be converted with ``flow_to_workflow``.
    default_worker
        Category of jobs that carry none (jobflow's helper jobs, plain ``@job`` functions).
    fworker
        When given, every job (also those made at run time) is pinned to the FireWorker of
        this name (``_fworker``), e.g. one cluster's workers when several share a LaunchPad.

    Returns
    -------
    Flow or Job
        ``flow``, changed in place.
    """
    check_worker(default_worker)
    for job in _jobs(flow):
        category = job_category(job) or default_worker
        job.config.manager_config = {**job.config.manager_config, "_category": category}
        job.config.pass_manager_config = False
    # the same at run time: no job passes its config on to the jobs it creates ...
    flow.update_config(
        {"pass_manager_config": False}, attributes="pass_manager_config", dynamic=True
    )
    # ... and jobflow's own helper jobs get a category (set, not replace: other keys stay)
    for function in _helper_functions():
        flow.update_config(
            {"_set": {"manager_config->_category": default_worker}},
            function_filter=function,
            dict_mod=True,
            dynamic=True,
        )
    if fworker:
        flow.update_config(
            {"_set": {"manager_config->_fworker": fworker}}, dict_mod=True, dynamic=True
        )
    return flow


def unrouted_jobs(flow: Flow | Job) -> list[str]:
    """Names of the jobs of ``flow`` (as it is now) without a ``_category``.

    Parameters
    ----------
    flow
        A flow or job.

    Returns
    -------
    list of str
        Job names; empty when every job is routed.
    """
    return [j.name for j in _jobs(flow) if not j.config.manager_config.get("_category")]


def firework_categories(workflow: Workflow | dict) -> dict[str, str | None]:
    """``{firework name: _category}`` of a FireWorks workflow (object or its dict).

    Parameters
    ----------
    workflow
        A ``fireworks.Workflow`` or ``Workflow.to_dict()``.

    Returns
    -------
    dict
        The category of each Firework by name (names repeat in fan-outs: the last wins).
    """
    d = workflow if isinstance(workflow, dict) else workflow.to_dict()
    return {fw["name"]: fw["spec"].get("_category") for fw in d["fws"]}
