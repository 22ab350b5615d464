"""Read MD trajectories into unwrapped mobile-ion positions for the diffusion analysis.

Supported inputs: anything :func:`ase.io.read` reads as a sequence of frames (ASE ``.traj``,
extended XYZ, VASP ``XDATCAR``, ...) and VASP ``vasprun.xml`` (read with pymatgen's
``Vasprun``, which also gives the MD step ``POTIM`` and the temperature ``TEBEG``).

Time between frames. A ``vasprun.xml`` stores every ionic step, so the frame interval is
``POTIM``. For ASE-readable files the interval is taken from the per-frame ``atoms.info``:

* ``time_fs`` or ``time_ps`` on every frame (the interval is the difference), else
* ``timestep_fs`` on the first frame (time between *stored* frames).

The temperature is read from ``atoms.info["temperature_K"]`` (or ``"temperature"``) of the first
frame. XDATCAR holds neither: pass ``timestep_fs`` (the time between stored frames, i.e.
``POTIM * NBLOCK``) and ``temperature``. When ``index`` is a slice with a step ``k``, a
stored-frame interval (``timestep_fs`` argument, info key ``timestep_fs`` or POTIM) is
multiplied by ``k``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ionflow.core.diffusion.analysis import diffusion_coefficient
from ionflow.core.diffusion.msd import framework_drift, unwrap_positions
from ionflow.core.errors import IonflowInputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ionflow.core.diffusion.result import DiffusionResult

__all__ = ["TrajectoryData", "read_trajectory"]

logger = logging.getLogger(__name__)


@dataclass
class TrajectoryData:
    """Unwrapped mobile-ion trajectory and what the analysis needs about the cell.

    Attributes
    ----------
    positions : np.ndarray
        Unwrapped Cartesian positions of the mobile ions, Å, float64,
        ``(n_frames, n_mobile, 3)``.
    lattice : np.ndarray
        Mean lattice matrix (rows are vectors), Å.
    volume_A3 : float
        Mean cell volume, Å³.
    species : tuple of str
        Mobile species.
    timestep_fs : float or None
        Time between the returned frames, fs (None: unknown).
    temperature : float or None
        Temperature from the file, K (None: unknown).
    mobile_indices : np.ndarray
        Indices of the mobile ions among all atoms.
    symbols : tuple of str
        Chemical symbols of all atoms (first frame).
    framework_drift_A : np.ndarray or None
        ``(n_frames, 3)`` mean displacement of the non-mobile atoms (None if there are none);
        pass it as ``drift`` to :func:`diffusion_coefficient` to remove the framework drift.
    lattices : np.ndarray or None
        Per-frame lattices when the cell changes (NpT), else None.
    source : str
        Path read.
    """

    positions: np.ndarray
    lattice: np.ndarray
    volume_A3: float
    species: tuple[str, ...]
    timestep_fs: float | None
    temperature: float | None
    mobile_indices: np.ndarray
    symbols: tuple[str, ...]
    framework_drift_A: np.ndarray | None = None
    lattices: np.ndarray | None = None
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return int(self.positions.shape[0])

    @property
    def volume(self) -> float:
        """Alias of ``volume_A3`` (Å³)."""
        return self.volume_A3

    @property
    def n_mobile(self) -> int:
        """Number of mobile ions."""
        return int(self.positions.shape[1])

    def require_timestep(self) -> float:
        """The frame interval, or a clear error when it is unknown."""
        if self.timestep_fs is None:
            raise IonflowInputError(
                f"the time between frames of {self.source or 'this trajectory'} is unknown: "
                "pass timestep_fs (fs between stored frames) to read_trajectory"
            )
        return float(self.timestep_fs)

    def diffusion(self, *, drift_correct: bool = False, **kwargs: Any) -> DiffusionResult:
        """Run :func:`diffusion_coefficient` on this trajectory.

        Parameters
        ----------
        drift_correct : bool, optional
            Subtract the framework drift first.
        **kwargs
            Passed to :func:`diffusion_coefficient` (``n_segments``, ``dims``, ...).

        Returns
        -------
        DiffusionResult
            The analysis, with this trajectory's temperature unless given.
        """
        kwargs.setdefault("temperature", self.temperature)
        if drift_correct:
            if self.framework_drift_A is None:
                raise IonflowInputError("no framework atoms: cannot correct the drift")
            kwargs["drift"] = self.framework_drift_A
        return diffusion_coefficient(self.positions, self.require_timestep(), **kwargs)


_SYMBOL = re.compile(r"^([A-Z][a-z]?)")


def _clean_species(species: str | Sequence[str]) -> tuple[str, ...]:
    items = [species] if isinstance(species, str) else list(species)
    if not items:
        raise IonflowInputError("no mobile species given")
    out = []
    for s in items:
        m = _SYMBOL.match(str(s).strip())
        if not m:
            raise IonflowInputError(f"not an element symbol: {s!r}")
        out.append(m.group(1))
    return tuple(dict.fromkeys(out))


def _index_step(index: str | int | slice) -> int:
    from ase.io.formats import string2index

    idx = string2index(index) if isinstance(index, str) else index
    if isinstance(idx, slice):
        return abs(idx.step or 1)
    return 1


def _read_vasprun(
    path: Path, index: str | int | slice
) -> tuple[np.ndarray, np.ndarray, list[str], float | None, float | None]:
    from ase.io.formats import string2index
    from pymatgen.io.vasp.outputs import Vasprun

    try:
        vr = Vasprun(
            str(path),
            parse_dos=False,
            parse_eigen=False,
            parse_projected_eigen=False,
            parse_potcar_file=False,
            exception_on_bad_xml=False,
        )
    except Exception as exc:
        raise IonflowInputError(f"could not read {path} as vasprun.xml: {exc}") from exc
    structures = vr.structures
    idx = string2index(index) if isinstance(index, str) else index
    selected = structures[idx] if isinstance(idx, slice) else [structures[idx]]
    if not selected:
        raise IonflowInputError(f"{path}: no frames selected by index={index!r}")
    frac = np.array([s.frac_coords for s in selected])
    lattices = np.array([s.lattice.matrix for s in selected])
    symbols = [site.specie.symbol for site in selected[0]]
    params = {**(vr.incar or {}), **(vr.parameters or {})}
    potim = params.get("POTIM")
    dt = float(potim) if potim else None
    tebeg, teend = params.get("TEBEG"), params.get("TEEND")
    temp = None
    if tebeg is not None:
        temp = float(tebeg)
        if teend is not None and float(teend) > 0 and abs(float(teend) - temp) > 1e-6:
            logger.warning("%s: TEBEG=%s != TEEND=%s: temperature not set", path, tebeg, teend)
            temp = None
    return frac, lattices, symbols, dt, temp


def _info_number(info: dict, *keys: str) -> float | None:
    for key in keys:
        if key in info:
            try:
                return float(info[key])
            except (TypeError, ValueError):
                continue
    return None


def _read_ase(
    path: Path, index: str | int | slice, fmt: str | None
) -> tuple[np.ndarray, np.ndarray, list[str], float | None, float | None, bool]:
    import ase.io

    try:
        frames = ase.io.read(str(path), index=index, format=fmt)
    except Exception as exc:
        raise IonflowInputError(
            f"could not read {path} as a trajectory (format {fmt or 'guessed from the file'}): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(frames, list):
        frames = [frames]
    if not frames:
        raise IonflowInputError(f"{path}: no frames selected by index={index!r}")
    symbols = frames[0].get_chemical_symbols()
    for i, atoms in enumerate(frames):
        if atoms.get_chemical_symbols() != symbols:
            raise IonflowInputError(f"{path}: frame {i} has different atoms than frame 0")
    if not all(frames[0].pbc):
        raise IonflowInputError(f"{path}: the diffusion analysis needs a periodic cell")
    lattices = np.array([np.asarray(a.cell) for a in frames])
    if np.any(np.abs(np.linalg.det(lattices)) < 1e-6):
        raise IonflowInputError(f"{path}: a frame has no (or a degenerate) cell")
    frac = np.array([a.get_scaled_positions(wrap=False) for a in frames])

    times = [_info_number(a.info, "time_fs") for a in frames]
    if all(t is None for t in times):
        times_ps = [_info_number(a.info, "time_ps") for a in frames]
        if all(t is not None for t in times_ps):
            times = [1000.0 * t for t in times_ps]
    dt, from_times = None, False
    if len(frames) > 1 and all(t is not None for t in times):
        diffs = np.diff(np.asarray(times, dtype=float))
        dt = float(np.median(diffs))
        from_times = True
        if dt <= 0 or np.any(np.abs(diffs - dt) > 1e-6 * abs(dt) + 1e-9):
            logger.warning("%s: frames are not evenly spaced in time", path)
    if dt is None:
        dt = _info_number(frames[0].info, "timestep_fs", "dt_fs")
    temp = _info_number(frames[0].info, "temperature_K", "temperature")
    return frac, lattices, symbols, dt, temp, from_times


def read_trajectory(
    path: str | Path,
    species: str | Sequence[str],
    *,
    timestep_fs: float | None = None,
    index: str | int | slice = ":",
    temperature: float | None = None,
    format: str | None = None,
    require_timestep: bool = True,
) -> TrajectoryData:
    """Read a trajectory and return the unwrapped positions of the mobile ions.

    Parameters
    ----------
    path : str or Path
        ASE ``.traj``, extxyz, VASP ``XDATCAR`` or ``vasprun.xml`` (or any format ASE reads).
    species : str or sequence of str
        Mobile species, e.g. ``"Li"`` (a charge suffix such as ``"Li+"`` is ignored).
    timestep_fs : float, optional
        Time between *stored* frames, fs; overrides what the file says (module docstring).
    index : str or int or slice, optional
        Frames to read, ASE syntax (``":"``, ``"100:"``, ``"::10"``).
    temperature : float, optional
        Temperature, K; overrides the file.
    format : str, optional
        ASE format name (guessed from the file name by default; ``vasprun*.xml`` is read with
        pymatgen).
    require_timestep : bool, optional
        Raise when the frame interval is neither in the file nor given (default). With False
        ``timestep_fs`` is None in that case.

    Returns
    -------
    TrajectoryData
        Mobile-ion positions unwrapped by the minimum image of frame-to-frame steps.

    Raises
    ------
    FileNotFoundError
        No such file.
    IonflowInputError
        Unreadable file, fewer than 2 frames, species absent, unknown time step.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no trajectory file at {p}")
    mobile = _clean_species(species)
    step = _index_step(index)
    frac, lattices, symbols, file_dt, file_temp, from_times = _read_frames(p, index, format)
    if frac.shape[0] < 2:
        raise IonflowInputError(
            f"{p} gives a single frame (index={index!r}): a diffusion analysis needs >= 2"
        )
    mob_idx, fw_idx = _split_species(symbols, mobile, p)
    dt = _frame_interval(
        timestep_fs,
        file_dt,
        from_times=from_times,
        step=step,
        path=p,
        require=require_timestep,
    )
    temp = temperature if temperature is not None else file_temp

    const_cell = bool(np.allclose(lattices, lattices[0], atol=1e-8))
    lat_arg = lattices[0] if const_cell else lattices
    cart = unwrap_positions(frac, lat_arg, fractional=True)
    drift = framework_drift(cart[:, fw_idx]) if fw_idx.size else None

    return TrajectoryData(
        positions=np.ascontiguousarray(cart[:, mob_idx]),
        lattice=lattices.mean(axis=0),
        volume_A3=float(np.abs(np.linalg.det(lattices)).mean()),
        species=mobile,
        timestep_fs=dt,
        temperature=None if temp is None else float(temp),
        mobile_indices=mob_idx,
        symbols=tuple(symbols),
        framework_drift_A=drift,
        lattices=None if const_cell else lattices,
        source=str(p),
    )


