"""Shape of the package: old import paths keep working, the modules import without cycles."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import ionflow.core.diffusion as pkg

PKG_DIR = Path(pkg.__file__).parent

# what ionflow.core.diffusion exported before it was split by responsibility
OLD_EXPORTS = [
    "E_CHARGE_C",
    "KB_EV_K",
    "ArrheniusResult",
    "DiffusionResult",
    "HopCheck",
    "TrajectoryData",
    "collective_msd_fft",
    "conductivity_at",
    "count_hops",
    "diffusion_coefficient",
    "enough_hops",
    "fit_arrhenius",
    "framework_drift",
    "ion_charge",
    "msd_fft",
    "nernst_einstein_conductivity",
    "plot_arrhenius",
    "plot_msd",
    "pymatgen_max_fit_lags",
    "read_trajectory",
    "unwrap_positions",
]
OLD_PATHS = [
    ("ionflow.core.diffusion.analysis", "DiffusionResult"),
    ("ionflow.core.diffusion.analysis", "diffusion_coefficient"),
    ("ionflow.core.diffusion.analysis", "count_hops"),
    ("ionflow.core.diffusion.analysis", "enough_hops"),
    ("ionflow.core.diffusion.analysis", "HopCheck"),
    ("ionflow.core.diffusion.analysis", "pymatgen_max_fit_lags"),
    ("ionflow.core.diffusion.arrhenius", "KB_EV_K"),
    ("ionflow.core.diffusion.arrhenius", "E_CHARGE_C"),
    ("ionflow.core.diffusion.arrhenius", "ion_charge"),
    ("ionflow.core.diffusion.arrhenius", "nernst_einstein_conductivity"),
    ("ionflow.core.diffusion.report", "summarize_arrhenius"),
    ("ionflow.core.diffusion.synthetic", "gaussian_walk"),
    ("ionflow.core.diffusion.synthetic", "hopping_walk"),
    ("ionflow.core.diffusion.synthetic", "arrhenius_coverage"),
    ("ionflow.core.diffusion.synthetic", "arrhenius_trial"),
]


@pytest.mark.parametrize("name", OLD_EXPORTS)
def test_old_exports_are_still_exported(name):
    assert name in pkg.__all__
    assert getattr(pkg, name) is not None


@pytest.mark.parametrize(("module", "name"), OLD_PATHS)
def test_old_import_paths_still_work(module, name):
    assert hasattr(importlib.import_module(module), name)


def _internal_imports() -> dict[str, set[str]]:
    graph = {}
    for path in PKG_DIR.glob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(pkg.__name__):
                deps.add(node.module.rsplit(".", 1)[-1])
        graph[path.stem] = deps - {path.stem}
    return graph


def test_no_import_cycles_inside_the_package():
    graph = _internal_imports()
    done: set[str] = set()

    def visit(mod: str, path: tuple[str, ...]) -> None:
        assert mod not in path, f"import cycle: {' -> '.join((*path, mod))}"
        if mod in done:
            return
        for dep in graph.get(mod, ()):
            visit(dep, (*path, mod))
        done.add(mod)

    for mod in graph:
        visit(mod, ())
    assert "analysis" not in graph["arrhenius"]
    assert "arrhenius" not in graph["analysis"]
    assert graph["units"] == set()
