"""The temperature-ladder loop's science: held-out sets, errors, disagreement, stopping.

bohm-champagne's loop runs MD with the current model, keeps furthest-point snapshots, labels
them, fine-tunes and moves one rung up the ladder. This module holds what the loop decides with
plain arrays:

- :func:`rattled_configs`: a fixed held-out set (rattled and strained copies of the start);
- :func:`heldout_errors`: energy/force/stress MAE of predictions against labels;
- :func:`force_disagreement` and :func:`select_by_disagreement`: where two models (the current
  and the previous one) disagree most, a committee-style pick;
- :func:`stop_reason`: ladder end, iteration cap, error threshold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ionflow.core.errors import IonflowInputError
from ionflow.core.training.dataset import labels_of

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ase import Atoms

__all__ = [
    "STOP_REASONS",
    "force_disagreement",
    "heldout_errors",
    "rattled_configs",
    "select_by_disagreement",
    "stop_reason",
]

#: Why a ladder stops, in the order they are checked.
STOP_REASONS = ("error threshold", "iteration cap", "ladder end")

#: eV/Å^3 -> GPa
_EV_A3_TO_GPA = 160.21766208


def rattled_configs(
    atoms: Atoms,
    n: int,
    amplitudes: Sequence[float] = (0.05, 0.1, 0.15, 0.2),
    strains: Sequence[float] = (-0.02, 0.0, 0.02),
    seed: int = 0,
) -> list[Atoms]:
    """Rattled (Gaussian displacements) and isotropically strained copies of ``atoms``.

    Configuration ``i`` has displacement amplitude ``amplitudes[i % len(amplitudes)]`` (the
    standard deviation per Cartesian component, Å) and strain ``strains[i % len(strains)]``,
    so a few configurations already span the thermal displacements of a temperature ladder.

    Parameters
    ----------
    atoms
        The starting configuration (periodic).
    n
        Number of copies.
    amplitudes
        Displacement standard deviations (Å), cycled.
    strains
        Linear strains (fractions), cycled.
    seed
        Seed of the displacements (the same seed gives the same set).

    Returns
    -------
    list[Atoms]
        Unlabelled copies, ``info["rattle_A"]`` and ``info["strain"]`` set.

    Raises
    ------
    IonflowInputError
        For ``n < 1``, a negative amplitude, a strain beyond ±10 % or a non-periodic cell.
    """
    if n < 1:
        raise IonflowInputError(f"the held-out set needs at least 1 configuration, got {n}")
    amps = [float(a) for a in amplitudes] or [0.0]
    strs = [float(s) for s in strains] or [0.0]
    if min(amps) < 0 or max(amps) > 1.0:
        raise IonflowInputError(f"rattle amplitudes must be in [0, 1] Å, got {amps}")
    if max(abs(s) for s in strs) > 0.1:
        raise IonflowInputError(f"strains are fractions within ±0.1, got {strs}")
    if not np.all(atoms.pbc):
        raise IonflowInputError("the held-out set needs a periodic configuration")
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        amp, strain = amps[i % len(amps)], strs[i % len(strs)]
        copy = atoms.copy()
        copy.calc = None
        copy.set_cell(atoms.cell[:] * (1.0 + strain), scale_atoms=True)
        copy.positions += rng.normal(0.0, amp, size=copy.positions.shape)
        copy.wrap()
        copy.info["rattle_A"] = amp
        copy.info["strain"] = strain
        out.append(copy)
    return out


def heldout_errors(labelled: Sequence[Atoms], predictions: Sequence[Any]) -> dict[str, float]:
    """Mean absolute errors of predictions against labels.

    Parameters
    ----------
    labelled
        Labelled configurations (energy, forces, optionally stress on the calculator).
    predictions
        One prediction per configuration with ``energy`` (eV), ``forces`` (eV/Å) and
        ``stress`` (eV/Å^3, Voigt 6, or None), e.g. :class:`ionflow.mlip.Prediction`.

    Returns
    -------
    dict
        ``energy_eV_atom`` (per-atom energy MAE), ``forces_eV_A`` (MAE over all force
        components), ``stress_GPa`` (MAE over Voigt components; NaN when no configuration has
        both a stress label and a predicted stress), ``n_configs``.

    Raises
    ------
    IonflowInputError
        If the lengths differ or there is no configuration.
    """
    if len(labelled) != len(predictions) or not labelled:
        raise IonflowInputError(
            f"{len(labelled)} labelled configurations but {len(predictions)} predictions"
        )
    de, df, ds = [], [], []
    for k, (atoms, pred) in enumerate(zip(labelled, predictions)):
        lab = labels_of(atoms, k)
        de.append(abs(float(pred.energy) - lab.energy) / len(atoms))
        df.append(np.abs(np.asarray(pred.forces, float) - lab.forces).ravel())
        if lab.stress is not None and getattr(pred, "stress", None) is not None:
            diff = np.asarray(pred.stress, float).reshape(-1)[:6] - lab.stress.reshape(-1)[:6]
            ds.append(np.abs(diff) * _EV_A3_TO_GPA)
    return {
        "energy_eV_atom": float(np.mean(de)),
        "forces_eV_A": float(np.mean(np.concatenate(df))),
        "stress_GPa": float(np.mean(np.concatenate(ds))) if ds else float("nan"),
        "n_configs": len(labelled),
    }


def force_disagreement(preds_a: Sequence[Any], preds_b: Sequence[Any]) -> np.ndarray:
    """Largest per-atom force difference between two models, per configuration.

    Parameters
    ----------
    preds_a, preds_b
        Predictions of the two models on the same configurations (``forces`` (n, 3), eV/Å).

    Returns
    -------
    numpy.ndarray
        ``max_i |F_a,i - F_b,i|`` (eV/Å) per configuration.
    """
    if len(preds_a) != len(preds_b):
        raise IonflowInputError(f"{len(preds_a)} vs {len(preds_b)} predictions to compare")
    return np.array(
        [
            float(np.max(np.linalg.norm(np.asarray(a.forces) - np.asarray(b.forces), axis=1)))
            for a, b in zip(preds_a, preds_b)
        ]
    )


def select_by_disagreement(scores: Sequence[float], n: int) -> list[int]:
    """Indices of the ``n`` largest scores, largest first (ties: lower index first).

    Parameters
    ----------
    scores
        One disagreement per candidate (non-finite scores count as largest: a model that
        blows up on a configuration is the strongest reason to label it).
    n
        How many to keep (all when ``n`` exceeds the candidates).

    Returns
    -------
    list[int]
        Selected candidate indices.
    """
    if n < 1:
        raise IonflowInputError(f"number of configurations to select must be >= 1, got {n}")
    s = np.asarray(scores, dtype=float)
    s = np.where(np.isfinite(s), s, np.inf)
    order = np.argsort(-s, kind="stable")
    return [int(i) for i in order[: min(n, len(s))]]


def stop_reason(
    n_done: int,
    n_temperatures: int,
    max_iterations: int | None,
    force_mae: float | None,
    stop_force_mae: float | None,
) -> str | None:
    """Why the ladder stops after ``n_done`` rungs, or None to go on.

    Parameters
    ----------
    n_done
        Rungs completed.
    n_temperatures
        Rungs on the ladder.
    max_iterations
        Most rungs (None: no cap).
    force_mae
        Held-out force MAE of the newest model (eV/Å).
    stop_force_mae
        Stop once ``force_mae`` is below this (None: never).

    Returns
    -------
    str or None
        ``"error threshold"``, ``"iteration cap"``, ``"ladder end"`` or None.
    """
    if stop_force_mae is not None and force_mae is not None and force_mae < stop_force_mae:
        return "error threshold"
    if max_iterations is not None and n_done >= max_iterations:
        return "iteration cap"
    if n_done >= n_temperatures:
        return "ladder end"
    return None
