"""The shape of the package: import layers (import-linter) and no import cycles."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_layer_contracts_hold():
    """cli > flows > jobs > schemas | store > core > mlip > settings | errors (pyproject)."""
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        found = shutil.which("lint-imports")
        if found is None:
            pytest.skip("import-linter is not installed (pip install -e '.[test]')")
        exe = Path(found)
    run = subprocess.run([str(exe)], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def test_no_import_cycles_between_modules():
    """No module imports (directly or through others) a module that imports it back."""
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("ionflow")
    cycles = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported == module or not imported.startswith("ionflow"):
                continue
            if imported.startswith(module + ".") or module.startswith(imported + "."):
                continue  # a package and its own submodules (the __init__ re-exports)
            chain = graph.find_shortest_chain(importer=imported, imported=module)
            if chain:
                cycles.append(" -> ".join([module, *chain[1:]]))
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_core_never_imports_jobflow():
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("ionflow", include_external_packages=True)
    offenders = [
        m
        for m in graph.modules
        if m.startswith(("ionflow.core", "ionflow.mlip"))
        and "jobflow" in {i.split(".")[0] for i in graph.find_modules_directly_imported_by(m)}
    ]
    assert not offenders
