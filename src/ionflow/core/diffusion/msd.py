"""Time-origin-averaged mean square displacements computed with FFTs.

All functions take positions shaped ``(n_frames, n_atoms, 3)`` in Å. The MSD at lag ``m`` is
averaged over every time origin ``t = 0 .. n_frames - m - 1`` (and over atoms), computed in
``O(N log N)`` with the Wiener–Khinchin theorem: for each coordinate ``x``,

``sum_t (x[t+m] - x[t])**2 = S1(m) - 2 S2(m)`` with
``S1(m) = sum_{t<N-m} (x[t]**2 + x[t+m]**2)`` (prefix sums) and
``S2(m) = sum_{t<N-m} x[t] x[t+m]`` (autocorrelation by a zero-padded real FFT).

Precision: each atom's trajectory is centred on its time average before the transform (the MSD
does not change) and the transform is done in float64 in blocks of atoms, so float32 input
(the compact storage format of ionflow trajectories) costs no accuracy in the result and the
transient memory stays bounded.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft

from ionflow.core.errors import IonflowInputError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "collective_msd_fft",
    "framework_drift",
    "msd_fft",
    "unwrap_positions",
]

logger = logging.getLogger(__name__)

_MAX_BLOCK_BYTES = 256_000_000


def _check_positions(positions: np.ndarray, name: str = "positions") -> np.ndarray:
    arr = np.asarray(positions)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise IonflowInputError(f"{name} must have shape (n_frames, n_atoms, 3), got {arr.shape}")
    if arr.shape[0] < 2:
        raise IonflowInputError(f"{name} needs at least 2 frames, got {arr.shape[0]}")
    if arr.shape[1] < 1:
        raise IonflowInputError(f"{name} contains no atoms")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return arr


def _check_dims(dims: Sequence[int]) -> tuple[int, ...]:
    dims_t = tuple(int(d) for d in dims)
    if not dims_t or len(set(dims_t)) != len(dims_t) or any(d not in (0, 1, 2) for d in dims_t):
        raise IonflowInputError(
            f"dims must be distinct Cartesian axes among (0, 1, 2), got {tuple(dims)}"
        )
    return dims_t


def _msd_series(x: np.ndarray, workers: int | None = None) -> np.ndarray:
    """Sum over coordinates of the time-origin-averaged MSD of each series.

    Parameters
    ----------
    x : np.ndarray
        float64 array ``(n_series, n_coords, n_frames)``, each series centred.
    workers : int, optional
        Threads for scipy.fft.

    Returns
    -------
    np.ndarray
        ``(n_series, n_frames)`` MSD summed over the coordinates.
    """
    n_series, _, n = x.shape
    n_fft = next_fast_len(2 * n, real=True)
    spec = rfft(x, n=n_fft, axis=-1, workers=workers)
    power = spec.real**2
    power += spec.imag**2
    del spec
    power = power.sum(axis=1)  # sum over coordinates -> one inverse transform per series
    s2 = irfft(power, n=n_fft, axis=-1, workers=workers)[:, :n]
    del power

    sq = np.einsum("scn,scn->sn", x, x)
    prefix = np.zeros((n_series, n + 1))
    np.cumsum(sq, axis=-1, out=prefix[:, 1:])
    lags = np.arange(n)
    s1 = prefix[:, n - lags] + (prefix[:, n : n + 1] - prefix[:, lags])
    out = (s1 - 2.0 * s2) / (n - lags)
    out[:, 0] = 0.0
    np.maximum(out, 0.0, out=out)  # round-off at tiny lags
    return out


def msd_fft(
    positions: np.ndarray,
    *,
    dims: Sequence[int] = (0, 1, 2),
    per_atom: bool = False,
    workers: int | None = None,
) -> np.ndarray:
    """Time-origin-averaged MSD of unwrapped trajectories, by FFT.

    Parameters
    ----------
    positions : np.ndarray
        Unwrapped Cartesian positions in Å, shape ``(n_frames, n_atoms, 3)``; float32 or
        float64 (the transform is always done in float64).
    dims : sequence of int, optional
        Cartesian axes summed into the MSD: ``(0, 1, 2)`` for 3D, ``(0, 1)`` for the xy-plane,
        ``(2,)`` for the projection on z.
    per_atom : bool, optional
        Return the MSD of every atom, shape ``(n_frames, n_atoms)``, instead of the average.
    workers : int, optional
        Threads for ``scipy.fft`` (default: one).

    Returns
    -------
    np.ndarray
        MSD in Å² for lags ``0 .. n_frames - 1``: shape ``(n_frames,)`` (atom average) or
        ``(n_frames, n_atoms)`` when ``per_atom``.
    """
    arr = _check_positions(positions)
    dims_t = _check_dims(dims)
    n_frames, n_atoms, _ = arr.shape
    n_fft = next_fast_len(2 * n_frames, real=True)
    per_atom_bytes = 8 * (len(dims_t) * (n_frames + 2 * n_fft) + 4 * n_fft + 6 * n_frames)
    block = int(max(1, min(n_atoms, _MAX_BLOCK_BYTES // per_atom_bytes)))

    total = np.zeros(n_frames)
    out = np.empty((n_frames, n_atoms)) if per_atom else None
    for start in range(0, n_atoms, block):
        stop = min(start + block, n_atoms)
        # (block, n_dims, n_frames), contiguous float64, centred per atom and axis
        x = np.ascontiguousarray(
            np.asarray(arr[:, start:stop][:, :, dims_t], dtype=np.float64).transpose(1, 2, 0)
        )
        x -= x.mean(axis=-1, keepdims=True)
        msd_block = _msd_series(x, workers=workers)
        if out is not None:
            out[:, start:stop] = msd_block.T
        total += msd_block.sum(axis=0)
    if out is not None:
        return out
    return total / n_atoms


def collective_msd_fft(
    positions: np.ndarray,
    *,
    dims: Sequence[int] = (0, 1, 2),
    charges: np.ndarray | None = None,
    workers: int | None = None,
) -> np.ndarray:
    """Collective ("charge") MSD: MSD of the summed displacement, divided by N.

    ``MSCD(m) = < |sum_i q_i (r_i(t+m) - r_i(t))|² >_t / N``. With unit charges (one mobile
    species) the slope of MSCD gives the charge diffusivity ``D_sigma`` so that the Haven ratio
    is ``H_R = D_tracer / D_sigma`` and ``sigma = n q² D_sigma / (k_B T)``. This is the same
    definition as pymatgen-analysis-diffusion's ``mscd``.

    Parameters
    ----------
    positions : np.ndarray
        Unwrapped Cartesian positions in Å, shape ``(n_frames, n_atoms, 3)``.
    dims : sequence of int, optional
        Cartesian axes summed into the MSD.
    charges : np.ndarray, optional
        Per-atom weights ``q_i`` (in units of the reference charge; default all 1).
    workers : int, optional
        Threads for ``scipy.fft``.

    Returns
    -------
    np.ndarray
        Collective MSD in Å² for lags ``0 .. n_frames - 1``.
    """
    arr = _check_positions(positions)
    dims_t = _check_dims(dims)
    n_atoms = arr.shape[1]
    if charges is None:
        summed = arr[:, :, dims_t].sum(axis=1, dtype=np.float64)
    else:
        q = np.asarray(charges, dtype=np.float64)
        if q.shape != (n_atoms,):
            raise IonflowInputError(f"charges must have shape ({n_atoms},), got {q.shape}")
        summed = np.einsum("tad,a->td", np.asarray(arr[:, :, dims_t], dtype=np.float64), q)
    x = np.ascontiguousarray(summed.T[None, :, :])
    x -= x.mean(axis=-1, keepdims=True)
    return _msd_series(x, workers=workers)[0] / n_atoms


def framework_drift(framework_positions: np.ndarray) -> np.ndarray:
    """Mean displacement of the framework atoms from the first frame.

    Subtracting it from the mobile-ion positions removes the drift of the host lattice (as
    pymatgen's ``DiffusionAnalyzer`` does: unweighted mean over all non-mobile atoms).

    Parameters
    ----------
    framework_positions : np.ndarray
        Unwrapped Cartesian positions of the framework atoms, ``(n_frames, n_framework, 3)``.

    Returns
    -------
    np.ndarray
        ``(n_frames, 3)`` drift in Å, zero at frame 0.
    """
    arr = np.asarray(framework_positions, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[-1] != 3 or arr.shape[1] == 0:
        raise IonflowInputError(
            f"framework_positions must have shape (n_frames, n_framework>0, 3), got {arr.shape}"
        )
    mean = arr.mean(axis=1)
    return mean - mean[0]


def unwrap_positions(
    frac_or_cart_wrapped: np.ndarray,
    lattice: np.ndarray,
    *,
    fractional: bool = False,
    warn_step_frac: float = 0.3,
) -> np.ndarray:
    """Unwrap periodic positions by the minimum image of every frame-to-frame step.

    Parameters
    ----------
    frac_or_cart_wrapped : np.ndarray
        Wrapped (or already unwrapped: the result is the same) positions,
        ``(n_frames, n_atoms, 3)``, fractional when ``fractional`` else Cartesian Å.
    lattice : np.ndarray
        Lattice matrix, rows are the lattice vectors in Å: ``(3, 3)`` or per frame
        ``(n_frames, 3, 3)`` (NpT).
    fractional : bool, optional
        Whether the input is in fractional coordinates (default: Cartesian).
    warn_step_frac : float, optional
        Log a warning when a minimum-image step exceeds this fraction of a lattice vector:
        frames are then too far apart to unwrap unambiguously.

    Returns
    -------
    np.ndarray
        Unwrapped Cartesian positions (float64, Å), starting at the first frame's positions.
        With a per-frame lattice the unwrapped fractional coordinates are mapped with each
        frame's own lattice (as pymatgen does).

    Notes
    -----
    The minimum image is taken in fractional coordinates (rounding each fractional step), which
    is exact as long as every atom moves less than half a lattice spacing between frames.
    """
    pos = np.asarray(frac_or_cart_wrapped, dtype=np.float64)
    if pos.ndim != 3 or pos.shape[-1] != 3:
        raise IonflowInputError(
            f"positions must have shape (n_frames, n_atoms, 3), got {pos.shape}"
        )
    lat = np.asarray(lattice, dtype=np.float64)
    n_frames = pos.shape[0]
    if lat.shape == (3, 3):
        lat_frames = None
    elif lat.shape == (n_frames, 3, 3):
        lat_frames = lat
    else:
        raise IonflowInputError(
            f"lattice must have shape (3, 3) or ({n_frames}, 3, 3), got {lat.shape}"
        )

    if fractional:
        frac = pos
    elif lat_frames is None:
        frac = pos @ np.linalg.inv(lat)
    else:
        frac = np.einsum("tai,tij->taj", pos, np.linalg.inv(lat_frames))

    steps = np.diff(frac, axis=0)
    steps -= np.round(steps)
    max_step = float(np.abs(steps).max()) if steps.size else 0.0
    if max_step > warn_step_frac:
        logger.warning(
            "largest frame-to-frame step is %.2f of a lattice vector: frames may be too far "
            "apart to unwrap unambiguously",
            max_step,
        )
    unwrapped = np.empty_like(frac)
    unwrapped[0] = frac[0]
    np.cumsum(steps, axis=0, out=unwrapped[1:])
    unwrapped[1:] += frac[0]
    if lat_frames is None:
        return unwrapped @ lat
    return np.einsum("tai,tij->taj", unwrapped, lat_frames)
