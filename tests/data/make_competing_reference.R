# Reference values for analysis/attrition/competing.py (cumulative incidence, Gray's test, Fine-Gray,
# cause-specific Cox) on survival::mgus2 (R 4.2, survival 3.5-3, cmprsk 2.2-11).
# Usage (from the repository root): Rscript tests/data/make_competing_reference.R
# Writes tests/data/mgus2_competing.csv and tests/data/competing_reference.json.
suppressPackageStartupMessages({ library(survival); library(cmprsk) })
source("tests/data/json_writer.R")
d <- survival::mgus2
# competing outcomes: progression to plasma-cell malignancy (1) before death (2); 0 = censored
d$etime <- ifelse(d$pstat == 0, d$futime, d$ptime)
d$event <- ifelse(d$pstat == 0, 2 * d$death, 1)
d$male <- as.integer(d$sex == "M")
csv <- d[, c("id", "age", "male", "hgb", "mspike", "etime", "event")]
write.csv(csv, "tests/data/mgus2_competing.csv", row.names = FALSE, na = "")

out <- list(versions = list(R = R.version.string, cmprsk = as.character(packageVersion("cmprsk")),
                            survival = as.character(packageVersion("survival"))))
grid <- sort(unique(d$etime))
ci <- cuminc(d$etime, d$event, group = d$sex)
tp <- timepoints(ci, grid)
curves <- list()
for (nm in rownames(tp$est)) {
  curves[[nm]] <- list(time = arr(grid), est = arr(tp$est[nm, ]), var = arr(tp$var[nm, ]),
                       step_time = arr(ci[[nm]]$time), step_est = arr(ci[[nm]]$est), step_var = arr(ci[[nm]]$var))
}
out$cuminc_by_sex <- list(curves = curves,
  tests = list(cause = arr(rownames(ci$Tests)), stat = arr(ci$Tests[, "stat"]), pv = arr(ci$Tests[, "pv"]), df = arr(ci$Tests[, "df"])))
ci1 <- cuminc(d$etime, d$event, group = d$sex, rho = 1)
out$gray_rho1 <- list(stat = arr(ci1$Tests[, "stat"]), pv = arr(ci1$Tests[, "pv"]))
# three groups: age tertile-like bands
d$ageband <- cut(d$age, c(0, 65, 75, 200), labels = c("le65", "66-75", "gt75"))
ci3 <- cuminc(d$etime, d$event, group = d$ageband)
out$gray_ageband <- list(stat = arr(ci3$Tests[, "stat"]), pv = arr(ci3$Tests[, "pv"]), df = arr(ci3$Tests[, "df"]))
ci0 <- cuminc(d$etime, d$event)
tp0 <- timepoints(ci0, grid)
out$cuminc_overall <- list(time = arr(grid), est1 = arr(tp0$est[1, ]), var1 = arr(tp0$var[1, ]),
                           est2 = arr(tp0$est[2, ]), var2 = arr(tp0$var[2, ]))

cc <- d[complete.cases(d[, c("age", "male", "mspike")]), ]
X <- as.matrix(cc[, c("age", "male", "mspike")])
for (code in 1:2) {
  f <- crr(cc$etime, cc$event, cov1 = X, failcode = code, cencode = 0)
  out[[paste0("crr_failcode", code)]] <- list(coef = f$coef, se = sqrt(diag(f$var)), loglik = f$loglik,
    loglik_null = f$loglik.null, n = f$n, converged = f$converged, var = arr(as.numeric(f$var)),
    uftime = arr(f$uftime), bfitj = arr(f$bfitj))
  cs <- coxph(Surv(etime, event == code) ~ age + male + mspike, data = cc, ties = "efron")
  out[[paste0("cause_specific_cox", code)]] <- list(coef = coef(cs), se = sqrt(diag(vcov(cs))),
                                                    loglik = cs$loglik[2])
}
out$crr_n <- nrow(cc)
# predict.crr for three new people (age, male, mspike) at given times: the cumulative incidence
# of each cause; predict.crr returns one row per uftime, so the value at t is that of the last
# uftime <= t (0 before the first)
newx <- rbind(c(60, 0, 0.5), c(72, 1, 1.2), c(85, 1, 2.5))
colnames(newx) <- c("age", "male", "mspike")
pred_times <- c(0.5, 12, 60, 120, 240, 400)
for (code in 1:2) {
  f <- crr(cc$etime, cc$event, cov1 = X, failcode = code, cencode = 0)
  pr <- predict(f, cov1 = newx)
  at <- sapply(pred_times, function(t) { i <- sum(pr[, 1] <= t); if (i == 0) rep(0, nrow(newx)) else pr[i, -1] })
  out[[paste0("predict_crr_failcode", code)]] <- list(
    newdata = list(age = arr(newx[, 1]), male = arr(newx[, 2]), mspike = arr(newx[, 3])),
    times = arr(pred_times), cif = arr(as.numeric(at)))  # column-major: person within time
}
# no censoring at all (only those with an outcome): the censoring term of the variance vanishes
nc <- cc[cc$event != 0, ]
f <- crr(nc$etime, nc$event, cov1 = as.matrix(nc[, c("age", "male", "mspike")]), failcode = 1, cencode = 0)
out$crr_uncensored <- list(coef = f$coef, se = sqrt(diag(f$var)), loglik = f$loglik, n = f$n)
# Gray's test stratified by age band (curves by sex)
cis <- cuminc(d$etime, d$event, group = d$sex, strata = d$ageband)
out$gray_strata <- list(stat = arr(cis$Tests[, "stat"]), pv = arr(cis$Tests[, "pv"]))
write_json_file(out, "tests/data/competing_reference.json")
