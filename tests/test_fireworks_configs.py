"""The fireworks_configs/ templates: parse, route by named categories, hold no credentials."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

CONFIGS = Path(__file__).resolve().parents[1] / "fireworks_configs"
pytest.importorskip("fireworks")


def load(name: str) -> dict:
    return yaml.safe_load((CONFIGS / name).read_text())


def test_every_template_parses():
    names = sorted(p.name for p in CONFIGS.glob("*.yaml"))
    assert names == [
        "jobflow.yaml", "my_fworker_cpu.yaml", "my_fworker_gpu.yaml", "my_launchpad.yaml",
        "my_qadapter_pbs_cpu.yaml", "my_qadapter_pbs_gpu.yaml", "my_qadapter_slurm_cpu.yaml",
        "my_qadapter_slurm_gpu.yaml",
    ]  # fmt: skip
    for name in names:
        assert isinstance(load(name), dict), name


@pytest.mark.parametrize("kind", ["cpu", "gpu"])
def test_workers_pull_one_named_category(kind):
    from fireworks import FWorker

    worker = FWorker.from_dict(load(f"my_fworker_{kind}.yaml"))
    assert worker.category == kind  # never "": that pulls every job
    assert worker.query["spec._category"] == kind  # what it asks the LaunchPad for
    assert worker.name == "mycluster"  # `ionflow submit --fworker mycluster`


def test_no_credentials_in_the_repository_templates():
    # every connection string takes its user and password from the environment
    for path in CONFIGS.iterdir():
        text = path.read_text()
        for user, password in re.findall(r"://([^/@:\s]+):([^/@\s]+)@", text):
            assert re.fullmatch(r"\$\{[A-Z_]+\}", user), path
            assert re.fullmatch(r"\$\{[A-Z_]+\}", password), path
        assert not re.search(r"^\s*password:\s*\S", text, re.MULTILINE), path


def test_launchpad_template_renders_from_the_environment(monkeypatch):
    from unittest import mock

    from ionflow.fireworks import load_launchpad

    monkeypatch.setenv("IONFLOW_LP_USER", "alice")
    monkeypatch.setenv("IONFLOW_LP_PASSWORD", "hunter2")
    with mock.patch("fireworks.LaunchPad.from_dict", side_effect=lambda d: d):
        lp = load_launchpad(CONFIGS / "my_launchpad.yaml")
    assert lp["host"].startswith("mongodb+srv://alice:hunter2@")
    assert lp["uri_mode"] is True
    assert lp["mongoclient_kwargs"]["tls"] is True


def test_jobflow_template_is_a_mongo_and_gridfs_job_store(monkeypatch):
    from jobflow import JobStore

    monkeypatch.setenv("IONFLOW_DB_USER", "alice")
    monkeypatch.setenv("IONFLOW_DB_PASSWORD", "hunter2")
    spec = yaml.safe_load(os.path.expandvars((CONFIGS / "jobflow.yaml").read_text()))
    store = JobStore.from_dict_spec(spec["JOB_STORE"])  # built, not connected
    assert type(store.docs_store).__name__ == "MongoStore"
    assert type(store.additional_stores["data"]).__name__ == "GridFSStore"
    assert store.additional_stores["data"].uri.startswith("mongodb+srv://alice:")
    assert store.docs_store.collection_name == "outputs"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("my_qadapter_slurm_gpu.yaml", ["#SBATCH --gres=gpu:1", "my_fworker_gpu.yaml"]),
        ("my_qadapter_slurm_cpu.yaml", ["#SBATCH --cpus-per-task=4", "my_fworker_cpu.yaml"]),
        ("my_qadapter_pbs_gpu.yaml", ["#PBS -l select=1:ncpus=8:ngpus=1", "my_fworker_gpu.yaml"]),
        ("my_qadapter_pbs_cpu.yaml", ["#PBS -l nodes=1:ppn=4", "my_fworker_cpu.yaml"]),
    ],
)
def test_queue_adapters_write_their_scripts(name, expected, tmp_path):
    from fireworks.user_objects.queue_adapters.common_adapter import CommonAdapter

    spec = load(name)
    if "_fw_template_file" in spec:
        spec["_fw_template_file"] = str(CONFIGS / Path(spec["_fw_template_file"]).name)
    script = CommonAdapter.from_dict(spec).get_script_str(str(tmp_path))
    for line in expected:
        assert line in script
    assert "$$" not in script
    assert "IONFLOW_DEVICE=" in script
