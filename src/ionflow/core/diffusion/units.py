"""Physical constants and unit conversions shared by the diffusion modules.

This is the bottom of :mod:`ionflow.core.diffusion`: it imports nothing from the package, so
the analysis, the Arrhenius fit and the conductivity can all use it without importing each
other.
"""

from __future__ import annotations

__all__ = ["A2_PER_PS_TO_CM2_PER_S", "E_CHARGE_C", "KB_EV_K"]

KB_EV_K = 8.617333262e-5  #: Boltzmann constant, eV/K
E_CHARGE_C = 1.602176634e-19  #: elementary charge, C

#: 1 Å²/ps = 1e-16 cm² / 1e-12 s = 1e-4 cm²/s
A2_PER_PS_TO_CM2_PER_S = 1e-4
