# Reference fits run past R's default stopping rules, so that tests can pin our (fully
# converged) fits tighter than R's defaults allow.
#
#   Rscript tests/data/make_converged_reference.R tests/data
#
# writes converged_reference.json (R 4.2, survival 3.5-3, mice 3.15.0), read by
# tests/test_attrition_lung.py, tests/test_attrition_frailty.py,
# tests/test_attrition_timevarying.py and tests/test_attrition_impute_cli.py:
# - glm(status ~ age + sex + ph.ecog, binomial) on lung.csv with glm.control(epsilon = 1e-14):
#   vcov(glm) takes the weights of the last-but-one IRLS step, so at the default epsilon (1e-8)
#   its SEs sit 6e-7 from those at the estimate (lung_reference.json keeps the default fit).
# - coxph(Surv(time, status) ~ age + sex + ph.ecog, ties = ties) on lung.csv with
#   coxph.control(eps = 1e-14): the default stops at a relative loglik change of 1e-9; and
#   cox.zph() of the Efron fit; the time-varying and clustered Cox models of
#   make_rossi_reference.R (rossi_long.csv, lung_inst.csv) to the same eps.
# - coxph(... + frailty(inst, theta = 0.5)) on lung_inst.csv with coxph.control(eps = 1e-14,
#   iter.max = 100): the default stops after 6 steps (coef 6e-7 short). Past 1e-14 R's sparse
#   Newton step no longer settles (eps = 1e-16 runs all 200 iterations and ends 2.5e-9 away),
#   so its coefficients are fixed to about 3e-9 here. And frailty(inst) with theta estimated,
#   the inner fits to the same eps.
# - mice::pool() of the nhanes glm of make_mi_reference.R, each glm run to epsilon = 1e-14 and
#   again from its estimate (vcov at the estimate).
suppressPackageStartupMessages(library(survival))
source(file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(), value = TRUE))), "json_writer.R"))
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[1] else "."

lung <- read.csv(file.path(out, "lung.csv"))
lung <- na.omit(lung[, c("time", "status", "age", "sex", "ph.ecog")])
stopifnot(nrow(lung) == 227)
g <- glm(status ~ age + sex + ph.ecog, family = binomial, data = lung,
         control = glm.control(epsilon = 1e-14, maxit = 100))
ref <- list(logit = list(terms = names(coef(g)), coef = arr(coef(g)),
                         se = arr(sqrt(diag(vcov(g)))), iter = g$iter))
for (ties in c("efron", "breslow")) {
  fit <- coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung, ties = ties,
               control = coxph.control(eps = 1e-14, toler.chol = 1e-15, iter.max = 100))
  ref[[paste0("cox_", ties)]] <- list(terms = names(coef(fit)), coef = arr(coef(fit)),
                                      se = arr(sqrt(diag(vcov(fit)))), loglik = arr(fit$loglik),
                                      iter = fit$iter)
  if (ties == "efron") {
    # cox.zph(fit) (transform = "km") of the converged fit, at full precision
    zph <- cox.zph(fit)
    ref$cox_zph <- list(terms = rownames(zph$table), chisq = arr(zph$table[, "chisq"]),
                        df = arr(zph$table[, "df"]), p = arr(zph$table[, "p"]))
  }
}
lung2 <- read.csv(file.path(out, "lung_inst.csv"))
# time-varying (start, stop] Cox on Rossi, plain and clustered by person, and lung clustered by
# institution (make_rossi_reference.R's models), to eps = 1e-14
rossi <- read.csv(file.path(out, "rossi_long.csv"))
tight <- coxph.control(eps = 1e-14, toler.chol = 1e-15, iter.max = 100)
for (ties in c("efron", "breslow")) {
  f <- Surv(start, stop, arrest.time) ~ fin + age + race + wexp + mar + paro + prio + employed
  fit <- coxph(f, data = rossi, ties = ties, control = tight)
  ref[[paste0("rossi_tv_", ties)]] <- list(coef = arr(coef(fit)), se = arr(sqrt(diag(vcov(fit)))),
                                           loglik = arr(fit$loglik), iter = fit$iter)
  fit <- coxph(f, data = rossi, ties = ties, cluster = id, control = tight)
  ref[[paste0("rossi_tv_cluster_", ties)]] <- list(se = arr(sqrt(diag(vcov(fit)))),
                                                   naive_se = arr(sqrt(diag(fit$naive.var))))
  fit <- coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung2, ties = ties,
               cluster = inst, control = tight)
  ref[[paste0("lung_cluster_", ties)]] <- list(coef = arr(coef(fit)), se = arr(sqrt(diag(vcov(fit)))),
                                               naive_se = arr(sqrt(diag(fit$naive.var))))
}
fit <- suppressWarnings(coxph(
  Surv(time, status) ~ age + sex + ph.ecog + frailty(inst, theta = 0.5), data = lung2,
  control = coxph.control(eps = 1e-14, toler.chol = 1e-15, iter.max = 100)))
