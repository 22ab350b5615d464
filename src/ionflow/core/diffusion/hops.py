"""Hop detection: whether a trajectory saw enough ion jumps to trust its diffusivity.

:func:`count_hops` counts jumps with a moving-reference displacement criterion;
:func:`enough_hops` turns the count and the MSD at the end of the fit window into a
:class:`HopCheck` verdict (the verdict that
:func:`~ionflow.core.diffusion.diffusion_coefficient` stores in its result).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ionflow.core.diffusion.msd import _check_positions, msd_fft
from ionflow.core.errors import IonflowInputError

__all__ = ["HopCheck", "count_hops", "enough_hops"]


def count_hops(
    positions: np.ndarray,
    threshold_A: float = 1.5,
    *,
    smooth_frames: int = 1,
    chunk_frames: int = 64,
) -> np.ndarray:
    """Count the jumps of every ion with a moving-reference displacement criterion.

    Each ion starts with its first position as reference site. Whenever it is found more than
    ``threshold_A`` away from its reference, one hop is counted and the reference moves to the
    current position. A jump between two sites ``a`` apart (``a > threshold_A``) is therefore
    counted once; vibrations are not counted as long as their amplitude stays well below the
    threshold (use ``smooth_frames`` to average them out when frames are dense).

    Parameters
    ----------
    positions : np.ndarray
        Unwrapped Cartesian positions, Å, ``(n_frames, n_atoms, 3)``.
    threshold_A : float, optional
        Displacement from the reference site that counts as a hop (default 1.5 Å, about half
        to two thirds of a typical Li/Na site-to-site distance).
    smooth_frames : int, optional
        Running-mean window (frames) applied to the positions first (default 1: none).
    chunk_frames : int, optional
        Frames processed per vectorised chunk (memory/speed trade-off).

    Returns
    -------
    np.ndarray
        Integer hop counts per ion, shape ``(n_atoms,)``.
    """
    arr = _check_positions(positions)
    if threshold_A <= 0:
        raise IonflowInputError(f"threshold_A must be > 0, got {threshold_A}")
    if smooth_frames > 1:
        if smooth_frames >= arr.shape[0]:
            raise IonflowInputError(
                f"smooth_frames={smooth_frames} must be smaller than the number of frames "
                f"({arr.shape[0]})"
            )
        csum = np.cumsum(np.asarray(arr, dtype=np.float64), axis=0)
        csum = np.concatenate([np.zeros((1, *arr.shape[1:])), csum], axis=0)
        arr = (csum[smooth_frames:] - csum[:-smooth_frames]) / smooth_frames
    n_frames, n_atoms, _ = arr.shape
    thr2 = float(threshold_A) ** 2
    ref = np.array(arr[0], dtype=np.float64)
    counts = np.zeros(n_atoms, dtype=np.int64)
    for start in range(1, n_frames, chunk_frames):
        seg = np.asarray(arr[start : start + chunk_frames], dtype=np.float64)
        k = seg.shape[0]
        frame_idx = np.arange(k)[:, None]
        ptr = np.zeros(n_atoms, dtype=np.int64)  # first unscanned frame of the chunk, per ion
        active = np.arange(n_atoms)
        while active.size:
            d2 = ((seg[:, active, :] - ref[active]) ** 2).sum(axis=-1)  # (k, n_active)
            over = (d2 > thr2) & (frame_idx >= ptr[active])
            has = over.any(axis=0)
            if not has.any():
                break
            first = over.argmax(axis=0)[has]
            hit = active[has]
            counts[hit] += 1
            ref[hit] = seg[first, hit]
            ptr[hit] = first + 1
            active = hit[ptr[hit] < k]
    return counts


@dataclass
class HopCheck:
    """Whether a trajectory saw enough ion jumps for its diffusivity to be trusted.

    Attributes
    ----------
    ok : bool
        Both criteria met.
    reason : str
        Human-readable explanation (which criterion failed, or the figures when both pass).
    n_hops : int
        Total hop events (all ions, all runs).
    hops_per_ion : float
        ``n_hops / n_ions``.
    msd_end_A2 : float
        MSD at the end of the fitted lag window, Å².
    msd_hop_ratio : float
        ``msd_end_A2 / hop_length_A**2``.
    """

    ok: bool
    reason: str
    n_hops: int
    hops_per_ion: float
    msd_end_A2: float
    msd_hop_ratio: float

    def __bool__(self) -> bool:
        return bool(self.ok)


def _hop_verdict(
    n_hops: int,
    n_ions: int,
    msd_end_A2: float,
    *,
    hop_length_A: float,
    min_hops: int,
    min_msd_hop_ratio: float,
) -> HopCheck:
    ratio = msd_end_A2 / hop_length_A**2
    problems = []
    if n_hops < min_hops:
        problems.append(f"only {n_hops} hop events detected (need >= {min_hops})")
    if not ratio >= min_msd_hop_ratio:
        problems.append(
            f"MSD at the end of the fit window is {msd_end_A2:.3g} Å² = {ratio:.3g} squared "
            f"hop lengths (need >= {min_msd_hop_ratio:g} x ({hop_length_A:g} Å)²)"
        )
    ok = not problems
    if ok:
        reason = (
            f"ok: {n_hops} hop events ({n_hops / n_ions:.3g} per ion), MSD at the end of the fit "
            f"window {msd_end_A2:.3g} Å² = {ratio:.3g} squared hop lengths"
        )
    else:
        reason = "; ".join(problems) + ": D is not trustworthy, run longer or hotter"
    return HopCheck(
        ok=ok,
        reason=reason,
        n_hops=int(n_hops),
        hops_per_ion=n_hops / n_ions,
        msd_end_A2=float(msd_end_A2),
        msd_hop_ratio=float(ratio),
    )


def enough_hops(
    positions: np.ndarray,
    *,
    threshold_A: float = 1.5,
    hop_length_A: float = 2.0,
    min_hops: int = 20,
    min_msd_hop_ratio: float = 2.0,
    lag_fraction: float = 0.8,
    smooth_frames: int = 1,
) -> HopCheck:
    """Tell whether a trajectory saw enough jumps to trust its diffusivity.

    Criterion (both must hold):

    * at least ``min_hops`` hop events in total (:func:`count_hops` with ``threshold_A``): the
      relative statistical error of ``D`` scales roughly as ``1/sqrt(n_hops)``, so 20 events
      mean an error of roughly 20–25 %;
    * the MSD at ``lag_fraction`` of the run (the end of the default fit window) exceeds
      ``min_msd_hop_ratio`` squared hop lengths, i.e. the fit sees the diffusive regime and not
      the vibrational plateau (cf. the screen ``MSD_800K > 5 Å²`` quoted in lian2025).

    Parameters
    ----------
    positions : np.ndarray
        Unwrapped Cartesian positions of the mobile ions, Å, ``(n_frames, n_atoms, 3)``.
    threshold_A : float, optional
        Hop detection threshold, Å.
    hop_length_A : float, optional
        Typical site-to-site distance, Å.
    min_hops : int, optional
        Minimum number of hop events.
    min_msd_hop_ratio : float, optional
        Minimum ``MSD(end) / hop_length_A**2``.
    lag_fraction : float, optional
        Lag (fraction of the run) at which the MSD is read.
    smooth_frames : int, optional
        Passed to :func:`count_hops`.

    Returns
    -------
    HopCheck
        Truthy when the run is trustworthy; ``reason`` explains.
    """
    arr = _check_positions(positions)
    counts = count_hops(arr, threshold_A, smooth_frames=smooth_frames)
    msd = msd_fft(arr)
    lag = int(np.floor(lag_fraction * (arr.shape[0] - 1)))
    return _hop_verdict(
        int(counts.sum()),
        arr.shape[1],
        float(msd[lag]),
        hop_length_A=hop_length_A,
        min_hops=min_hops,
        min_msd_hop_ratio=min_msd_hop_ratio,
    )
