"""Compact numpy arrays for the ``data`` store.

A JSON list of floats costs ~20 bytes a number; a trajectory of 10^7 coordinates would be a
document of hundreds of MB. :class:`PackedArray` keeps the dtype, the shape and the
zlib-compressed bytes as base64 text, which round-trips exactly through MongoDB/GridFS,
MontyDB and JSON files alike.

Trajectories (``pack(..., quantum=1e-4)``) are stored as positions quantised to ``quantum``
(Å) and differenced frame to frame: the steps between sampled frames are small integers
(int16), which compress to ~1–2 bytes a coordinate. The quantisation error (<= quantum / 2,
not accumulated: the cumulative sum restores the quantised positions exactly) is far below
anything an MSD can resolve.
"""

from __future__ import annotations

import base64
import zlib

import numpy as np
from pydantic import BaseModel, Field


class PackedArray(BaseModel):
    """A numpy array as dtype + shape + base64(zlib(bytes)), optionally delta-quantised."""

    dtype: str
    shape: list[int]
    data: str = Field(description="base64 of the zlib-compressed C-order bytes")
    encoding: str = Field("raw", description="'raw' or 'delta-quantized' (along axis 0)")
    quantum: float | None = None
    stored_dtype: str | None = None
    first: list | None = Field(None, description="first frame, integer units (delta encoding)")

    @classmethod
    def pack(
        cls, array: np.ndarray, dtype: str | None = None, quantum: float | None = None
    ) -> PackedArray:
        """Pack ``array``; with ``quantum`` use the delta-quantised encoding along axis 0."""
        arr = np.ascontiguousarray(array, dtype=dtype or np.asarray(array).dtype)
        if quantum is None or arr.ndim == 0 or len(arr) < 2:
            raw = zlib.compress(arr.tobytes(), level=6)
            return cls(
                dtype=str(arr.dtype), shape=list(arr.shape), data=base64.b64encode(raw).decode()
            )
        q = np.rint(np.asarray(arr, dtype=np.float64) / quantum).astype(np.int64)
        steps = np.diff(q, axis=0)
        big = np.abs(steps).max() if steps.size else 0
        stored = np.int16 if big < 2**15 else np.int32 if big < 2**31 else np.int64
        raw = zlib.compress(np.ascontiguousarray(steps, dtype=stored).tobytes(), level=6)
        return cls(
            dtype=str(arr.dtype),
            shape=list(arr.shape),
            data=base64.b64encode(raw).decode(),
            encoding="delta-quantized",
            quantum=quantum,
            stored_dtype=np.dtype(stored).name,
            first=q[0].tolist(),
        )

    def unpack(self) -> np.ndarray:
        """The array, decoded (delta decoding and dequantisation undone)."""
        raw = zlib.decompress(base64.b64decode(self.data))
        if self.encoding == "raw":
            return np.frombuffer(raw, dtype=np.dtype(self.dtype)).reshape(self.shape).copy()
        steps = np.frombuffer(raw, dtype=np.dtype(self.stored_dtype)).astype(np.int64)
        steps = steps.reshape([self.shape[0] - 1, *self.shape[1:]])
        q = np.concatenate([np.asarray(self.first, dtype=np.int64)[None], steps], axis=0)
        return (np.cumsum(q, axis=0) * self.quantum).astype(np.dtype(self.dtype))

    @property
    def nbytes_stored(self) -> int:
        """Bytes of the stored (compressed, base64) payload."""
        return len(self.data)


def unpack(obj: PackedArray | dict | list | np.ndarray | None) -> np.ndarray | None:
    """Array from a :class:`PackedArray`, its dict form, or a plain list."""
    if obj is None:
        return None
    if isinstance(obj, PackedArray):
        return obj.unpack()
    if isinstance(obj, dict) and {"dtype", "shape", "data"} <= set(obj):
        fields = set(PackedArray.model_fields)
        return PackedArray(**{k: v for k, v in obj.items() if k in fields}).unpack()
    return np.asarray(obj)