ref[["lung_frailty_theta_0.5"]] <- list(
  terms = c("age", "sex", "ph.ecog"), coef = arr(coef(fit)), se = arr(sqrt(diag(vcov(fit)))),
  se2 = arr(sqrt(diag(fit$var2))), loglik = arr(fit$loglik),
  integrated_loglik = arr(fit$history[[1]]$c.loglik), frail = arr(fit$frail), df = arr(fit$df),
  iter = arr(fit$iter))
# mice::pool() of glm(I(hyp == 2) ~ age + bmi, binomial) on the five fixed completed data sets of
# nhanes_imputed.csv (make_mi_reference.R), each glm run to epsilon = 1e-14 (mice 3.15.0).
nh <- read.csv(file.path(out, "nhanes_imputed.csv"))
# Its deviance changes with the square of the last step, so at 1e-14 the last-but-one iterate
# (whose weights vcov() uses) can still be ~1e-8 away here: each fit is run again from its own
# estimate, which puts the weights at the estimate.
fit_converged <- function(d) {
  f <- glm(I(hyp == 2) ~ age + bmi, family = binomial, data = d,
           control = glm.control(epsilon = 1e-14, maxit = 100))
  glm(I(hyp == 2) ~ age + bmi, family = binomial, data = d, start = coef(f),
      control = glm.control(epsilon = 1e-14, maxit = 100))
}
fits <- lapply(split(nh, nh$.imp), fit_converged)
p <- mice::pool(mice::as.mira(fits))
s <- summary(p, conf.int = TRUE)
pp <- p$pooled
ref$mi_glm <- list(
  term = arr(as.character(pp$term)), estimate = arr(pp$estimate), ubar = arr(pp$ubar), b = arr(pp$b),
  t = arr(pp$t), dfcom = arr(pp$dfcom), df = arr(pp$df), riv = arr(pp$riv), lambda = arr(pp$lambda),
  fmi = arr(pp$fmi), std_error = arr(s$std.error), statistic = arr(s$statistic),
  p_value = arr(s$p.value), ci_low = arr(s[["2.5 %"]]), ci_high = arr(s[["97.5 %"]]),
  per_imputation_se = unname(lapply(fits, function(f) arr(sqrt(diag(vcov(f)))))))
# the gamma frailty with theta estimated (survival's outer search), inner fits to eps = 1e-14
fit <- suppressWarnings(coxph(
  Surv(time, status) ~ age + sex + ph.ecog + frailty(inst), data = lung2,
  control = coxph.control(eps = 1e-14, toler.chol = 1e-15, iter.max = 100)))
h <- fit$history[[1]]$history
ref[["lung_frailty"]] <- list(
  terms = c("age", "sex", "ph.ecog"), coef = arr(coef(fit)), se = arr(sqrt(diag(vcov(fit)))),
  se2 = arr(sqrt(diag(fit$var2))), theta = arr(fit$history[[1]]$theta),
  theta_fitted = arr(h[nrow(h), 1]), history_theta = arr(h[, 1]), history_loglik = arr(h[, 2]),
  history_c_loglik = arr(h[, 3]), loglik = arr(fit$loglik),
  integrated_loglik = arr(fit$history[[1]]$c.loglik), frail = arr(fit$frail), df = arr(fit$df))
write_json_file(ref, file.path(out, "converged_reference.json"))
