"""The plots write non-empty PNG images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ionflow.core.diffusion import (
    KB_EV_K,
    diffusion_coefficient,
    fit_arrhenius,
    plot_arrhenius,
    plot_msd,
)
from ionflow.core.diffusion.synthetic import gaussian_walk

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _is_png(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 5000 and path.read_bytes()[:8] == PNG_MAGIC


@pytest.fixture
def results():
    rng = np.random.default_rng(0)
    out = []
    for t in (600.0, 800.0, 1000.0):
        d = 1e-3 * np.exp(-0.3 / (KB_EV_K * t))
        pos = gaussian_walk(400, 8, d, 50.0, rng=rng)
        out.append(
            diffusion_coefficient(
                pos, 50.0, n_segments=2, temperature=t, collective=True, check_hops=False
            )
        )
    return out


def test_plot_msd(tmp_path: Path, results):
    path = plot_msd(results, tmp_path / "sub" / "msd.png", collective=True)
    assert path == tmp_path / "sub" / "msd.png"
    assert _is_png(path)
    single = plot_msd(results[0], tmp_path / "one.png")
    assert _is_png(single)


def test_plot_arrhenius(tmp_path: Path, results):
    temps = [r.temperature for r in results] + [1400.0]
    d = [r.D_cm2_s for r in results] + [1e-4]
    err = [r.D_err_cm2_s for r in results] + [1e-5]
    fit = fit_arrhenius(temps, d, err, t_max=1100)
    path = plot_arrhenius(fit, tmp_path / "arrhenius.png", T_extrapolate=300)
    assert _is_png(path)
    # no errors, two points: no band, still a plot
    bare = fit_arrhenius([600, 900], [1e-6, 1e-5])
    assert _is_png(plot_arrhenius(bare, tmp_path / "bare.png", T_extrapolate=None))


def test_plot_msd_rejects_empty(tmp_path: Path):
    with pytest.raises(ValueError, match="no results"):
        plot_msd([], tmp_path / "x.png")
