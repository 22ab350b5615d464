"""Band checkpoints: continue a long NEB after a wall-time limit, a crash or a pre-emption.

A checkpoint is one ``.npz`` file (:mod:`ionflow.core.npz`) holding the relaxed endpoints
(positions, energies, forces), the current band positions, and the counters (steps, force calls,
wall time) spent so far. It is written after the endpoint relaxation and every ``every`` band
steps, atomically, so a job killed mid-write leaves the previous checkpoint intact.

A checkpoint carries a fingerprint of what it belongs to: the species, the cell, the input
endpoint positions, the model and the band settings that change the answer. Loading it for a
different calculation raises :class:`~ionflow.core.errors.IonflowInputError` instead of silently
continuing a different band, and nothing is overwritten in that case.

A continued run (:func:`ionflow.core.neb.engine.run_neb` with an existing checkpoint) does not
relax the endpoints again, starts the band from the saved positions, and counts the earlier
steps, force calls and wall time (the step limit included). The optimiser starts afresh
(ODE12r re-estimates its step size; FIRE its velocities; a band that switched optimiser after a
stall continues with the optimiser it switched to), so a continued band can take a few
more steps than an uninterrupted one; with ODE12r the step limit counts accepted steps of
earlier runs (rejected trial steps are not carried over).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ionflow.core.errors import IonflowInputError
from ionflow.core.npz import read_npz, write_npz

if TYPE_CHECKING:
    from ase import Atoms
    from ase.mep import NEB

FORMAT_VERSION = 1

# settings that change the converged band (step limits and progress knobs do not)
_FINGERPRINT_SETTINGS = (
    "fmax",
    "climb",
    "method",
    "spring_constant",
    "relax_endpoints",
    "endpoint_fmax",
)


def fingerprint(initial: Atoms, final: Atoms, settings: Any, model: str, n_images: int) -> str:
    """Hash of everything a checkpoint must agree with to be continued."""
    h = hashlib.sha256()
    h.update(np.asarray(initial.numbers, dtype=np.int64).tobytes())
    for arr in (initial.cell[:], initial.positions, final.positions):
        h.update(np.round(np.asarray(arr, dtype=np.float64), 6).tobytes())
    knobs = {k: getattr(settings, k) for k in _FINGERPRINT_SETTINGS}
    h.update(json.dumps({"model": model, "n_images": n_images, **knobs}, sort_keys=True).encode())
    return h.hexdigest()[:20]


@dataclass
class BandCheckpoint:
    """State of an unfinished NEB (see module docstring)."""

    fingerprint: str
    end_positions: np.ndarray  # (2, n_atoms, 3)
    end_energies: np.ndarray  # (2,)
    end_forces: np.ndarray  # (2, n_atoms, 3)
    endpoint_force_calls: int
    endpoints_converged: bool
    band_positions: np.ndarray  # (n_images, n_atoms, 3), endpoints included
    n_steps: int = 0
    band_force_calls: int = 0
    wall_time_s: float = 0.0
    band_energies: np.ndarray | None = None  # (n_images,) at the saved positions, when known
    residual: float | None = None  # NEB max force at the saved positions (eV/Å)
    optimizer_switches: list[dict[str, Any]] = field(default_factory=list)  # stalls so far

    @property
    def barrier_estimate(self) -> float | None:
        """Forward barrier of the saved band (eV): where an unfinished band stands."""
        if self.band_energies is None or not np.all(np.isfinite(self.band_energies)):
            return None
        return float(np.max(self.band_energies) - self.band_energies[0])

    def save(self, path: str | Path) -> None:
        """Write the checkpoint to ``path`` (atomically)."""
        arrays = {
            "end_positions": self.end_positions,
            "end_energies": self.end_energies,
            "end_forces": self.end_forces,
            "band_positions": self.band_positions,
        }
        if self.band_energies is not None:
            arrays["band_energies"] = np.asarray(self.band_energies, dtype=float)
        meta = {
            "kind": "ionflow-neb-band",
            "format_version": FORMAT_VERSION,
            "fingerprint": self.fingerprint,
            "endpoint_force_calls": self.endpoint_force_calls,
            "endpoints_converged": self.endpoints_converged,
            "n_steps": self.n_steps,
            "band_force_calls": self.band_force_calls,
            "wall_time_s": self.wall_time_s,
            "residual": self.residual,
            "optimizer_switches": [dict(sw) for sw in self.optimizer_switches],
        }
        write_npz(path, arrays, meta)

    @classmethod
    def load(cls, path: str | Path, expected_fingerprint: str | None = None) -> BandCheckpoint:
        """Read a checkpoint; raises when it belongs to another fingerprint (when given)."""
        path = Path(path)
        try:
            arrays, meta = read_npz(path)
        except Exception as exc:
            raise IonflowInputError(f"Cannot read NEB checkpoint {path}: {exc}") from exc
        if meta.get("kind") != "ionflow-neb-band":
            raise IonflowInputError(f"{path} is not an ionflow NEB checkpoint")
        if meta.get("format_version") != FORMAT_VERSION:
            raise IonflowInputError(
                f"NEB checkpoint {path} has format {meta.get('format_version')}, "
                f"expected {FORMAT_VERSION}"
            )
        if expected_fingerprint is not None and meta["fingerprint"] != expected_fingerprint:
            raise IonflowInputError(
                f"NEB checkpoint {path} belongs to a different calculation (other endpoints, "
                "model, image count or band settings); remove it or choose another checkpoint "
                "path. It was left untouched."
            )
        return cls(
            fingerprint=meta["fingerprint"],
            end_positions=arrays["end_positions"],
            end_energies=arrays["end_energies"],
            end_forces=arrays["end_forces"],
            endpoint_force_calls=int(meta["endpoint_force_calls"]),
            endpoints_converged=bool(meta["endpoints_converged"]),
            band_positions=arrays["band_positions"],
            n_steps=int(meta["n_steps"]),
            band_force_calls=int(meta["band_force_calls"]),
            wall_time_s=float(meta["wall_time_s"]),
            band_energies=arrays.get("band_energies"),
            residual=meta.get("residual"),
            optimizer_switches=list(meta.get("optimizer_switches") or []),
        )


class CheckpointWriter:
    """Writes a :class:`BandCheckpoint` every ``every`` band steps (and at the end).

    Parameters
    ----------
    path
        Checkpoint file.
    state
        The state to update and write; its counters are those of earlier runs.
    every
        Band steps between two writes.
    """

    def __init__(self, path: Path, state: BandCheckpoint, every: int) -> None:
        self.path = path
        self.state = state
        self.every = max(int(every), 1)
        self._t0 = time.perf_counter()
        self._wall_before = state.wall_time_s

    def wall(self) -> float:
        """Wall time of this calculation so far, earlier runs included (s)."""
        return self._wall_before + time.perf_counter() - self._t0

    def save(self) -> None:
        """Write the state now."""
        self.state.wall_time_s = self.wall()
        self.state.save(self.path)

    def band_step(self, step: int, neb: NEB, prior_calls: int, force: bool = False) -> None:
        """Record the band after ``step`` (written every ``every`` steps, or when ``force``)."""
        if not force and step % self.every:
            return
        self.state.band_positions = np.array([im.positions for im in neb.images])
        try:
            self.state.band_energies = np.array(
                [im.get_potential_energy() for im in neb.images], dtype=float
            )
            self.state.residual = float(neb.get_residual())
        except Exception:  # energies not known at these positions (e.g. before any step)
            self.state.band_energies, self.state.residual = None, None
        self.state.n_steps = int(step)
        self.state.band_force_calls = prior_calls + int(getattr(neb, "n_evaluations", 0))
        self.save()
