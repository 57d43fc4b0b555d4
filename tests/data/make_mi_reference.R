# Reference values for analysis/attrition/imputation.py: Rubin's rules (mice::pool) and the D2
# pooled chi-square (semTools' calculate.D2, the D2 that mice::D2 and semTools::lavTestLRT.mi use)
# on FIXED imputed data sets, so that both sides pool the same fits.
# mice's nhanes (25 people: age group, bmi, hyp, chl; bmi/hyp/chl partly missing).
# R 4.2, mice 3.15.0, semTools. Usage (from the repository root):
#   Rscript tests/data/make_mi_reference.R
# Writes tests/data/nhanes_imputed.csv (the m = 5 completed data sets, long format with .imp)
# and tests/data/mi_reference.json.
suppressPackageStartupMessages({ library(mice); library(semTools) })
source("tests/data/json_writer.R")
imp <- mice(nhanes, m = 5, seed = 20240101, printFlag = FALSE)  # pmm for every variable
long <- complete(imp, "long")
write.csv(long[, c(".imp", ".id", "age", "bmi", "hyp", "chl")], "tests/data/nhanes_imputed.csv", row.names = FALSE)
pooled_list <- function(p) {
  pp <- p$pooled
  s <- summary(p, conf.int = TRUE)
  list(term = arr(as.character(pp$term)), estimate = arr(pp$estimate), ubar = arr(pp$ubar), b = arr(pp$b),
       t = arr(pp$t), dfcom = arr(pp$dfcom), df = arr(pp$df), riv = arr(pp$riv), lambda = arr(pp$lambda),
       fmi = arr(pp$fmi), std_error = arr(s$std.error), statistic = arr(s$statistic), p_value = arr(s$p.value),
       ci_low = arr(s[["2.5 %"]]), ci_high = arr(s[["97.5 %"]]))
}
out <- list(versions = list(R = R.version.string, mice = as.character(packageVersion("mice")),
                            semTools = as.character(packageVersion("semTools"))))
fit_lm <- with(imp, lm(chl ~ age + bmi))
out$lm <- pooled_list(pool(fit_lm))
fit_glm <- with(imp, glm(I(hyp == 2) ~ age + bmi, family = binomial))
out$glm <- pooled_list(pool(fit_glm))
# the per-imputation estimates and standard errors that pool() combined (row = imputation)
per_imp <- function(fit) list(estimate = lapply(fit$analyses, function(f) arr(coef(f))),
                              se = lapply(fit$analyses, function(f) arr(sqrt(diag(vcov(f))))))
out$lm$per_imputation <- per_imp(fit_lm)
out$glm$per_imputation <- per_imp(fit_glm)
# D2: per-imputation Wald chi-square of H0: age = bmi = 0 in the lm, pooled
w <- sapply(fit_lm$analyses, function(f) { b <- coef(f)[2:3]; V <- vcov(f)[2:3, 2:3]; as.numeric(t(b) %*% solve(V, b)) })
d2 <- semTools:::calculate.D2(w, DF = 2)
d2a <- semTools:::calculate.D2(w, DF = 2, asymptotic = TRUE)
out$d2 <- list(w = arr(w), df = 2, F = unname(d2["F"]), df1 = unname(d2["df1"]), df2 = unname(d2["df2"]),
               pvalue = unname(d2["pvalue"]), ariv = unname(d2["ariv"]), fmi = unname(d2["fmi"]),
               chisq_asymptotic = unname(d2a["chisq"]), pvalue_asymptotic = unname(d2a["pvalue"]))
# proportional-odds model used to impute ordered items: MASS::polr on the first completed data set
suppressPackageStartupMessages(library(MASS))
first <- complete(imp, 1)
po <- polr(factor(age) ~ bmi + chl, data = first, Hess = TRUE,
           control = list(reltol = 1e-15, maxit = 10000))  # optim converged fully
out$polr <- list(zeta = arr(po$zeta), coef = po$coefficients, vcov = arr(as.numeric(vcov(po))),
                 loglik = as.numeric(logLik(po)), vcov_order = arr(rownames(vcov(po))))
write_json_file(out, "tests/data/mi_reference.json")
