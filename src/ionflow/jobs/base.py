"""What every ionflow Maker shares: ``@ionflow_job`` on ``make`` and the worker kind.

Every Maker of ionflow is written the way atomate2 writes its Makers::

    @dataclass
    class MLIPNebMaker(Maker):
        name: str = "mlip neb"
        neb_settings: NebSettings = field(default_factory=NebSettings)
        worker: str = "gpu"

        @ionflow_job(output_schema=NebDoc, data=["images"])
        def make(self, initial, final, ...):
            ...  # runs on the worker: unpack, call ionflow.core, return the schema

so that a job's ``maker`` is the Maker itself and jobflow's ``update_maker_kwargs`` (with
``class_filter``, ``name_filter``, nested keys through ``dict_mod``) changes what the job will
run. :func:`ionflow_job` fixes in one place what atomate2's ``forcefield_job`` fixes: the output
schema, which fields go to the ``data`` store, and the worker kind (``self.worker``) that routes
the job to CPU or GPU workers.
"""

from __future__ import annotations

import copy
import functools
import inspect
from typing import TYPE_CHECKING, Any

from jobflow import job

if TYPE_CHECKING:
    from collections.abc import Callable

    from jobflow import Flow, Job

__all__ = ["WORKER_KINDS", "check_worker", "ionflow_job", "route"]

#: Worker kinds. FireWorks workers pull only Fireworks whose ``_category`` matches theirs.
WORKER_KINDS = ("cpu", "gpu")


def check_worker(worker: str) -> str:
    """Return ``worker`` if it is a known worker kind, else raise ``ValueError``.

    Parameters
    ----------
    worker
        ``"cpu"`` or ``"gpu"``.

    Returns
    -------
    str
        The worker kind.
    """
    if worker not in WORKER_KINDS:
        raise ValueError(f"worker must be one of {WORKER_KINDS}, got {worker!r}")
    return worker


def check_model_fields(maker: Any) -> None:
    """Check a Maker's ``model``, ``checkpoint_dir`` and ``worker`` fields when it is built.

    A model spec that cannot be parsed fails here, not in the job; a non-string spec (a
    :class:`~ionflow.mlip.ModelSpec` or a calculator dict) becomes the plain dict that
    survives jobflow/monty serialisation unchanged; ``checkpoint_dir`` becomes a string.

    Parameters
    ----------
    maker
        A Maker with a ``model`` field (``None`` allowed: no model) and, optionally,
        ``checkpoint_dir`` and ``worker`` fields.
    """
    from ionflow.mlip import parse_model_spec

    if maker.model is not None:
        spec = parse_model_spec(maker.model)
        if not isinstance(maker.model, str):
            maker.model = spec.as_dict()
    if getattr(maker, "checkpoint_dir", None) is not None:
        maker.checkpoint_dir = str(maker.checkpoint_dir)
    if hasattr(maker, "worker"):
        check_worker(maker.worker)


def route(job: Job | Flow, worker: str, **manager_config: object) -> Job | Flow:
    """Tag ``job`` with the worker kind it needs.

    The tag is jobflow's ``manager_config``; :func:`jobflow.managers.fireworks.job_to_firework`
    copies it into the Firework spec, where ``_category`` routes it to matching workers.

    Parameters
    ----------
    job
        The job (or flow) to tag.
    worker
        ``"cpu"`` or ``"gpu"``.
    **manager_config
        More Firework spec keys (e.g. ``_allow_fizzled_parents=True``).

    Returns
    -------
    Job or Flow
        ``job``, tagged.
    """
    config = {"_category": check_worker(worker), **manager_config}
    job.update_config({"manager_config": config}, dynamic=False)
    return job


def ionflow_job(
    method: Callable | None = None,
    *,
    output_schema: type | None = None,
    data: list[str] | None = None,
    name_suffix: Callable[[dict[str, Any]], str | None] | None = None,
    allow_fizzled_parents: bool = False,
) -> Callable:
    """Decorate a Maker's ``make`` as a jobflow job (atomate2's pattern), routed by worker.

    Calling the decorated ``make`` returns a :class:`jobflow.Job` whose ``maker`` is (a copy of)
    the Maker, so ``flow.update_maker_kwargs(..., class_filter=ThisMaker)`` reaches it; the
    function body runs when the job runs.

    Parameters
    ----------
    method
        The ``make`` method (when used without parentheses).
    output_schema
        Pydantic document the job returns (checked by jobflow).
    data
        Output fields stored in the JobStore's ``data`` store (big arrays), not in the
        task document.
    name_suffix
        ``f(arguments) -> str``: appended to the Maker's name to name each job (e.g. the
        hop or the temperature); ``arguments`` are ``make``'s bound arguments by name.
    allow_fizzled_parents
        The job also runs when a parent failed (tolerant collection of per-hop or per-run
        results; FireWorks' ``_allow_fizzled_parents``).

    Returns
    -------
    Callable
        The decorated ``make``.
    """

    def decorator(func: Callable) -> Callable:
        get_job = job(func, output_schema=output_schema, data=data)
        signature = inspect.signature(func)

        @functools.wraps(func)
        def make(self: Any, *args: Any, **kwargs: Any) -> Job:
            # Each job gets its own copy of the Maker: jobflow renames a job's maker together
            # with the job, which must not rename the Maker shared by a whole fan-out.
            maker = copy.copy(self)
            new_job = get_job(maker, *args, **kwargs)
            suffix = None
            if name_suffix is not None:
                bound = signature.bind(self, *args, **kwargs)
                bound.apply_defaults()
                suffix = name_suffix(dict(list(bound.arguments.items())[1:]))
            new_job.name = f"{self.name} {suffix}" if suffix else self.name
            extra = {"_allow_fizzled_parents": True} if allow_fizzled_parents else {}
            return route(new_job, self.worker, **extra)

        # jobflow finds the undecorated function here, both when it recognises ``make`` as a
        # bound method of a Maker and when the job runs.
        make.original = func
        return make

    return decorator(method) if method is not None else decorator
