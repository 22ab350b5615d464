"""ionflow's exceptions, re-exported for ``from ionflow.core.errors import ...``.

They live in :mod:`ionflow.errors`, the bottom layer, so that every layer (the model layer
included) can raise them.
"""

from __future__ import annotations

from ionflow.errors import IonflowError, IonflowInputError

__all__ = ["IonflowError", "IonflowInputError"]
