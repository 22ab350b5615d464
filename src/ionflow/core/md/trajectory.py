"""Compact trajectory pieces: unwrapped positions and sampled-frame buffers."""

from __future__ import annotations

from typing import Any

import numpy as np


class Unwrapper:
    """Unwrapped Cartesian positions, accumulated from minimum-image step displacements.

    Each update adds the minimum-image displacement since the previous update (in fractional
    coordinates of the current cell), so the result stays continuous even if an integrator or a
    callback wraps positions into the cell. Valid while no atom moves more than half a cell
    length between updates (it is updated every MD step).

    Parameters
    ----------
    positions
        Starting Cartesian positions (n, 3).
    cell
        Cell matrix (rows are lattice vectors).
    """

    def __init__(self, positions: np.ndarray, cell: np.ndarray) -> None:
        self.reset(positions, cell)

    def reset(self, positions: np.ndarray, cell: np.ndarray) -> None:
        """Start again from ``positions`` (after a cell rescale)."""
        self.unwrapped = np.array(positions, dtype=float)
        self.previous = np.array(positions, dtype=float)
        self.set_cell(cell)

    def set_cell(self, cell: np.ndarray) -> None:
        """Use ``cell`` for the minimum-image convention from now on."""
        self.cell = np.array(cell, dtype=float)
        self._inverse = np.linalg.inv(self.cell)

    def update(self, positions: np.ndarray) -> np.ndarray:
        """Advance to ``positions`` (wrapped or not); returns the unwrapped positions."""
        frac = (positions - self.previous) @ self._inverse
        frac -= np.round(frac)
        self.unwrapped += frac @ self.cell
        self.previous = np.array(positions, dtype=float)
        return self.unwrapped


class SampleBuffer:
    """Named per-frame columns collected as lists; stacked on demand.

    Parameters
    ----------
    shapes
        Column name -> (per-frame shape, dtype).
    """

    def __init__(self, shapes: dict[str, tuple[tuple[int, ...], Any]]) -> None:
        self.shapes = shapes
        self.columns: dict[str, list[np.ndarray]] = {name: [] for name in shapes}

    def append(self, **values: Any) -> None:
        """Add one frame (every column must be given)."""
        for name, (shape, dtype) in self.shapes.items():
            self.columns[name].append(np.asarray(values[name], dtype=dtype).reshape(shape))

    def __len__(self) -> int:
        first = next(iter(self.columns.values()), [])
        return len(first)

    def array(self, name: str) -> np.ndarray:
        """Column ``name`` as one array of shape (n_frames, *shape)."""
        shape, dtype = self.shapes[name]
        if not self.columns[name]:
            return np.zeros((0, *shape), dtype=dtype)
        return np.stack(self.columns[name]).astype(dtype, copy=False)

    def arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        """All columns as arrays, keys prefixed with ``prefix``."""
        return {prefix + name: self.array(name) for name in self.shapes}

    def load(self, arrays: dict[str, np.ndarray], prefix: str = "") -> None:
        """Replace the contents with the columns stored by :meth:`arrays`."""
        for name, (shape, dtype) in self.shapes.items():
            stored = np.asarray(arrays[prefix + name], dtype=dtype).reshape(-1, *shape)
            self.columns[name] = list(stored)
