from __future__ import annotations

import json

import numpy as np

from ionflow.schemas.arrays import PackedArray, unpack


def test_raw_roundtrip_exact_and_json_safe():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 7, 3)).astype(np.float32)
    packed = PackedArray.pack(a)
    again = PackedArray(**json.loads(json.dumps(packed.model_dump())))
    b = again.unpack()
    assert b.dtype == np.float32
    assert b.shape == a.shape
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(unpack(packed.model_dump()), a)
    assert unpack(None) is None
    np.testing.assert_array_equal(unpack([1.0, 2.0]), [1.0, 2.0])


def test_delta_quantized_error_is_bounded_and_not_accumulated():
    rng = np.random.default_rng(2)
    traj = np.cumsum(rng.normal(scale=0.1, size=(5000, 4, 3)), axis=0)
    packed = PackedArray.pack(traj, "float64", quantum=1e-4)
    back = unpack(json.loads(json.dumps(packed.model_dump())))
    assert back.shape == traj.shape
    assert np.abs(back - traj).max() <= 0.5e-4 + 1e-12  # the last frame as good as the first


def test_one_ns_of_200_atoms_is_not_hundreds_of_mb():
    """1 ns sampled every 10 fs, 80 mobile ions of a 200-atom cell (a random walk)."""
    rng = np.random.default_rng(1)
    n_frames, n_mobile = 100_000, 80
    steps = rng.normal(scale=0.05, size=(n_frames, n_mobile, 3)).astype(np.float32)
    traj = np.cumsum(steps, axis=0, dtype=np.float32)
    packed = PackedArray.pack(traj, "float32", quantum=1e-4)
    mb = packed.nbytes_stored / 1e6
    json_mb = len(json.dumps(traj[:1000].tolist())) * (n_frames / 1000) / 1e6
    assert mb < 80, f"{mb:.0f} MB stored"
    assert mb < json_mb / 5, f"{mb:.0f} MB vs {json_mb:.0f} MB as a JSON list"
    np.testing.assert_allclose(packed.unpack()[-1], traj[-1], atol=1e-4)
