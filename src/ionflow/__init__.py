"""ionflow: jobflow workflows that find fast ion conductors with MLIPs."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def submit(flow: Any, launchpad: Any = None, **kwargs: Any) -> Any:
    """Submit ``flow`` to a FireWorks LaunchPad (see :func:`ionflow.fireworks.submit`).

    Parameters
    ----------
    flow
        A flow from an ionflow flow maker, not yet run.
    launchpad
        Default: the LaunchPad of FireWorks' own configuration.
    **kwargs
        ``force``, ``store``, ``fworker``, ... of :func:`ionflow.fireworks.submit`.

    Returns
    -------
    ionflow.fireworks.SubmitResult
        Whether it was submitted, the Firework ids or the duplicates found.
    """
    from ionflow.fireworks import submit as submit_flow

    return submit_flow(flow, launchpad, **kwargs)
