# Fits both pooled models with lme4 (REML) to each CSV named on the command line and prints one
# "key value" line per figure. Called by generate.py; tolerances tightened so that the reference
# values are the optimum, not wherever the default stopping rule lands.
suppressPackageStartupMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
control <- args[1]
tight <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14, xtol_rel = 1e-12,
                                    ftol_rel = 1e-15, maxeval = 100000),
                     calc.derivs = FALSE)
for (path in args[-1]) {
  d <- read.csv(path, colClasses = c(participant = "character", condition = "character"))
  d <- d[!is.na(d$outcome), ]
  d$trt <- as.numeric(d$condition != control)
  cat("file", path, "\n")
  ri <- lmer(outcome ~ trt + (1 | participant), data = d, REML = TRUE, control = tight)
  vc <- as.data.frame(VarCorr(ri))
  cat("ri.effect", sprintf("%.15g", fixef(ri)[["trt"]]), "\n")
  cat("ri.se", sprintf("%.15g", sqrt(vcov(ri)[2, 2])), "\n")
  cat("ri.tau2_intercept", sprintf("%.15g", vc$vcov[1]), "\n")
  cat("ri.sigma2", sprintf("%.15g", sigma(ri)^2), "\n")
  cat("ri.loglik", sprintf("%.15g", as.numeric(logLik(ri))), "\n")
  cat("ri.singular", as.integer(isSingular(ri)), "\n")
  rs <- lmer(outcome ~ trt + (1 + trt | participant), data = d, REML = TRUE, control = tight)
  v <- VarCorr(rs)$participant
  cat("rs.effect", sprintf("%.15g", fixef(rs)[["trt"]]), "\n")
  cat("rs.se", sprintf("%.15g", sqrt(vcov(rs)[2, 2])), "\n")
  cat("rs.tau2_intercept", sprintf("%.15g", v[1, 1]), "\n")
  cat("rs.tau2_slope", sprintf("%.15g", v[2, 2]), "\n")
  cat("rs.cov_intercept_slope", sprintf("%.15g", v[1, 2]), "\n")
  cat("rs.sigma2", sprintf("%.15g", sigma(rs)^2), "\n")
  cat("rs.loglik", sprintf("%.15g", as.numeric(logLik(rs))), "\n")
  cat("rs.theta", sprintf("%.15g", getME(rs, "theta")), "\n")
  cat("rs.singular", as.integer(isSingular(rs)), "\n")
  re <- ranef(rs, condVar = TRUE)$participant
  pv <- attr(re, "postVar")
  ids <- rownames(re)
  for (j in seq_len(min(5, length(ids)))) {
    cat("blup", ids[j], sprintf("%.15g", re[j, "trt"]), sprintf("%.15g", pv[2, 2, j]), "\n")
  }
}
