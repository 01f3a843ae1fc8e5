#!/usr/bin/env python3
"""The bench's statsmodels side: read the CSV and fit the random intercept + slope model by
REML with MixedLM's default optimiser settings; print the figures compared."""
import sys
import warnings
import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

d = pd.read_csv(sys.argv[1], dtype={"participant": str, "condition": str}).dropna(subset=["outcome"])
d["trt"] = (d["condition"] != "placebo").astype(float)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    fit = smf.mixedlm("outcome ~ trt", d, groups=d["participant"], re_formula="~trt").fit(reml=True)
cov = np.asarray(fit.cov_re)
for k, v in [("effect", fit.fe_params["trt"]), ("se", fit.bse_fe["trt"]),
             ("tau2_intercept", cov[0, 0]), ("tau2_slope", cov[1, 1]),
             ("cov_intercept_slope", cov[0, 1]), ("sigma2", fit.scale), ("loglik", fit.llf)]:
    print(f"{k} {v:.10g}")
for w in {str(w.message).splitlines()[0] for w in caught}:
    print("warning", w)
