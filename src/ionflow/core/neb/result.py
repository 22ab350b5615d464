"""What an endpoint relaxation and an NEB hop return."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ase import Atoms


@dataclass
class RelaxResult:
    """Outcome of a fixed-cell relaxation."""

    atoms: Atoms
    energy: float
    forces: np.ndarray
    n_steps: int
    force_calls: int
    converged: bool
    max_force: float


#: Interior minimum (eV below the lower endpoint) above which a band is flagged not elementary.
INTERMEDIATE_MINIMUM_EV = 0.05


def interior_depth(energies: Any) -> float:
    """How far (eV, >= 0) the lowest interior image lies below the lower endpoint."""
    e = np.asarray(energies, dtype=float)
    if len(e) < 3 or not np.all(np.isfinite(e)):
        return 0.0
    return float(max(0.0, min(e[0], e[-1]) - e[1:-1].min()))


@dataclass
class NebResult:
    """Outcome of one NEB hop.

    ``energies`` are absolute (eV) per image, endpoints included; ``positions`` has shape
    (n_images, n_atoms, 3) in Å. Barriers are max(E) minus the initial (forward) or final
    (reverse) energy. ``optimizer_switches`` lists what the band did when it stalled (one
    dict per switch: ``step``, ``from``, ``to``, ``residual``, ``band_force_calls``).
    """

    energies: list[float]
    positions: np.ndarray
    numbers: np.ndarray
    cell: np.ndarray
    barrier_forward: float
    barrier_reverse: float
    ts_index: int
    converged: bool
    n_steps: int
    force_calls: int
    endpoint_force_calls: int
    band_force_calls: int
    max_force: float
    wall_time_s: float
    failure_reason: str | None = None
    endpoints_converged: bool = True
    moving_index: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    optimizer_switches: list[dict[str, Any]] = field(default_factory=list)

    @property
    def intermediate_minimum(self) -> float:
        """How far (eV, >= 0) the lowest interior image lies below the lower endpoint.

        Above a few tens of meV the band passes through a state more stable than either
        endpoint: the hop is not elementary (the vacancy endpoint decays, e.g. a neighbour
        fills it), its barrier is not a migration barrier between the endpoints, and the
        band converges slowly (its images slide into the intermediate basin).
        """
        return interior_depth(self.energies)

    @property
    def relative_energies(self) -> list[float]:
        """Energies relative to the initial state (eV)."""
        return [e - self.energies[0] for e in self.energies]

    def summary(self) -> dict[str, Any]:
        """Scalars only (no arrays): what goes into a task document."""
        return {
            "barrier_forward_eV": self.barrier_forward,
            "barrier_reverse_eV": self.barrier_reverse,
            "ts_index": self.ts_index,
            "n_images": len(self.energies),
            "energies_eV": list(self.energies),
            "relative_energies_eV": self.relative_energies,
            "converged": self.converged,
            "n_steps": self.n_steps,
            "force_calls": self.force_calls,
            "endpoint_force_calls": self.endpoint_force_calls,
            "band_force_calls": self.band_force_calls,
            "max_force_eV_A": self.max_force,
            "wall_time_s": self.wall_time_s,
            "failure_reason": self.failure_reason,
            "endpoints_converged": self.endpoints_converged,
            "optimizer_switches": [dict(s) for s in self.optimizer_switches],
            "intermediate_minimum_eV": self.intermediate_minimum,
        }
