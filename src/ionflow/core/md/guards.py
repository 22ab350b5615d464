"""Cheap run guards: each returns ``None`` when fine, else a one-line failure reason.

They use what the step already computed (energy, forces, momenta); only the distance check
builds a neighbour list, and only with the small guard cutoff (linear in the number of atoms).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import numpy as np
from ase.neighborlist import neighbor_list

if TYPE_CHECKING:
    from ase import Atoms


def check_finite(energy: float, forces: np.ndarray, positions: np.ndarray, step: int) -> str | None:
    """Reason when the energy, any force or any position is NaN or infinite."""
    bad = []
    if not np.isfinite(energy):
        bad.append(f"energy {energy}")
    if not np.all(np.isfinite(forces)):
        n = int(np.sum(~np.all(np.isfinite(forces), axis=1)))
        bad.append(f"forces on {n} atom(s)")
    if not np.all(np.isfinite(positions)):
        n = int(np.sum(~np.all(np.isfinite(positions), axis=1)))
        bad.append(f"positions of {n} atom(s)")
    if bad:
        return f"non-finite {', '.join(bad)} at step {step}"
    return None


def check_min_distance(atoms: Atoms, min_distance: float, step: int) -> str | None:
    """Reason naming the closest pair when two atoms are closer than ``min_distance`` (Å)."""
    if min_distance <= 0:
        return None
    i, j, d = neighbor_list("ijd", atoms, min_distance, self_interaction=False)
    if len(d) == 0:
        return None
    closest = d <= d.min() + 1e-6  # ties (symmetric cells): report the lowest indices
    a, b = min(tuple(sorted((int(p), int(q)))) for p, q in zip(i[closest], j[closest]))
    k = int(np.argmin(d))
    symbols = atoms.get_chemical_symbols()
    return (
        f"atoms {a} and {b} ({symbols[a]}-{symbols[b]}) closer than {min_distance:g} Å "
        f"({d[k]:.2f} Å) at step {step}"
    )


class TemperatureWindow:
    """Running mean of the instantaneous temperature over the last ``n`` steps.

    Parameters
    ----------
    n
        Window length in steps (a runaway is only declared once the window is full, so one hot
        step never trips it).
    """

    def __init__(self, n: int, values: list[float] | None = None) -> None:
        self.n = max(1, int(n))
        self.values: deque[float] = deque(values or [], maxlen=self.n)
        self._sum = float(sum(self.values))

    def push(self, temperature: float) -> None:
        """Add one instantaneous temperature (K)."""
        if len(self.values) == self.n:
            self._sum -= self.values[0]
        self.values.append(float(temperature))
        self._sum += float(temperature)

    @property
    def full(self) -> bool:
        """Whether the window holds ``n`` values."""
        return len(self.values) == self.n

    @property
    def mean(self) -> float:
        """Mean of the values in the window (K)."""
        return self._sum / len(self.values) if self.values else 0.0

    def check(self, limit: float, factor: float, target: float, window_fs: float, step: int):
        """Reason when the window is full and its mean exceeds ``limit`` (K)."""
        if not self.full or self.mean <= limit:
            return None
        return (
            f"temperature runaway: mean T over the last {window_fs:g} fs is {self.mean:.0f} K "
            f"> {factor:g} x {target:g} K at step {step}"
        )


def check_energy_drift(
    current: float | None,
    reference: float | None,
    n_atoms: int,
    max_drift: float | None,
    label: str,
    step: int,
) -> str | None:
    """Reason when ``|current - reference| / n_atoms`` exceeds ``max_drift`` (eV/atom)."""
    if max_drift is None or current is None or reference is None:
        return None
    drift = abs(current - reference) / n_atoms
    if not np.isfinite(drift) or drift > max_drift:
        return f"energy drift {drift:.3g} eV/atom > {max_drift:g} eV/atom ({label}) at step {step}"
    return None


def check_volume(volume: float, reference: float, max_change: float, step: int) -> str | None:
    """Reason when the cell volume left ``reference * (1 ± max_change)`` (NpT)."""
    change = volume / reference - 1.0
    if not np.isfinite(change) or abs(change) > max_change:
        return (
            f"cell volume changed by {100 * change:+.0f} % during NpT (limit ±{100 * max_change:g} "
            f"%) at step {step}"
        )
    return None
