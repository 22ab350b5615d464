"""ionflow settings, from ``~/.ionflow.yaml`` (or ``IONFLOW_CONFIG_FILE``) and ``IONFLOW_*``.

Environment variables win over the YAML file, which wins over the defaults::

    IONFLOW_STORE_DIR=/scratch/me/ionflow-store  IONFLOW_DEFAULT_MODEL=sevennet  ionflow screen ...
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_CONFIG_FILE = "~/.ionflow.yaml"


def _config_file() -> Path:
    return Path(os.environ.get("IONFLOW_CONFIG_FILE", DEFAULT_CONFIG_FILE)).expanduser()


class IonflowSettings(BaseSettings):
    """Configuration of ionflow.

    Parameters
    ----------
    STORE_DIR
        Directory of the embedded (MontyDB) JobStore used when no jobflow store is configured.
    USE_JOBFLOW_STORE
        ``"auto"``: use jobflow's configured ``JOB_STORE`` (e.g. MongoDB) when the user has a
        jobflow config (``~/.jobflow.yaml``, ``JOBFLOW_CONFIG_FILE`` or ``JOBFLOW_JOB_STORE``);
        ``"always"`` / ``"never"`` force the choice.
    DEFAULT_MODEL
        Model spec used when none is given (see :mod:`ionflow.mlip.spec`).
    DEVICE
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    TORCH_THREADS
        Torch intra-op threads per process (None: torch's default). Use 1 when several
        workers share a node's cores.
    SUPERCELL_MIN_LENGTH
        Minimum supercell lattice length for hop calculations (Å).
    NEB_FMAX
        Default NEB force convergence (eV/Å).
    CHECKPOINT_DIR
        Where MD runs checkpoint when their Maker names no directory; a rerun of a killed job
        resumes from here (put it on shared scratch on a cluster). A completed run's
        checkpoint is removed once its document is built.
    """

    model_config = SettingsConfigDict(env_prefix="IONFLOW_", extra="ignore")

    STORE_DIR: Path = Field(Path("~/.ionflow/store"))
    USE_JOBFLOW_STORE: str = Field("auto", pattern="^(auto|always|never)$")
    DEFAULT_MODEL: str = "chgnet"
    DEVICE: str = "auto"
    TORCH_THREADS: int | None = None
    SUPERCELL_MIN_LENGTH: float = 10.0
    NEB_FMAX: float = 0.05
    CHECKPOINT_DIR: Path = Field(Path("~/.ionflow/checkpoints"))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls,
        init_settings,
        env_settings,
        dotenv_settings,
        file_secret_settings,
    ):
        """Read the constructor, then ``IONFLOW_*`` variables, then the YAML file."""
        from pydantic_settings import YamlConfigSettingsSource

        yaml_source = YamlConfigSettingsSource(settings_cls, yaml_file=_config_file())
        return (init_settings, env_settings, yaml_source)

    @property
    def store_dir(self) -> Path:
        """The embedded store's directory, ``~`` expanded."""
        return Path(self.STORE_DIR).expanduser()


def get_settings() -> IonflowSettings:
    """Fresh settings (re-reads the environment and the YAML file)."""
    return IonflowSettings()


# Defaults of the Makers' fields, read when a Maker is built (``field(default_factory=...)``):
# the one place where ionflow's defaults come from.
def default_model() -> str:
    """The model spec used when none is given (``IONFLOW_DEFAULT_MODEL``, ``"chgnet"``)."""
    return get_settings().DEFAULT_MODEL


def default_supercell_min_length() -> float:
    """Minimum supercell size for hops (``IONFLOW_SUPERCELL_MIN_LENGTH``, 10 Å)."""
    return float(get_settings().SUPERCELL_MIN_LENGTH)


def default_neb_fmax() -> float:
    """NEB force convergence (``IONFLOW_NEB_FMAX``, 0.05 eV/Å)."""
    return float(get_settings().NEB_FMAX)
