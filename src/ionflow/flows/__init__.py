"""Flow makers that wire ionflow's jobs together."""

from __future__ import annotations

from ionflow.flows.conductivity import ConductivityFlow
from ionflow.flows.discovery import DiscoveryFlow
from ionflow.flows.loop import FineTuneLoopFlow
from ionflow.flows.screen import ScreenHopsFlow

__all__ = ["ConductivityFlow", "DiscoveryFlow", "FineTuneLoopFlow", "ScreenHopsFlow"]
