from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ionflow.errors import IonflowInputError
from ionflow.mlip import ModelLoadError, resolve_device


def test_model_load_error_is_bad_input():
    assert issubclass(ModelLoadError, IonflowInputError)


def test_device_default_comes_from_the_settings(monkeypatch):
    monkeypatch.setenv("IONFLOW_DEVICE", "cpu")
    assert resolve_device() == "cpu"
    assert resolve_device(None) == "cpu"
    monkeypatch.setenv("IONFLOW_DEVICE", "cuda:1")
    assert resolve_device(None) == "cuda:1"
    assert resolve_device("cpu") == "cpu"  # an explicit device wins
    monkeypatch.setenv("IONFLOW_DEVICE", "auto")
    assert resolve_device(None) == resolve_device("auto")
    assert resolve_device("auto") in ("cpu", "cuda")
    monkeypatch.delenv("IONFLOW_DEVICE")
    assert resolve_device(None) == resolve_device("auto")


def test_bad_device_setting_names_the_setting(monkeypatch):
    monkeypatch.setenv("IONFLOW_DEVICE", "tpu")
    with pytest.raises(IonflowInputError, match="IONFLOW_DEVICE"):
        resolve_device(None)


#: The ionflow modules each mlip module may import: downwards only, no cycles.
ALLOWED = {
    "spec": {"errors", "settings"},
    "base": {"errors", "settings", "mlip.spec"},
    "chgnet_graph": set(),
    "chgnet_fast": {"mlip.base", "mlip.chgnet_graph"},
    "checkpoint": {"mlip.base"},
    "mace": set(),
    "chgnet": {"mlip.base", "mlip.checkpoint", "mlip.chgnet_fast", "mlip.spec"},
    "calculator": {"mlip.base", "mlip.mace", "mlip.spec"},
    "models": {
        "errors",
        "mlip.base",
        "mlip.calculator",
        "mlip.checkpoint",
        "mlip.chgnet",
        "mlip.spec",
    },
}


def _ionflow_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n.removeprefix("ionflow.") for n in names if n.startswith("ionflow.")}


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_imports_point_one_way(module):
    """The base never imports a backend, a backend never the registry (type-only included)."""
    import ionflow.mlip

    path = Path(ionflow.mlip.__file__).parent / f"{module}.py"
    assert _ionflow_imports(path) <= ALLOWED[module]


def test_every_mlip_module_is_layered():
    import ionflow.mlip

    folder = Path(ionflow.mlip.__file__).parent
    assert {p.stem for p in folder.glob("*.py")} - {"__init__"} == set(ALLOWED)