def _read_frames(
    p: Path, index: str | int | slice, format: str | None
) -> tuple[np.ndarray, np.ndarray, list[str], float | None, float | None, bool]:
    """Fractional coordinates, lattices, symbols, file time step and temperature of ``p``.

    The last item tells whether the time step came from per-frame times (then it is already
    the interval between the frames read, ``index`` stride included).
    """
    is_vasprun = format in ("vasprun", "vasp-xml") or (
        format is None and p.name.lower().startswith("vasprun") and ".xml" in p.name.lower()
    )
    if is_vasprun:
        return (*_read_vasprun(p, index), False)
    return _read_ase(p, index, format)


def _split_species(
    symbols: Sequence[str], mobile: tuple[str, ...], p: Path
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the mobile atoms and of the framework atoms."""
    missing = [s for s in mobile if s not in set(symbols)]
    if missing:
        raise IonflowInputError(
            f"species {', '.join(missing)} not found in {p}; it contains "
            f"{', '.join(sorted(set(symbols)))}"
        )
    is_mobile = np.isin(np.asarray(symbols), mobile)
    return np.flatnonzero(is_mobile), np.flatnonzero(~is_mobile)


def _frame_interval(
    timestep_fs: float | None,
    file_dt: float | None,
    *,
    from_times: bool,
    step: int,
    path: Path,
    require: bool,
) -> float | None:
    """Time between the frames read, fs: the given one (checked against the file) or the file's."""
    if timestep_fs is not None:
        if not timestep_fs > 0:
            raise IonflowInputError(f"timestep_fs must be > 0, got {timestep_fs}")
        if file_dt is not None:
            file_stored = file_dt / step if from_times else file_dt
            if abs(file_stored - timestep_fs) > 1e-6 * timestep_fs:
                logger.warning(
                    "%s: the file says %.6g fs between stored frames, using the given %.6g fs",
                    path,
                    file_stored,
                    timestep_fs,
                )
        return float(timestep_fs) * step
    if file_dt is not None:
        return float(file_dt) if from_times else float(file_dt) * step
    if require:
        raise IonflowInputError(
            f"the time between frames is not stored in {path}: pass timestep_fs (fs between "
            "stored frames, e.g. POTIM * NBLOCK for an XDATCAR)"
        )
    return None
