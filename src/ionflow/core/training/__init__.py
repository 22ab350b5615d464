"""Fine-tuning: datasets, selection of configurations, and the fine-tuning backends.

- :mod:`~ionflow.core.training.dataset`: labels, checks, the reproducible 80/10/10 split;
- :mod:`~ionflow.core.training.extxyz`: datasets as extxyz with energy/forces/stress;
- :mod:`~ionflow.core.training.sources`: NEB band images, furthest-point MD snapshots;
- :mod:`~ionflow.core.training.augment`: ±3 % strained copies (deng2025);
- :mod:`~ionflow.core.training.backend`: :class:`FineTuneBackend`, settings, result, registry;
- :mod:`~ionflow.core.training.chgnet_backend`: the CHGNet backend (lian2025 settings);
- :mod:`~ionflow.core.training.mace_backend`: the MACE backend (deng2025 multi-head settings);
- :mod:`~ionflow.core.training.mace_files`: MACE's data, model and results files.
"""

from __future__ import annotations

from ionflow.core.training.augment import strain_configs
from ionflow.core.training.backend import (
    FineTuneBackend,
    FineTuneResult,
    FineTuneSettings,
    available_backends,
    get_backend,
    register_backend,
)
from ionflow.core.training.chgnet_backend import CHGNetBackend, load_chgnet_checkpoint
from ionflow.core.training.dataset import (
    MIN_CONFIGS,
    DatasetSplit,
    Labels,
    check_labelled,
    labels_of,
    split_dataset,
    split_indices,
)
from ionflow.core.training.extxyz import read_extxyz, write_extxyz
from ionflow.core.training.mace_backend import MACEBackend, MACEFineTuneSettings
from ionflow.core.training.sources import (
    configs_from_band,
    configs_from_frames,
    furthest_point_indices,
    structure_fingerprint,
)

__all__ = [
    "MIN_CONFIGS",
    "CHGNetBackend",
    "DatasetSplit",
    "FineTuneBackend",
    "FineTuneResult",
    "FineTuneSettings",
    "Labels",
    "MACEBackend",
    "MACEFineTuneSettings",
    "available_backends",
    "check_labelled",
    "configs_from_band",
    "configs_from_frames",
    "furthest_point_indices",
    "get_backend",
    "labels_of",
    "load_chgnet_checkpoint",
    "read_extxyz",
    "register_backend",
    "split_dataset",
    "split_indices",
    "strain_configs",
    "structure_fingerprint",
    "write_extxyz",
]
