# Reference values for analysis/study/imputed.py (validate --impute): reliability and CFA pooled
# over FIXED completed data sets (SYNTHETIC bfi answers imputed three times, written by
# tests/data/make_imputed_pooling_data.py), so that both sides pool the same analyses.
# - alpha: psych::alpha(raw_alpha, ase) on each set, pooled by mice::pool.scalar(Q, U, n = Inf)
# - CFA: semTools::cfa.mi(facets model, data = the three sets), pooled estimates and SEs
#   (Rubin's rules) and lavTestLRT.mi(fit, test = "D2") (F, df2, p, ariv, fmi; asymptotic chi-square)
# R 4.2, psych 2.2.9, lavaan 0.6.14, semTools 0.5.6, mice 3.15.0. Usage (repository root):
#   Rscript tests/data/make_imputed_pooling_reference.R
suppressPackageStartupMessages({ library(psych); library(lavaan); library(semTools); library(mice) })
source("tests/data/json_writer.R")
dir <- "tests/data/synthetic_imputed"
sets <- lapply(1:3, function(k) read.csv(file.path(dir, sprintf("completed_%d.csv", k))))
model <- paste(readLines(file.path(dir, "facets.lav")), collapse = "\n")
reversed <- c("A1", "C4", "C5", "E1", "E2", "O2", "O5")
scales <- list(agree = paste0("A", 1:5), conscientious = paste0("C", 1:5),
               extraversion = paste0("E", 1:5), neuroticism = paste0("N", 1:5),
               openness = paste0("O", 1:5))
out <- list(versions = list(R = R.version.string, psych = as.character(packageVersion("psych")),
                            lavaan = as.character(packageVersion("lavaan")),
                            semTools = as.character(packageVersion("semTools")),
                            mice = as.character(packageVersion("mice"))))
alpha_out <- list()
for (s in names(scales)) {
  items <- scales[[s]]
  keys <- ifelse(items %in% reversed, -1, 1)
  fits <- lapply(sets, function(d) psych::alpha(d[, items], keys = items[keys < 0], warnings = FALSE))
  q <- sapply(fits, function(f) f$total$raw_alpha)
  u <- sapply(fits, function(f) f$total$ase)^2
  p <- mice::pool.scalar(q, u, n = Inf)
  alpha_out[[s]] <- list(q = arr(q), u = arr(u), estimate = p$qbar, ubar = p$ubar, b = p$b, t = p$t,
                         df = p$df, riv = p$r, fmi = p$fmi)
}
out$alpha <- alpha_out
fit <- semTools::cfa.mi(model, data = sets)
# scale.W = FALSE: Rubin's total variance ubar + (1 + 1/m) b per parameter (semTools' default
# scale.W = TRUE shrinks it to (1 + ARIV) ubar, one ARIV for all parameters)
est <- summary(fit, output = "data.frame", scale.W = FALSE)
free <- est[!is.na(est$se) & est$se > 0, ]
out$cfa <- list(term = arr(paste(free$lhs, free$op, free$rhs)), estimate = arr(free$est),
                se = arr(free$se))
d2 <- lavTestLRT.mi(fit, test = "D2", pool.robust = FALSE)
d2a <- lavTestLRT.mi(fit, test = "D2", asymptotic = TRUE, pool.robust = FALSE)
chisq <- sapply(sets, function(d) fitMeasures(cfa(model, data = d), "chisq"))
out$d2 <- list(chisq_each = arr(unname(chisq)), F = unname(d2["F"]), df1 = unname(d2["df1"]),
               df2 = unname(d2["df2"]), pvalue = unname(d2["pvalue"]), ariv = unname(d2["ariv"]),
               fmi = unname(d2["fmi"]), chisq = unname(d2a["chisq"]), df = unname(d2a["df"]),
               pvalue_asymptotic = unname(d2a["pvalue"]))
write_json_file(out, "tests/data/imputed_pooling_reference.json")
