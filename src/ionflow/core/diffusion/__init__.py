"""Diffusion analysis: MSD by FFT, diffusivity with uncertainty, Arrhenius, Nernst–Einstein.

No jobflow here: plain numpy arrays in, small dataclasses out. See :mod:`.msd`,
:mod:`.analysis`, :mod:`.arrhenius`, :mod:`.io` and :mod:`.plots`.
"""

from __future__ import annotations

from ionflow.core.diffusion.analysis import (
    DiffusionResult,
    HopCheck,
    count_hops,
    diffusion_coefficient,
    enough_hops,
    pymatgen_max_fit_lags,
)
from ionflow.core.diffusion.arrhenius import (
    E_CHARGE_C,
    KB_EV_K,
    ArrheniusResult,
    conductivity_at,
    fit_arrhenius,
    ion_charge,
    nernst_einstein_conductivity,
)
from ionflow.core.diffusion.io import TrajectoryData, read_trajectory
from ionflow.core.diffusion.msd import (
    collective_msd_fft,
    framework_drift,
    msd_fft,
    unwrap_positions,
)
from ionflow.core.diffusion.plots import plot_arrhenius, plot_msd

__all__ = [
    "E_CHARGE_C",
    "KB_EV_K",
    "ArrheniusResult",
    "DiffusionResult",
    "HopCheck",
    "TrajectoryData",
    "collective_msd_fft",
    "conductivity_at",
    "count_hops",
    "diffusion_coefficient",
    "enough_hops",
    "fit_arrhenius",
    "framework_drift",
    "ion_charge",
    "msd_fft",
    "nernst_einstein_conductivity",
    "plot_arrhenius",
    "plot_msd",
    "pymatgen_max_fit_lags",
    "read_trajectory",
    "unwrap_positions",
]
