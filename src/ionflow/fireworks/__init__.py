"""Running ionflow flows with FireWorks: worker routing, submission, credentials, lost runs.

::

    from ionflow.fireworks import submit

    result = submit(ScreenHopsFlow().make(structure))  # the user's LaunchPad
    result.submitted, result.fw_ids, result.fingerprint

Workers pull Fireworks by category: ``rlaunch -w my_fworker_gpu.yaml rapidfire`` on GPU nodes
(``category: gpu``), ``rlaunch -w my_fworker_cpu.yaml rapidfire`` on CPU nodes (``category:
cpu``); ``fireworks_configs/`` holds templates. Each worker writes to its own jobflow store
(``~/.jobflow.yaml`` or ``JOBFLOW_CONFIG_FILE``), never one serialised into the Firework specs.
"""

from __future__ import annotations

from ionflow.fireworks.credentials import (
    CredentialsInSpecError,
    assert_no_credentials,
    find_credentials,
)
from ionflow.fireworks.lostruns import LostRuns, recover_lost_runs
from ionflow.fireworks.routing import firework_categories, job_category, route_flow, unrouted_jobs
from ionflow.fireworks.submit import (
    FINGERPRINT_KEY,
    SubmitResult,
    completed_in_store,
    find_submitted,
    flow_fingerprint,
    load_launchpad,
    submit,
    tag_flow,
)

__all__ = [
    "FINGERPRINT_KEY",
    "CredentialsInSpecError",
    "LostRuns",
    "SubmitResult",
    "assert_no_credentials",
    "completed_in_store",
    "find_credentials",
    "find_submitted",
    "firework_categories",
    "flow_fingerprint",
    "job_category",
    "load_launchpad",
    "recover_lost_runs",
    "route_flow",
    "submit",
    "tag_flow",
    "unrouted_jobs",
]
