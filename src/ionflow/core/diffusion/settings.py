"""The knobs of the diffusivity analysis: :class:`DiffusionSettings`.

Everything :func:`~ionflow.core.diffusion.diffusion_coefficient` needs besides the data
(positions, frame interval, drift, temperature) lives in one validated, serialisable dataclass,
so a job, a CLI command and a test can share, store and compare one analysis set-up:

>>> from ionflow.core.diffusion.settings import DiffusionSettings
>>> s = DiffusionSettings(n_segments=4, dims=[0, 1])
>>> s.dims, s.dim
((0, 1), 2)
>>> s.replace(collective=True).collective
True
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from monty.json import MSONable

from ionflow.core.diffusion.msd import _check_dims
from ionflow.core.errors import IonflowInputError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["DiffusionSettings", "Preset", "Weighting"]

Weighting = Literal["none", "inverse_time"]
Preset = Literal["ionflow", "pymatgen_max"]

_WEIGHTINGS = ("none", "inverse_time")
_PRESETS = ("ionflow", "pymatgen_max")


@dataclass(frozen=True)
class DiffusionSettings(MSONable):
    """How the diffusivity of one temperature is analysed (not what is analysed).

    Validated on creation: a bad value raises :class:`~ionflow.core.errors.IonflowInputError`
    naming the field. Sequences are normalised to tuples, so a settings object read back from
    JSON (``MontyDecoder().process_decoded(jsanitize(s, strict=True))``) compares equal to the
    original.

    Parameters
    ----------
    n_segments : int
        Non-overlapping segments per run (lian2025: 4 per 200 ps run -> 50 ps segments). Every
        segment has ``min(n_frames_run) // n_segments`` frames; leftover frames at the end of
        longer runs are not used.
    segment_length_ps : float or None
        Instead of ``n_segments``: cut every run into as many segments of
        ``round(segment_length_ps / timestep)`` frames as fit.
    fit_window : tuple of float
        Fitted part of the lag range, as fractions of the segment duration (default 20–80 %).
    fit_lags : tuple of int or None
        Explicit lag indices (frames) to fit, overriding ``fit_window``.
    lag_stride : int
        Use every ``lag_stride``-th lag inside ``fit_window``.
    weighting : {"none", "inverse_time"}
        Least-squares weights: ordinary (default) or ``1/Δt`` (pymatgen "max").
    dims : tuple of int
        Cartesian axes: ``(0, 1, 2)`` for 3D, 2 axes for a plane, 1 axis for a line projection;
        ``d = len(dims)``.
    collective : bool
        Also compute the charge diffusivity ``D_sigma`` from the collective MSD and the Haven
        ratio ``D / D_sigma``.
    preset : {"ionflow", "pymatgen_max"}
        ``"pymatgen_max"`` fits the lags of
        :func:`~ionflow.core.diffusion.fitting.pymatgen_max_fit_lags` (per segment) with
        ``weighting="inverse_time"``: with the framework drift removed and ``n_segments=1``
        this reproduces pymatgen's ``DiffusionAnalyzer(smoothed="max")``.
    min_obs : int
        pymatgen's ``min_obs`` for ``preset="pymatgen_max"``.
    equilibration_frames : int
        Frames dropped at the start of every run (and of its drift) before anything else
        (default 0: the trajectories hold production frames only).
    check_hops : bool
        Count hops and apply the :func:`~ionflow.core.diffusion.hops.enough_hops` criterion.
    hop_threshold_A : float
        Displacement from the reference site that counts as a hop, Å.
    hop_length_A : float
        Typical site-to-site distance, Å.
    min_hops : int
        Minimum number of hop events (all ions, all runs).
    min_msd_hop_ratio : float
        Minimum ``MSD(last fitted lag) / hop_length_A**2``.
    workers : int or None
        Threads for ``scipy.fft`` (does not change the numbers).
    """

    n_segments: int = 1
    segment_length_ps: float | None = None
    fit_window: tuple[float, float] = (0.2, 0.8)
    fit_lags: tuple[int, ...] | None = None
    lag_stride: int = 1
    weighting: Weighting = "none"
    dims: tuple[int, ...] = (0, 1, 2)
    collective: bool = False
    preset: Preset = "ionflow"
    min_obs: int = 30
    equilibration_frames: int = 0
    check_hops: bool = True
    hop_threshold_A: float = 1.5
    hop_length_A: float = 2.0
    min_hops: int = 20
    min_msd_hop_ratio: float = 2.0
    workers: int | None = None

    def __post_init__(self) -> None:
        self._check_segmentation()
        self._check_fit()
        self._check_hop_criterion()
        self._set("dims", _check_dims(self.dims))
        self._set("collective", bool(self.collective))
        if self.workers is not None:
            self._set("workers", _integer("workers", self.workers, minimum=None))

    # ------------------------------------------------------------------ validation helpers
    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def _check_segmentation(self) -> None:
        self._set("n_segments", _integer("n_segments", self.n_segments, minimum=1))
        if self.segment_length_ps is not None:
            self._set("segment_length_ps", _positive("segment_length_ps", self.segment_length_ps))
        self._set(
            "equilibration_frames",
            _integer("equilibration_frames", self.equilibration_frames, minimum=0),
        )

    def _check_fit(self) -> None:
        if self.weighting not in _WEIGHTINGS:
            raise IonflowInputError(
                f"weighting must be 'none' or 'inverse_time', got {self.weighting!r}"
            )
        if self.preset not in _PRESETS:
            raise IonflowInputError(
                f"preset must be 'ionflow' or 'pymatgen_max', got {self.preset!r}"
            )
        self._set("fit_window", _window(self.fit_window))
        self._set("lag_stride", _integer("lag_stride", self.lag_stride, minimum=1))
        self._set("min_obs", _integer("min_obs", self.min_obs, minimum=1))
        if self.fit_lags is not None:
            if self.preset == "pymatgen_max":
                raise IonflowInputError("preset='pymatgen_max' sets fit_lags itself")
            self._set("fit_lags", _lag_indices(self.fit_lags))

    def _check_hop_criterion(self) -> None:
        self._set("check_hops", bool(self.check_hops))
        self._set("hop_threshold_A", _positive("hop_threshold_A", self.hop_threshold_A))
        self._set("hop_length_A", _positive("hop_length_A", self.hop_length_A))
        self._set("min_hops", _integer("min_hops", self.min_hops, minimum=0))
        ratio = self.min_msd_hop_ratio
        if not (isinstance(ratio, (int, float, np.number)) and math.isfinite(ratio) and ratio >= 0):
            raise IonflowInputError(f"min_msd_hop_ratio must be a number >= 0, got {ratio!r}")
        self._set("min_msd_hop_ratio", float(ratio))

    # ------------------------------------------------------------------ derived values
    @property
    def dim(self) -> int:
        """Dimensionality ``d`` in ``D = slope / (2 d)``."""
        return len(self.dims)

    @property
    def effective_weighting(self) -> Weighting:
        """The weighting the fit uses (``preset="pymatgen_max"`` means ``"inverse_time"``)."""
        return "inverse_time" if self.preset == "pymatgen_max" else self.weighting

    def replace(self, **changes: Any) -> DiffusionSettings:
        """Return a copy with some fields changed (validated again).

        Parameters
        ----------
        **changes
            Field names and their new values.

        Returns
        -------
        DiffusionSettings
            The new settings.

        Raises
        ------
        TypeError
            A name that is not a field.
        """
        unknown = sorted(set(changes) - _FIELD_NAMES)
        if unknown:
            raise TypeError(
                f"unknown diffusion setting(s) {', '.join(unknown)}; "
                f"valid names: {', '.join(sorted(_FIELD_NAMES))}"
            )
        return dataclasses.replace(self, **changes)

    @classmethod
    def build(
        cls, settings: DiffusionSettings | None = None, **overrides: Any
    ) -> DiffusionSettings:
        """``settings`` (default: the defaults) with ``overrides`` applied.

        Parameters
        ----------
        settings : DiffusionSettings, optional
            Starting point.
        **overrides
            Field names and values replacing those of ``settings``.

        Returns
        -------
        DiffusionSettings
            ``settings`` itself when there is nothing to override.
        """
        if settings is None:
            settings = cls()
        elif not isinstance(settings, DiffusionSettings):
            raise IonflowInputError(
                f"settings must be a DiffusionSettings, got {type(settings).__name__}"
            )
        return settings.replace(**overrides) if overrides else settings


_FIELD_NAMES = frozenset(f.name for f in dataclasses.fields(DiffusionSettings))


def _integer(name: str, value: Any, *, minimum: int | None) -> int:
    """``value`` as an int (``minimum`` or more), or an error naming ``name``.

    Integral floats (``4.0``, e.g. from a YAML file) are accepted; booleans are not.
    """
    ok = isinstance(value, (int, np.integer, float, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )
    ok = ok and math.isfinite(value) and float(value).is_integer()
    if not ok or (minimum is not None and value < minimum):
        need = "an integer" if minimum is None else f"an integer >= {minimum}"
        raise IonflowInputError(f"{name} must be {need}, got {value!r}")
    return int(value)


def _positive(name: str, value: Any) -> float:
    """``value`` as a finite float > 0, or an error naming ``name``."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        f = math.nan
    if not (math.isfinite(f) and f > 0):
        raise IonflowInputError(f"{name} must be a number > 0, got {value!r}")
    return f


def _window(value: Sequence[float]) -> tuple[float, float]:
    """A fit window ``(lo, hi)`` with ``0 <= lo < hi <= 1``."""
    try:
        lo, hi = (float(f) for f in value)
    except (TypeError, ValueError):
        raise IonflowInputError(
            f"fit_window must be two fractions (lo, hi), got {value!r}"
        ) from None
    if not 0.0 <= lo < hi <= 1.0:
        raise IonflowInputError(f"fit_window must satisfy 0 <= lo < hi <= 1, got {value}")
    return lo, hi


def _lag_indices(value: Sequence[int] | np.ndarray) -> tuple[int, ...]:
    """Explicit fit lags as a tuple of non-negative ints."""
    lags = np.asarray(value, dtype=np.int64)
    if lags.ndim != 1 or lags.size == 0 or lags.min() < 0:
        raise IonflowInputError(f"fit_lags must be lag indices (frames, >= 0), got {value!r}")
    return tuple(int(v) for v in lags)
