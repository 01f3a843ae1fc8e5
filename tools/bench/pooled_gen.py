#!/usr/bin/env python3
"""Writes a pooled-series bench CSV: PEOPLE participants x NIGHTS nights (ABAB periods of 14
nights, first arm alternating), random intercept and correlated treatment slope, 5 % missing.
Usage: pooled_gen.py PEOPLE NIGHTS OUT.csv [SEED]"""
import sys
import numpy as np

people, nights, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
rng = np.random.default_rng(seed)
tau0, tau1, rho, sigma, effect = 1.5, 0.8, -0.3, 1.5, -1.0
cov = np.array([[tau0**2, rho * tau0 * tau1], [rho * tau0 * tau1, tau1**2]])
b = rng.multivariate_normal([0.0, 0.0], cov, size=people)
day = np.arange(nights)
with open(out, "w") as f:
    f.write("participant,day,condition,outcome\n")
    for i in range(people):
        arm = ((i % 2) + day // 14) % 2
        y = 5.0 + b[i, 0] + arm * (effect + b[i, 1]) + rng.normal(0.0, sigma, nights)
        miss = rng.random(nights) < 0.05
        pid = f"p{i + 1:05d}"
        f.write("".join(
            f"{pid},{d + 1},{'mg' if a else 'placebo'},{'' if m else f'{v:.4f}'}\n"
            for d, a, v, m in zip(day, arm, y, miss)))
