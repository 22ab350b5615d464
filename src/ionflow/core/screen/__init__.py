"""Work shared between the hops of a screen: one relaxation per distinct vacancy, one band per path.

- :mod:`~ionflow.core.screen.symmetry`: the space-group operations of the perfect supercell and
  the permutation of its sites by each of them;
- :mod:`~ionflow.core.screen.plan`: which hops are one physical path (:func:`plan_screen`) and
  which single-vacancy supercells are distinct, and :func:`map_vacancy`, which carries a relaxed
  vacancy onto an endpoint of the same kind by the operation relating the two sites.
"""

from __future__ import annotations

from ionflow.core.screen.plan import (
    Band,
    EndpointKey,
    MappedEndpoint,
    ScreenPlan,
    Vacancy,
    map_vacancy,
    plan_screen,
)
from ionflow.core.screen.symmetry import SupercellSymmetry

__all__ = [
    "Band",
    "EndpointKey",
    "MappedEndpoint",
    "ScreenPlan",
    "SupercellSymmetry",
    "Vacancy",
    "map_vacancy",
    "plan_screen",
]
