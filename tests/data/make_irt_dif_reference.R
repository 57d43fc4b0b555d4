# Reference values for ordinal logistic regression DIF (lordif's method) on psych's bfi N1-N5 by
# gender: MASS::polr fits of item ~ theta, item ~ theta + group, item ~ theta * group on the
# matching scores exported by tests/data/irt/make_irt_dif_matching.py (bfi_dif_matching.csv), so
# R and Python fit the identical models. Writes tests/data/irt/bfi_dif_reference.json.
# Run from the repository root: Rscript tests/data/make_irt_dif_reference.R
suppressPackageStartupMessages(library(MASS))
d <- read.csv("tests/data/irt/bfi_dif_matching.csv", row.names = 1)
d$group <- factor(d$gender)
items <- c("N1", "N2", "N3", "N4", "N5")
num <- function(x) format(x, digits = 17)
out <- c()
for (score in c("theta_initial", "theta_purified")) {
  d$theta <- d[[score]]
  entries <- c()
  for (item in items) {
    y <- factor(d[[item]], ordered = TRUE)
    m0 <- polr(y ~ 1, data = d, method = "logistic")
    m1 <- polr(y ~ theta, data = d, method = "logistic", control = list(reltol = 1e-14, maxit = 1000))
    m2 <- polr(y ~ theta + group, data = d, method = "logistic", control = list(reltol = 1e-14, maxit = 1000))
    m3 <- polr(y ~ theta * group, data = d, method = "logistic", control = list(reltol = 1e-14, maxit = 1000))
    dev <- c(deviance(m0), deviance(m1), deviance(m2), deviance(m3))
    entries <- c(entries, sprintf(
      '"%s": {"deviance_null": %s, "deviance_1": %s, "deviance_2": %s, "deviance_3": %s, "chi2_12": %s, "chi2_13": %s, "chi2_23": %s, "beta_theta_1": %s, "beta_theta_2": %s, "beta_12": [%s], "beta_3": [%s]}',
      item, num(dev[1]), num(dev[2]), num(dev[3]), num(dev[4]),
      num(dev[2] - dev[3]), num(dev[2] - dev[4]), num(dev[3] - dev[4]),
      num(coef(m1)[["theta"]]), num(coef(m2)[["theta"]]),
      paste(num(coef(m2)), collapse = ", "), paste(num(coef(m3)), collapse = ", ")))
  }
  out <- c(out, sprintf('"%s": {%s}', score, paste(entries, collapse = ", ")))
}
header <- sprintf('"source": "MASS::polr(method = \\"logistic\\") %s, %s; matching scores from bfi_dif_matching.csv", "n": %d',
                  packageVersion("MASS"), R.version.string, nrow(d))
writeLines(sprintf("{%s, %s}", header, paste(out, collapse = ", ")), "tests/data/irt/bfi_dif_reference.json")
