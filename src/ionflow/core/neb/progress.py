"""Honest progress of a band: no ETA to a step limit the band will rarely reach.

On a terminal a tqdm counter (no total, so no invented ETA) shows the step, the residual (the
largest NEB force) against ``fmax`` and the current barrier estimate. Without a terminal (a
batch job's log) the same numbers go to :mod:`logging` at INFO level every ``log_every`` steps
or ``log_interval_s`` seconds, whichever comes first. The start and the end of every band are
logged in both cases.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable

    from ase.mep import NEB

logger = logging.getLogger(__name__)

#: Steps between two progress log lines when stderr is not a terminal.
LOG_EVERY = 50
#: Seconds between two progress log lines when stderr is not a terminal (at most).
LOG_INTERVAL_S = 30.0


def stderr_is_tty() -> bool:
    """Whether stderr (where a progress bar would be drawn) is an interactive terminal."""
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


def barrier_estimate(neb: NEB) -> float:
    """Forward barrier of the band as it stands (eV); NaN before energies are known."""
    energies = getattr(neb, "energies", None)
    if energies is None or len(energies) == 0:
        return float("nan")
    e = np.asarray(energies, dtype=float)
    if not np.all(np.isfinite(e)):
        return float("nan")
    return float(e.max() - e[0])


class BandProgress:
    """Reports the steps of one band (see the module docstring).

    Parameters
    ----------
    progress
        ``True``: a counter on a terminal, log lines otherwise; ``False``: log lines only;
        a callable additionally receives ``(step, residual)`` every step.
    fmax
        Convergence threshold of the band (eV/Å).
    prior_steps, prior_calls
        Steps and band force calls of earlier runs of the same band (continued checkpoint).
    log_every, log_interval_s
        Throttle of the log lines (steps, seconds; default :data:`LOG_EVERY`,
        :data:`LOG_INTERVAL_S`); the first step is always logged.
    """

    def __init__(
        self,
        progress: bool | Callable[[int, float], None],
        *,
        fmax: float,
        prior_steps: int = 0,
        prior_calls: int = 0,
        log_every: int | None = None,
        log_interval_s: float | None = None,
    ) -> None:
        self.callback = progress if callable(progress) else None
        self.fmax = fmax
        self.prior_calls = prior_calls
        self.log_every = max(int(LOG_EVERY if log_every is None else log_every), 1)
        self.log_interval_s = LOG_INTERVAL_S if log_interval_s is None else log_interval_s
        self._t0 = time.perf_counter()
        self._last_log_t = self._t0
        self._last_log_step: int | None = None
        self.bar: Any = None
        if progress is True and stderr_is_tty():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=None, initial=prior_steps, desc="NEB", unit="step", leave=False)

    def start(self, neb: NEB, optimizer: str, max_steps: int, prior_steps: int) -> None:
        """Log what the band is about to do."""
        logger.info(
            "NEB band: %d images (%d moving), %d atoms, optimizer %s, fmax %.3f eV/Å, "
            "step limit %d%s",
            neb.nimages,
            neb.nimages - 2,
            len(neb.images[0]),
            optimizer,
            self.fmax,
            max_steps,
            f", continuing after step {prior_steps}" if prior_steps else "",
        )

    def update(self, step: int, residual: float, neb: NEB) -> None:
        """Report band step ``step`` with NEB residual ``residual`` (eV/Å)."""
        if self.callback is not None:
            self.callback(step, residual)
        barrier = barrier_estimate(neb)
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(
                f"residual {residual:.3f} / fmax {self.fmax:g} eV/Å, barrier {barrier:.3f} eV",
                refresh=False,
            )
            return
        now = time.perf_counter()
        due = (
            self._last_log_step is None
            or step - self._last_log_step >= self.log_every
            or now - self._last_log_t >= self.log_interval_s
        )
        if due:
            self._last_log_step, self._last_log_t = step, now
            logger.info(
                "NEB step %d: residual %.4f eV/Å (fmax %g), barrier estimate %.3f eV, "
                "%d band force calls, %.1f s",
                step,
                residual,
                self.fmax,
                barrier,
                self.prior_calls + int(getattr(neb, "n_evaluations", 0)),
                now - self._t0,
            )

    def switch(
        self,
        step: int,
        residual: float,
        old: str,
        new: str | None,
        settings: Any,
        note: str | None = None,
    ) -> None:
        """Report a stalled band and the optimiser it goes on with (``None``: the same)."""
        what = (
            f"{note}: the hop is not elementary, no optimiser switch; going on with {old}"
            if note
            else "going on with it"
            if new is None
            else f"restarting {old}"
            if new == old
            else f"switching {old} -> {new}"
        )
        line = (
            f"NEB stalled at step {step}: residual {residual:.4f} eV/Å (fmax {self.fmax:g}) "
            f"fell less than {100 * settings.stall_improvement:.0f}% in "
            f"{settings.stall_window} steps; {what}"
        )
        if self.bar is not None:
            self.bar.write(line)
        logger.warning(line)

    def finish(self, neb: NEB, n_steps: int, residual: float, failure: str | None) -> None:
        """Close the counter and log how the band ended."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        calls = self.prior_calls + int(getattr(neb, "n_evaluations", 0))
        logger.info(
            "NEB %s after %d steps: residual %.4f eV/Å (fmax %g), barrier %.3f eV, "
            "%d band force calls, %.1f s",
            "converged" if failure is None else f"stopped ({failure})",
            n_steps,
            residual,
            self.fmax,
            barrier_estimate(neb),
            calls,
            time.perf_counter() - self._t0,
        )
