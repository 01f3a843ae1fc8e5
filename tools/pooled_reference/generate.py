#!/usr/bin/env python3
"""Reference values for `quietlegs series analyze` (crates/core/tests/pooled_reference.rs).

Generates pooled n-of-1 data with known truth (seeded), fits the random-intercept and the
correlated random intercept + treatment slope models by REML with lme4 (R, Debian's
r-cran-lme4, through lme4_fit.R) and statsmodels MixedLM, and writes
  data/test/pooled/<case>.csv       the data (participant,day,condition,outcome)
  data/test/pooled/reference.json   both peers' estimates for every case

Run from the repository root:  python3 tools/pooled_reference/generate.py
Needs: apt-get install -y r-cran-lme4; pip install statsmodels pandas.
"""
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "data" / "test" / "pooled"
CONTROL = "placebo"
TREATMENT = "mg"


def simulate(seed, people, nights, period, beta0, effect, tau0, tau1, rho, sigma, missing):
    """ABAB... periods of `period` nights (first arm random per person); a person's nights are
    drawn from `nights` (an int or an inclusive (lo, hi) range); missing outcomes left empty."""
    rng = np.random.default_rng(seed)
    cov = np.array([[tau0**2, rho * tau0 * tau1], [rho * tau0 * tau1, tau1**2]])
    rows = []
    for i in range(people):
        pid = f"p{i + 1:04d}"
        n = nights if isinstance(nights, int) else int(rng.integers(nights[0], nights[1] + 1))
        b = rng.multivariate_normal([0.0, 0.0], cov) if (tau0 > 0 or tau1 > 0) else np.zeros(2)
        first = int(rng.integers(0, 2))
        for day in range(1, n + 1):
            arm = (first + (day - 1) // period) % 2
            cond = TREATMENT if arm == 1 else CONTROL
            y = beta0 + b[0] + arm * (effect + b[1]) + rng.normal(0.0, sigma)
            out = "" if rng.random() < missing else f"{y:.6f}"
            rows.append((pid, day, cond, out))
    return rows


def write_csv(path, rows):
    with open(path, "w") as f:
        f.write("participant,day,condition,outcome\n")
        for r in rows:
            f.write(f"{r[0]},{r[1]},{r[2]},{r[3]}\n")


def statsmodels_fit(path):
    d = pd.read_csv(path, dtype={"participant": str, "condition": str})
    d = d.dropna(subset=["outcome"])
    d["trt"] = (d["condition"] != CONTROL).astype(float)
    out = {}
    for name, re in (("random_intercept", "~1"), ("random_slope", "~trt")):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            m = smf.mixedlm("outcome ~ trt", d, groups=d["participant"], re_formula=re)
            # BFGS with a tight gradient tolerance so that the figures are the optimum (the
            # default L-BFGS stops early and, on the random-intercept model here, at a wrong
            # boundary point with log-likelihood inf).
            fit = m.fit(reml=True, method=["bfgs"], maxiter=5000, gtol=1e-7)
        cov = np.asarray(fit.cov_re)
        scale = float(fit.scale)
        res = {
            "effect": float(fit.fe_params["trt"]),
            "se": float(fit.bse_fe["trt"]),
            "tau2_intercept": float(cov[0, 0]),
            "sigma2": scale,
            "loglik": float(fit.llf),
            "converged": bool(fit.converged),
            "warnings": sorted({str(w.message).splitlines()[0] for w in caught}),
        }
        # Boundary as lme4 judges it: a diagonal element of the relative Cholesky factor < 1e-4.
        rel = cov / scale
        if name == "random_slope":
            res["tau2_slope"] = float(cov[1, 1])
            res["cov_intercept_slope"] = float(cov[0, 1])
            l11 = np.sqrt(max(rel[0, 0], 0.0))
            l21 = rel[0, 1] / l11 if l11 > 0 else 0.0
            l22 = np.sqrt(max(rel[1, 1] - l21**2, 0.0))
            diag = [l11, l22]
        else:
            diag = [np.sqrt(max(rel[0, 0], 0.0))]
        res["singular"] = bool(min(diag) < 1e-4) or any("boundary" in w for w in res["warnings"])
        out[name] = res
    return out


def lme4_fit(paths):
    text = subprocess.run(
        ["Rscript", str(Path(__file__).with_name("lme4_fit.R")), CONTROL, *map(str, paths)],
        check=True, capture_output=True, text=True).stdout
    res, cur = {}, None
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "file":
            cur = res.setdefault(Path(parts[1]).stem, {"random_intercept": {}, "random_slope": {}, "blups": []})
        elif parts[0] == "blup":
            cur["blups"].append({"id": parts[1], "slope": float(parts[2]), "cond_var": float(parts[3])})
        else:
            model, key = parts[0].split(".")
            m = cur["random_intercept" if model == "ri" else "random_slope"]
            vals = [float(v) for v in parts[1:]]
            if key == "singular":
                m[key] = bool(vals[0])
            else:
                m[key] = vals if key == "theta" else vals[0]
    return res


CASES = {
    # name: (seed, simulate() arguments)
    "balanced": (11, dict(people=30, nights=28, period=7, beta0=5.0, effect=-1.0, tau0=1.5,
                          tau1=0.8, rho=-0.3, sigma=1.2, missing=0.0)),
    "unbalanced": (12, dict(people=60, nights=(14, 56), period=7, beta0=4.0, effect=-0.6,
                            tau0=1.0, tau1=0.6, rho=0.4, sigma=1.5, missing=0.1)),
    "positive": (13, dict(people=120, nights=(20, 40), period=5, beta0=60.0, effect=3.0,
                          tau0=8.0, tau1=2.5, rho=0.0, sigma=6.0, missing=0.05)),
}
# The singular case: no between-person spread of the effect in truth; the first seed at or after
# this one where both peers report a boundary fit of the random-slope model is used.
SINGULAR_FIRST_SEED = 100
SINGULAR = dict(people=12, nights=14, period=7, beta0=5.0, effect=-1.0, tau0=1.0, tau1=0.0,
                rho=0.0, sigma=1.5, missing=0.0)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    reference = {"generator": "tools/pooled_reference/generate.py", "control": CONTROL,
                 "treatment": TREATMENT, "cases": {}}
    paths = {}
    for name, (seed, args) in CASES.items():
        paths[name] = OUT / f"{name}.csv"
        write_csv(paths[name], simulate(seed, **args))
        reference["cases"][name] = {"seed": seed, "truth": args}
    seed = SINGULAR_FIRST_SEED
    while True:
        cand = OUT / "singular.csv"
        write_csv(cand, simulate(seed, **SINGULAR))
        sm = statsmodels_fit(cand)
        lm = lme4_fit([cand])["singular"]
        if sm["random_slope"]["singular"] and lm["random_slope"]["singular"]:
            break
        seed += 1
        if seed > SINGULAR_FIRST_SEED + 200:
            sys.exit("no singular case found")
    paths["singular"] = cand
    reference["cases"]["singular"] = {"seed": seed, "truth": SINGULAR}
    lm_all = lme4_fit(list(paths.values()))
    for name, path in paths.items():
        case = reference["cases"][name]
        case["csv"] = str(path.relative_to(ROOT))
        case["lme4"] = lm_all[name]
        case["statsmodels"] = statsmodels_fit(path)
    import statsmodels
    r_version = subprocess.run(["Rscript", "-e", "cat(as.character(packageVersion('lme4')))"],
                               capture_output=True, text=True).stdout.strip()
    reference["versions"] = {"lme4": r_version, "statsmodels": statsmodels.__version__,
                             "numpy": np.__version__}
    (OUT / "reference.json").write_text(json.dumps(reference, indent=2) + "\n")
    print(json.dumps({k: {p: v[p]["random_slope"] for p in ("lme4", "statsmodels")}
                      for k, v in reference["cases"].items()}, indent=1))


if __name__ == "__main__":
    main()
