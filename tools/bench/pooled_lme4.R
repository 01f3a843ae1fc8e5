# The bench's lme4 side: read the CSV and fit the random intercept + slope model by REML with
# lme4's default settings (what a person would run); print the figures compared.
suppressPackageStartupMessages(library(lme4))
d <- read.csv(commandArgs(trailingOnly = TRUE)[1], colClasses = c(participant = "character", condition = "character"))
d <- d[!is.na(d$outcome), ]
d$trt <- as.numeric(d$condition != "placebo")
fit <- lmer(outcome ~ trt + (1 + trt | participant), data = d, REML = TRUE)
v <- VarCorr(fit)$participant
cat(sprintf("effect %.10g\nse %.10g\ntau2_intercept %.10g\ntau2_slope %.10g\ncov_intercept_slope %.10g\nsigma2 %.10g\nloglik %.10g\n",
            fixef(fit)[["trt"]], sqrt(vcov(fit)[2, 2]), v[1, 1], v[2, 2], v[1, 2], sigma(fit)^2,
            as.numeric(logLik(fit))))
msgs <- fit@optinfo$conv$lme4$messages
if (length(msgs)) cat("warning", gsub("\n", " ", paste(msgs, collapse = "; ")), "\n")
