"""User checkpoints, read safely: ``torch.load(..., weights_only=True)``.

A fine-tuned CHGNet written by ionflow (``{"model": {"state_dict", "model_args"}, ...}``)
and a file of CHGNet's own ``Trainer.save`` (its extra entries are tensors and plain values
too) load with ``weights_only=True``. A file that would need arbitrary unpickling is
refused, never executed: ``CHGNet.from_file`` reads with ``weights_only=False``.

Both the model layer (``chgnet:/path`` specs, :mod:`ionflow.mlip.chgnet`) and the
fine-tuning backend (a ``base_model`` checkpoint, :mod:`ionflow.core.training`) load
checkpoints through :func:`load_chgnet_checkpoint`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ionflow.mlip.base import ModelLoadError

__all__ = ["load_chgnet_checkpoint", "read_checkpoint"]


def read_checkpoint(path: str | Path) -> Any:
    """The object stored in a torch checkpoint, read with ``weights_only=True``.

    Parameters
    ----------
    path
        The checkpoint file.

    Returns
    -------
    Any
        What ``torch.load`` returns (tensors, containers and plain values only).

    Raises
    ------
    ModelLoadError
        For a missing file, or one that is corrupt or not loadable with
        ``weights_only=True``; the message names the file.
    """
    import torch

    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelLoadError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelLoadError(
            f"cannot read checkpoint {path} (corrupt, truncated, or not loadable with "
            f"weights_only=True): {type(exc).__name__}: {exc}"
        ) from exc


def load_chgnet_checkpoint(path: str | Path) -> Any:
    """A CHGNet from a checkpoint file, read with ``weights_only=True``.

    Parameters
    ----------
    path
        A ``.pth.tar`` file with a ``"model"`` entry (``CHGNet.as_dict()``).

    Returns
    -------
    chgnet.model.CHGNet
        The model, on the CPU.

    Raises
    ------
    ModelLoadError
        For a missing, corrupt or non-CHGNet file (the message names it).
    """
    try:
        from chgnet.model import CHGNet
    except ImportError as exc:  # pragma: no cover - chgnet is a core dependency
        raise ModelLoadError("CHGNet is not installed: pip install chgnet") from exc

    state = read_checkpoint(path)
    if not isinstance(state, dict) or not isinstance(state.get("model"), dict):
        raise ModelLoadError(f"{path} is not a CHGNet checkpoint (no 'model' entry)")
    try:
        return CHGNet.from_dict(state["model"])
    except Exception as exc:
        raise ModelLoadError(
            f"cannot build CHGNet from checkpoint {path}: {type(exc).__name__}: {exc}"
        ) from exc
