"""Lost runs: Fireworks left RUNNING by a worker that died (killed, out of wall time, node lost).

FireWorks marks a launch RUNNING when a worker checks it out and pings it while the job runs. A
worker that dies leaves it RUNNING forever; :func:`recover_lost_runs` finds launches whose last
ping is older than ``expiration_secs`` (``lpad detect_lostruns``) and, with ``rerun=True``, puts
their Fireworks back to READY so that the next worker runs them again. Finished jobs are not
touched: their documents stay in the store and are not written twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fireworks import LaunchPad

__all__ = ["LostRuns", "recover_lost_runs"]


@dataclass
class LostRuns:
    """What :func:`recover_lost_runs` found.

    Parameters
    ----------
    launch_ids
        Lost launches.
    fw_ids
        Their Fireworks (READY again when ``rerun`` was asked).
    inconsistent_fw_ids
        Fireworks whose state disagreed with their launches (refreshed).
    """

    launch_ids: list[int] = field(default_factory=list)
    fw_ids: list[int] = field(default_factory=list)
    inconsistent_fw_ids: list[int] = field(default_factory=list)


def recover_lost_runs(
    launchpad: LaunchPad, *, expiration_secs: float = 4 * 3600, rerun: bool = True
) -> LostRuns:
    """Find Fireworks whose worker died mid-job and (by default) make them READY again.

    Parameters
    ----------
    launchpad
        The LaunchPad.
    expiration_secs
        A RUNNING launch not pinged for this long is lost (FireWorks pings every hour by
        default, so keep this above an hour on a real cluster; 4 h as ``lpad`` does).
    rerun
        Mark the lost Fireworks FIZZLED and rerun them (READY); False only reports.

    Returns
    -------
    LostRuns
        The lost launches and Fireworks.
    """
    launch_ids, fw_ids, inconsistent = launchpad.detect_lostruns(
        expiration_secs=expiration_secs, rerun=rerun, refresh=True
    )
    return LostRuns(sorted(launch_ids), sorted(fw_ids), sorted(inconsistent))
