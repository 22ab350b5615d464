"""ASE integrators behind one small interface: build, retarget, conserved energy, state.

Thermostats (fixed cell)
    ``"nose-hoover-chain"``  :class:`ase.md.nose_hoover_chain.NoseHooverChainNVT` (default)
    ``"langevin"``           :class:`ase.md.langevin.Langevin` (with a ``FixCom`` constraint)
    ``"berendsen"``          :class:`ase.md.nvtberendsen.NVTBerendsen`
    ``"nve"``                :class:`ase.md.verlet.VelocityVerlet` (no thermostat)

Barostats (NpT equilibration only)
    ``"mtk"``                :class:`ase.md.nose_hoover_chain.MTKNPT`, full cell (default;
                             Nosé–Hoover chain + Martyna–Tobias–Klein, as LAMMPS ``fix npt``)
    ``"mtk-isotropic"``      :class:`ase.md.nose_hoover_chain.IsotropicMTKNPT`
    ``"berendsen"``          :class:`ase.md.nptberendsen.NPTBerendsen` (isotropic; two force
                             calls per step because it rescales the cell before the step)

The Nosé–Hoover chain / MTK thermostat variables are private attributes of the ASE objects
(``_thermostat._eta`` ...); :func:`get_state` / :func:`set_state` read and write the ones that
exist so that a checkpoint restores the thermostat exactly, and :func:`set_target_temperature`
retargets a chain (``kT`` and the chain masses, as LAMMPS does during a ramp).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
from ase import units

from ionflow.core.errors import IonflowError

if TYPE_CHECKING:
    from ase import Atoms
    from ase.md.md import MolecularDynamics

logger = logging.getLogger(__name__)

THERMOSTATS = ("nose-hoover-chain", "langevin", "berendsen", "nve")
BAROSTATS = ("mtk", "mtk-isotropic", "berendsen")

#: eV/Å^3 per GPa
GPA = units.GPa

#: (owner attribute or "", attribute) pairs that hold the integrator's dynamical state
_STATE_ATTRS = (
    ("_thermostat", "_eta"),
    ("_thermostat", "_p_eta"),
    ("_barostat", "_xi"),
    ("_barostat", "_p_xi"),
    ("", "_p_g"),
    ("", "_p_eps"),
)


def make_nvt(
    atoms: Atoms,
    thermostat: str,
    *,
    timestep_fs: float,
    temperature_K: float,
    tdamp_fs: float,
    friction_per_fs: float,
    chain_length: int = 3,
    rng: np.random.Generator | None = None,
) -> MolecularDynamics:
    """A fixed-cell integrator for ``atoms`` (which must already carry its calculator).

    Parameters
    ----------
    atoms
        The working structure (positions, momenta and calculator are used in place).
    thermostat
        One of :data:`THERMOSTATS`.
    timestep_fs
        Time step (fs).
    temperature_K
        Initial target temperature (K); retarget with :func:`set_target_temperature`.
    tdamp_fs
        Nosé–Hoover chain / Berendsen relaxation time (fs).
    friction_per_fs
        Langevin friction (1/fs).
    chain_length
        Number of thermostats in the Nosé–Hoover chain.
    rng
        Random generator of the Langevin noise (its state is checkpointed by the caller).

    Returns
    -------
    MolecularDynamics
        The ASE dynamics object (no log file, no trajectory file).
    """
    dt = timestep_fs * units.fs
    if thermostat == "nose-hoover-chain":
        try:
            from ase.md.nose_hoover_chain import NoseHooverChainNVT
        except ImportError as exc:  # pragma: no cover - needs a recent ASE
            raise IonflowError(_old_ase(thermostat, exc)) from exc

        return NoseHooverChainNVT(
            atoms,
            timestep=dt,
            temperature_K=temperature_K,
            tdamp=tdamp_fs * units.fs,
            tchain=chain_length,
        )
    if thermostat == "langevin":
        from ase.md.langevin import Langevin

        return Langevin(
            atoms,
            timestep=dt,
            temperature_K=temperature_K,
            friction=friction_per_fs / units.fs,
            fixcm=False,
            rng=rng,
        )
    if thermostat == "berendsen":
        from ase.md.nvtberendsen import NVTBerendsen

        return NVTBerendsen(
            atoms, timestep=dt, temperature_K=temperature_K, taut=tdamp_fs * units.fs
        )
    if thermostat == "nve":
        from ase.md.verlet import VelocityVerlet

        return VelocityVerlet(atoms, timestep=dt)
    raise IonflowError(f"unknown thermostat {thermostat!r}")  # validated in MDSettings


def make_npt(
    atoms: Atoms,
    barostat: str,
    *,
    timestep_fs: float,
    temperature_K: float,
    pressure_GPa: float,
    tdamp_fs: float,
    pdamp_fs: float,
    compressibility_per_GPa: float,
    chain_length: int = 3,
) -> MolecularDynamics:
    """A variable-cell integrator for the NpT equilibration (see the module docstring).

    Parameters
    ----------
    atoms
        The working structure; its calculator must return stress with the forces.
    barostat
        One of :data:`BAROSTATS`.
    timestep_fs, temperature_K, tdamp_fs, chain_length
        As for :func:`make_nvt`.
    pressure_GPa
        External (hydrostatic) pressure (GPa).
    pdamp_fs
        Barostat relaxation time (fs).
    compressibility_per_GPa
        Compressibility used by the Berendsen barostat only (1/GPa).

    Returns
    -------
    MolecularDynamics
        The ASE dynamics object.
    """
    dt = timestep_fs * units.fs
    pressure_au = pressure_GPa * GPA
    if barostat in ("mtk", "mtk-isotropic"):
        try:
            from ase.md.nose_hoover_chain import MTKNPT, IsotropicMTKNPT
        except ImportError as exc:  # pragma: no cover - MTK needs a recent ASE
            raise IonflowError(_old_ase(barostat, exc)) from exc

        cls = MTKNPT if barostat == "mtk" else IsotropicMTKNPT
        return cls(
            atoms,
            timestep=dt,
            temperature_K=temperature_K,
            pressure_au=pressure_au,
            tdamp=tdamp_fs * units.fs,
            pdamp=pdamp_fs * units.fs,
            tchain=chain_length,
            pchain=chain_length,
        )
    if barostat == "berendsen":
        from ase.md.nptberendsen import NPTBerendsen

        return NPTBerendsen(
            atoms,
            timestep=dt,
            temperature_K=temperature_K,
            pressure_au=pressure_au,
            taut=tdamp_fs * units.fs,
            taup=pdamp_fs * units.fs,
            compressibility_au=compressibility_per_GPa / GPA,
        )
    raise IonflowError(f"unknown barostat {barostat!r}")  # validated in MDSettings


def _old_ase(name: str, exc: Exception) -> str:
    import ase

    return f"{name!r} needs a newer ASE than {ase.__version__} (3.29 works): {exc}"


def set_target_temperature(dyn: MolecularDynamics, temperature_K: float) -> None:
    """Retarget a thermostat (heating ramp); a no-op for NVE.

    For a Nosé–Hoover chain the chain's ``kT`` and masses ``Q`` are recomputed for the new
    target while the chain positions and momenta are kept, as LAMMPS ``fix nvt`` does during a
    temperature ramp.
    """
    if hasattr(dyn, "set_temperature"):  # Langevin, NVTBerendsen, NPTBerendsen
        dyn.set_temperature(temperature_K=temperature_K)
        return
    thermostat = getattr(dyn, "_thermostat", None)
    if thermostat is None:
        return
    try:
        kT = units.kB * temperature_K
        thermostat._kT = kT
        q = thermostat._Q
        q[0] = 3 * thermostat._num_atoms_global * kT * thermostat._tdamp**2
        q[1:] = kT * thermostat._tdamp**2
    except AttributeError as exc:  # pragma: no cover - depends on the ASE version
        raise IonflowError(
            "cannot retarget this ASE Nose-Hoover chain (ASE internals changed); "
            "use heating_ps=0 or thermostat='langevin'"
        ) from exc


def conserved_energy(dyn: MolecularDynamics) -> float | None:
    """The integrator's conserved quantity (eV), or ``None`` where there is none.

    Nosé–Hoover chain and MTK: ASE's ``get_conserved_energy`` (potential + kinetic + thermostat
    [+ barostat + pV]). NVE: total energy. Langevin and Berendsen: ``None`` (no conserved
    quantity; the drift guard is skipped).
    """
    if hasattr(dyn, "get_conserved_energy"):
        return float(dyn.get_conserved_energy())
    from ase.md.verlet import VelocityVerlet

    if type(dyn) is VelocityVerlet:
        return float(dyn.atoms.get_potential_energy() + dyn.atoms.get_kinetic_energy())
    return None


def get_state(dyn: MolecularDynamics) -> dict[str, np.ndarray]:
    """Copies of the integrator's own dynamical variables (thermostat/barostat chains)."""
    state = {}
    for owner_name, attr in _STATE_ATTRS:
        owner = getattr(dyn, owner_name, None) if owner_name else dyn
        if owner is not None and hasattr(owner, attr):
            state[f"{owner_name}.{attr}"] = np.array(getattr(owner, attr), dtype=float)
    return state


def set_state(dyn: MolecularDynamics, state: dict[str, np.ndarray]) -> None:
    """Write back what :func:`get_state` returned (keys the integrator lacks are ignored)."""
    for key, value in state.items():
        owner_name, attr = key.split(".", 1)
        owner = getattr(dyn, owner_name, None) if owner_name else dyn
        if owner is None or not hasattr(owner, attr):
            logger.warning("Checkpointed integrator variable %s has no place here; ignored", key)
            continue
        current = getattr(owner, attr)
        if np.ndim(current) == 0:
            setattr(owner, attr, float(value))
        else:
            setattr(owner, attr, np.array(value, dtype=float).reshape(np.shape(current)))
