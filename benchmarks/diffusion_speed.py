"""Speed of the diffusion analysis: 100k frames x 100 mobile ions.

Times the FFT MSD alone and the full ``diffusion_coefficient`` (fit, segments, collective MSD,
hop counting) on a Brownian trajectory, with float32 storage (ionflow's compact trajectory
format; 120 MB) and float64 input (240 MB). The transform itself always runs in float64, in
blocks of atoms (~256 MB transient).

    python benchmarks/diffusion_speed.py [--frames 100000 --ions 100]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ionflow.core.diffusion import count_hops, diffusion_coefficient, msd_fft
from ionflow.core.diffusion.synthetic import gaussian_walk


def timed(label: str, fn, repeat: int = 1) -> object:
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    print(f"{label:<62s} {best:7.2f} s")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--ions", type=int, default=100)
    parser.add_argument("--timestep-fs", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    d_true = 5e-5
    pos32 = gaussian_walk(
        args.frames, args.ions, d_true, args.timestep_fs, rng=rng, dtype=np.float32
    )
    pos64 = pos32.astype(np.float64)
    print(
        f"{args.frames} frames x {args.ions} ions: float32 {pos32.nbytes / 1e6:.0f} MB, "
        f"float64 {pos64.nbytes / 1e6:.0f} MB; true D = {d_true:.2e} cm²/s"
    )
    dt, r = args.timestep_fs, args.repeat
    timed("msd_fft, float32 input", lambda: msd_fft(pos32), r)
    timed("msd_fft, float64 input", lambda: msd_fft(pos64), r)
    timed("count_hops (1.5 Å)", lambda: count_hops(pos32), r)
    res = timed(
        "diffusion_coefficient, 1 segment, no hop check",
        lambda: diffusion_coefficient(pos32, dt, check_hops=False),
        r,
    )
    res = timed(
        "diffusion_coefficient, 10 segments + collective + hop check",
        lambda: diffusion_coefficient(pos32, dt, n_segments=10, collective=True),
        r,
    )
    print(
        f"D = {res.D_cm2_s:.4e} ± {res.D_err_cm2_s:.1e} cm²/s (true {d_true:.2e}), "
        f"Haven {res.haven_ratio:.2f}, {res.hop_count} hops"
    )


if __name__ == "__main__":
    main()
