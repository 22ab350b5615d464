"""Flow makers that wire ionflow's jobs together."""

from __future__ import annotations

from ionflow.flows.conductivity import ConductivityFlow
from ionflow.flows.screen import ScreenHopsFlow

__all__ = ["ConductivityFlow", "ScreenHopsFlow"]
