"""Diffusion analysis: MSD by FFT, diffusivity with uncertainty, Arrhenius, Nernst–Einstein.

No jobflow here: plain numpy arrays in, small dataclasses out. Modules, bottom up:

* :mod:`.units` (constants), :mod:`.msd` (MSD by FFT, unwrapping, drift),
  :mod:`.conductivity` (Nernst–Einstein, ion charge);
* :mod:`.settings` (:class:`DiffusionSettings`, the analysis knobs), :mod:`.hops` (hop
  detection and the trust criterion), :mod:`.fitting` (fit window, lines, error estimate),
  :mod:`.result` (:class:`DiffusionResult`);
* :mod:`.analysis` (:func:`diffusion_coefficient`, the named steps), :mod:`.arrhenius`
  (:func:`fit_arrhenius`), :mod:`.report` (:func:`~.report.conductivity_report`, the summary
  of a conductivity screen);
* :mod:`.io` (reading trajectories), :mod:`.plots`, :mod:`.synthetic` (test trajectories).
"""

from __future__ import annotations

from ionflow.core.diffusion.analysis import diffusion_coefficient
from ionflow.core.diffusion.arrhenius import ArrheniusResult, conductivity_at, fit_arrhenius
from ionflow.core.diffusion.conductivity import ion_charge, nernst_einstein_conductivity
from ionflow.core.diffusion.fitting import pymatgen_max_fit_lags
from ionflow.core.diffusion.hops import HopCheck, count_hops, enough_hops
from ionflow.core.diffusion.io import TrajectoryData, read_trajectory
from ionflow.core.diffusion.msd import (
    collective_msd_fft,
    framework_drift,
    msd_fft,
    unwrap_positions,
)
from ionflow.core.diffusion.plots import plot_arrhenius, plot_msd
from ionflow.core.diffusion.report import conductivity_report, summarize_arrhenius
from ionflow.core.diffusion.result import DiffusionResult
from ionflow.core.diffusion.settings import DiffusionSettings
from ionflow.core.diffusion.units import E_CHARGE_C, KB_EV_K

__all__ = [
    "E_CHARGE_C",
    "KB_EV_K",
    "ArrheniusResult",
    "DiffusionResult",
    "DiffusionSettings",
    "HopCheck",
    "TrajectoryData",
    "collective_msd_fft",
    "conductivity_at",
    "conductivity_report",
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
    "summarize_arrhenius",
    "unwrap_positions",
]
