"""jobflow Makers, one per step."""

from __future__ import annotations

from ionflow.jobs.hops import HopEnumerationMaker
from ionflow.jobs.neb import MLIPNebMaker

__all__ = ["HopEnumerationMaker", "MLIPNebMaker"]
