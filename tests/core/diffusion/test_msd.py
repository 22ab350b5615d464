"""MSD by FFT against brute force and analytic cases; unwrapping."""

from __future__ import annotations

import numpy as np
import pytest

from ionflow.core.diffusion import (
    collective_msd_fft,
    framework_drift,
    msd_fft,
    unwrap_positions,
)
from ionflow.core.diffusion.synthetic import gaussian_walk
from ionflow.core.errors import IonflowInputError


def brute_msd(x: np.ndarray, dims=(0, 1, 2)) -> np.ndarray:
    """O(N²) reference: per-atom MSD (n_frames, n_atoms) averaged over all time origins."""
    n = x.shape[0]
    x = x[:, :, list(dims)]
    return np.array([np.mean(np.sum((x[m:] - x[: n - m]) ** 2, axis=-1), axis=0) for m in range(n)])


@pytest.fixture
def walk() -> np.ndarray:
    rng = np.random.default_rng(3)
    return np.cumsum(rng.normal(size=(61, 5, 3)), axis=0) + rng.uniform(-50, 50, size=(1, 5, 3))


def test_msd_matches_brute_force(walk):
    ref = brute_msd(walk)
    np.testing.assert_allclose(msd_fft(walk), ref.mean(axis=1), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(msd_fft(walk, per_atom=True), ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dims", [(2,), (0, 1), (1, 2), (0, 2, 1)])
def test_msd_projection_matches_brute_force(walk, dims):
    np.testing.assert_allclose(
        msd_fft(walk, dims=dims), brute_msd(walk, dims).mean(axis=1), rtol=1e-10, atol=1e-10
    )


def test_msd_blocks_and_float32_agree(walk, monkeypatch):
    from ionflow.core.diffusion import msd as msd_mod

    full = msd_fft(walk)
    monkeypatch.setattr(msd_mod, "_MAX_BLOCK_BYTES", 1)  # one atom per block
    np.testing.assert_allclose(msd_fft(walk), full, rtol=1e-12, atol=1e-12)
    f32 = walk.astype(np.float32)
    np.testing.assert_allclose(msd_fft(f32), brute_msd(f32.astype(np.float64)).mean(1), rtol=1e-8)


def test_collective_matches_brute_force(walk):
    summed = walk.sum(axis=1, keepdims=True)
    ref = brute_msd(summed)[:, 0] / walk.shape[1]
    np.testing.assert_allclose(collective_msd_fft(walk), ref, rtol=1e-10, atol=1e-9)
    q = np.array([1.0, -1.0, 2.0, 0.5, 1.0])
    ref_q = brute_msd((walk * q[None, :, None]).sum(axis=1, keepdims=True))[:, 0] / 5
    np.testing.assert_allclose(collective_msd_fft(walk, charges=q), ref_q, rtol=1e-10, atol=1e-9)


def test_ballistic_msd_is_quadratic():
    v = np.array([[0.3, -0.1, 0.2], [0.0, 0.5, 0.0]])
    t = np.arange(40)[:, None, None]
    x = t * v[None] + 7.0
    expected = np.mean(np.sum(v**2, axis=1)) * np.arange(40) ** 2
    np.testing.assert_allclose(msd_fft(x), expected, rtol=1e-9, atol=1e-9)
    # all ions move together: collective MSD = N * tracer MSD
    same = np.repeat(x[:, :1], 4, axis=1)
    np.testing.assert_allclose(collective_msd_fft(same), 4 * msd_fft(same), rtol=1e-9)


def test_random_walk_msd_is_linear():
    rng = np.random.default_rng(11)
    d_cm2_s = 2e-5  # 0.2 Å²/ps
    x = gaussian_walk(2000, 200, d_cm2_s, 10.0, rng=rng)
    msd = msd_fft(x)
    t_ps = np.arange(2000) * 0.01
    expected = 6 * 0.2 * t_ps
    window = slice(100, 1000)
    np.testing.assert_allclose(msd[window], expected[window], rtol=0.1)


def test_msd_errors():
    with pytest.raises(IonflowInputError, match="at least 2 frames"):
        msd_fft(np.zeros((1, 3, 3)))
    with pytest.raises(IonflowInputError, match="shape"):
        msd_fft(np.zeros((10, 3)))
    with pytest.raises(IonflowInputError, match="dims"):
        msd_fft(np.zeros((10, 3, 3)), dims=(3,))
    with pytest.raises(IonflowInputError, match="dims"):
        msd_fft(np.zeros((10, 3, 3)), dims=(0, 0))


def _triclinic() -> np.ndarray:
    return np.array([[6.0, 0.0, 0.0], [1.5, 5.5, 0.0], [0.7, -0.9, 7.2]])


def test_unwrap_recovers_cartesian_trajectory():
    rng = np.random.default_rng(5)
    lat = _triclinic()
    true = np.cumsum(rng.normal(scale=0.4, size=(300, 6, 3)), axis=0) + 3.0
    frac = true @ np.linalg.inv(lat)
    wrapped_frac = frac % 1.0
    assert np.abs(wrapped_frac - frac).max() > 0.5  # it did cross boundaries
    wrapped_cart = wrapped_frac @ lat
    got = unwrap_positions(wrapped_cart, lat)
    shift = got[0] - true[0]  # frame 0 keeps its wrapped image
    np.testing.assert_allclose(got, true + shift, atol=1e-9)
    np.testing.assert_allclose(unwrap_positions(wrapped_frac, lat, fractional=True), got, atol=1e-9)
    np.testing.assert_allclose(msd_fft(got), msd_fft(true), atol=1e-8)


def test_unwrap_per_frame_lattice():
    rng = np.random.default_rng(6)
    base = _triclinic()
    lattices = base[None] * (1 + 0.01 * rng.normal(size=(50, 1, 1)))
    frac_true = np.cumsum(rng.normal(scale=0.03, size=(50, 4, 3)), axis=0)
    cart_wrapped = np.einsum("tai,tij->taj", frac_true % 1.0, lattices)
    got = unwrap_positions(cart_wrapped, lattices)
    frac0 = frac_true[0] % 1.0
    expected = np.einsum("tai,tij->taj", frac_true - frac_true[0] + frac0, lattices)
    np.testing.assert_allclose(got, expected, atol=1e-9)


def test_unwrap_errors_and_warning(caplog):
    with pytest.raises(IonflowInputError, match="lattice"):
        unwrap_positions(np.zeros((4, 2, 3)), np.eye(2))
    jumpy = np.zeros((3, 1, 3))
    jumpy[1, 0, 0] = 0.45
    unwrap_positions(jumpy, np.eye(3), fractional=True)
    assert "too far apart" in caplog.text


def test_framework_drift():
    fw = np.zeros((5, 3, 3))
    fw[:, :, 0] = np.arange(5)[:, None] * 0.1
    fw[:, 1, 1] = 0.3  # constant offset, no drift
    d = framework_drift(fw)
    np.testing.assert_allclose(d[:, 0], np.arange(5) * 0.1)
    np.testing.assert_allclose(d[:, 1:], 0.0, atol=1e-15)
