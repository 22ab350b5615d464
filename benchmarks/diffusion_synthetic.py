"""Coverage of the Arrhenius uncertainty on synthetic hopping walks with a known D(T).

Every trial simulates lattice-gas-like hopping walks (16 ions, 2.5 Å jumps, 0.1 Å vibration)
at 500-900 K with D(T) = D0 exp(-Ea / k_B T), 3 runs x 200 ps per temperature split into
12 segments of 50 ps (lian2025), analyses them with ionflow's default settings (20-80 % window,
error from the segment spread) and fits Arrhenius (weighted, error_scaling="auto"). It reports
how often the true Ea lies within 1 and 2 reported standard errors (nominal 68.3 % / 95.4 %)
and how often the true D(300 K) lies in the reported 95 % confidence interval.

    python benchmarks/diffusion_synthetic.py --trials 1000 --seed 0
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ionflow.core.diffusion.synthetic import arrhenius_trial
from ionflow.core.diffusion.units import KB_EV_K


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ea", type=float, default=0.3, help="true Ea, eV")
    parser.add_argument("--d0", type=float, default=1e-3, help="true D0, cm²/s")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    d300_true = args.d0 * np.exp(-args.ea / (KB_EV_K * 300.0))
    ea, err, in_ci = np.empty(args.trials), np.empty(args.trials), np.empty(args.trials, bool)
    t0 = time.perf_counter()
    for i in range(args.trials):
        fit = arrhenius_trial(rng, Ea_eV=args.ea, D0_cm2_s=args.d0)
        ea[i], err[i] = fit.Ea_eV, fit.Ea_err_eV
        _, lo, hi = fit.extrapolate(300.0, confidence=0.95)
        in_ci[i] = lo <= d300_true <= hi
    elapsed = time.perf_counter() - t0

    z = np.abs(ea - args.ea) / err
    print(f"trials: {args.trials} (seed {args.seed}), {elapsed:.1f} s")
    print(
        f"true Ea = {args.ea} eV; fitted mean {ea.mean():.4f} eV, scatter {ea.std(ddof=1):.4f} eV, "
        f"mean reported error {err.mean():.4f} eV (rms {np.sqrt(np.mean(err**2)):.4f})"
    )
    print(f"coverage |Ea - Ea_true| <= 1 sigma: {np.mean(z <= 1):.3f} (nominal 0.683)")
    print(f"coverage |Ea - Ea_true| <= 2 sigma: {np.mean(z <= 2):.3f} (nominal 0.954)")
    print(f"coverage of true D(300 K) = {d300_true:.3e} cm²/s by the 95 % CI: {in_ci.mean():.3f}")


if __name__ == "__main__":
    main()
