"""Progress of an MD run: a tqdm bar on a terminal, periodic ``logging`` lines elsewhere.

A batch job's stderr is a file, where a tqdm bar is disabled (or would be a wall of carriage
returns). There :class:`MDProgress` logs one INFO line every ``log_fraction`` of the run's steps
and at least every ``log_interval_s`` seconds::

    MD 800 K: step 12600/252000 (5.0 %), equilibration, T = 803 K, E_pot = -1234.567 eV,
    41.3 steps/s, ETA 1.6 h

The step counts cover all phases of the run (a resumed run starts at its checkpoint's step);
steps/s and the ETA are measured over the steps of this call.
"""

from __future__ import annotations

import logging
import math
import time

from tqdm.auto import tqdm

__all__ = ["MDProgress"]

logger = logging.getLogger(__name__)


class MDProgress:
    """Progress display of one :func:`~ionflow.core.md.run_md` call.

    Parameters
    ----------
    total
        Steps of the whole run (all phases).
    initial
        Steps already done (a resumed run).
    label
        Prefix of the bar and of the log lines (e.g. ``"MD 800 K"``).
    enabled
        ``False``: neither bar nor log lines.
    log_fraction
        Log every this fraction of ``total`` steps (when not on a terminal).
    log_interval_s
        Also log when this many seconds passed since the last line (when not on a terminal).
    """

    def __init__(
        self,
        total: int,
        initial: int,
        label: str,
        *,
        enabled: bool = True,
        log_fraction: float = 0.05,
        log_interval_s: float = 60.0,
    ) -> None:
        self.total = total
        self.label = label
        # tqdm decides whether a bar can be shown (disable=None: not when stderr is no terminal;
        # a notebook widget always); where it cannot, we log instead
        self.bar = tqdm(
            total=total,
            initial=initial,
            desc=label,
            unit="step",
            disable=None if enabled else True,
            leave=False,
        )
        self.logging = enabled and bool(self.bar.disable)
        self.log_every = max(1, math.ceil(log_fraction * total))
        self.log_interval_s = log_interval_s
        self.start_step = initial
        self.start_time = self.last_log = time.perf_counter()

    def update(
        self, step: int, phase: str, temperature_K: float, energy_eV: float, *, postfix: bool
    ) -> None:
        """Report that state ``step`` was reached.

        Parameters
        ----------
        step
            Steps done (all phases).
        phase
            Phase of the step just made.
        temperature_K
            Temperature to show (K).
        energy_eV
            Potential energy of the state (eV).
        postfix
            Refresh the bar's phase and temperature (every thermo interval).
        """
        self.bar.update(1)
        if postfix:
            self.bar.set_postfix(phase=phase, T=f"{temperature_K:.0f} K", refresh=False)
        if not self.logging:
            return
        now = time.perf_counter()
        if step % self.log_every == 0 or now - self.last_log >= self.log_interval_s:
            self._log(step, phase, temperature_K, energy_eV, now)

    def _log(self, step: int, phase: str, temperature_K: float, energy_eV: float, now: float):
        self.last_log = now
        elapsed = now - self.start_time
        rate = (step - self.start_step) / elapsed if elapsed > 0 else 0.0
        eta = f", ETA {_duration((self.total - step) / rate)}" if rate > 0 else ""
        logger.info(
            "%s: step %d/%d (%.1f %%), %s, T = %.0f K, E_pot = %.3f eV, %.2f steps/s%s",
            self.label,
            step,
            self.total,
            100 * step / self.total if self.total else 100.0,
            phase,
            temperature_K,
            energy_eV,
            rate,
            eta,
        )

    def close(self) -> None:
        """Close the bar."""
        self.bar.close()


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
