# Reference values for the R-parity fixes of issue 11 §4 on psychTools::bfi (real missing answers).
# R 4.2 / psych 2.2.9 / lavaan 0.6.14 / psychTools 2.2.9 / GPArotation.
# Usage (from the repository root): Rscript tests/data/make_parity_reference.R
# Writes tests/data/parity_reference.json.
suppressPackageStartupMessages({ library(lavaan); library(psych); library(psychTools); library(GPArotation) })
source("tests/data/write_json.R")
data(bfi, package = "psychTools")
items <- bfi[, 1:25]
mod <- paste(sapply(names(bfi.keys), function(s) paste0(s, " =~ ", paste(sub("^-", "", bfi.keys[[s]]), collapse = " + "))), collapse = "\n")
fmw <- c("npar", "chisq", "df", "chisq.scaled", "df.scaled", "cfi", "tli", "rmsea",
         "rmsea.ci.lower", "rmsea.ci.upper", "cfi.scaled", "tli.scaled", "rmsea.scaled",
         "rmsea.ci.lower.scaled", "rmsea.ci.upper.scaled", "cfi.robust", "tli.robust",
         "rmsea.robust", "rmsea.ci.lower.robust", "rmsea.ci.upper.robust", "srmr", "ntotal")
pe_cols <- c("lhs", "op", "rhs", "est", "se", "std.all")
r <- list(dataset = "psychTools::bfi items A1-O5 (2800 respondents, real missing answers)",
          lavaan_version = as.character(packageVersion("lavaan")),
          psych_version = as.character(packageVersion("psych")), model = mod)
# WLSMV, listwise (lavaan's default for ordered data) and pairwise
for (miss in c("listwise", "pairwise")) {
  f <- cfa(mod, data = items, ordered = TRUE, estimator = "WLSMV", missing = miss)
  pe <- parameterEstimates(f, standardized = TRUE)
  r[[paste0("wlsmv_", miss)]] <- list(
    call = sprintf("cfa(model, data = bfi[, 1:25], ordered = TRUE, estimator = 'WLSMV', missing = '%s')", miss),
    nobs = lavInspect(f, "nobs"), fit = as.list(fitMeasures(f, fmw)), estimates = pe[, pe_cols])
}
# EFA factor order: six oblimin minres factors, where psych's order (diag(Phi L'L)) differs from
# the order of the sums of squared pattern loadings
e <- fa(items, nfactors = 6, rotate = "oblimin", fm = "minres")
L <- unclass(e$loadings)
r$efa_order <- list(call = "fa(bfi[, 1:25], nfactors = 6, rotate = 'oblimin', fm = 'minres')",
                    loadings = L, items = rownames(L), factors = colnames(L), phi = unclass(e$Phi),
                    ss_loadings = colSums(L^2), variance = diag(e$Phi %*% t(L) %*% L))
# rows without any answer: psych counts them in n (Bartlett's test, alpha's analytic intervals)
empty <- as.data.frame(matrix(NA_real_, 40, 25, dimnames = list(NULL, colnames(items))))
withempty <- rbind(items, empty)
b <- cortest.bartlett(withempty)
a <- psych::alpha(withempty[, c("C1", "C2", "C3", "C4", "C5")], keys = c("C4", "C5"), warnings = FALSE)
r$empty_rows <- list(
  note = "bfi[, 1:25] with 40 rows without any answer appended",
  n_rows = nrow(withempty),
  bartlett = list(call = "cortest.bartlett(x)", chisq = b$chisq, df = b$df, p = b$p.value),
  alpha_conscientiousness = list(call = "alpha(x[, C1:C5], keys = c('C4', 'C5'))",
    raw_alpha = a$total$raw_alpha, ase = a$total$ase,
    feldt_lower = as.numeric(a$feldt$lower.ci), feldt_upper = as.numeric(a$feldt$upper.ci)))
write_json_file(r, "tests/data/parity_reference.json")
