# Reference values for full-information ML (lavaan missing = "ml") on psychTools::bfi with its
# real missing answers. R 4.2 / lavaan 0.6.14 / psychTools 2.2.9.
# Usage (from the repository root): Rscript tests/data/make_fiml_reference.R
# Writes tests/data/fiml_reference.json.
suppressPackageStartupMessages({ library(lavaan); library(psychTools) })
source("tests/data/write_json.R")
data(bfi, package = "psychTools")
items <- bfi[, 1:25]
mod <- paste(sapply(names(bfi.keys), function(s) paste0(s, " =~ ", paste(sub("^-", "", bfi.keys[[s]]), collapse = " + "))), collapse = "\n")
fm <- c("npar", "fmin", "chisq", "df", "pvalue", "baseline.chisq", "baseline.df", "cfi", "tli",
        "logl", "unrestricted.logl", "aic", "bic", "ntotal", "rmsea", "rmsea.ci.lower",
        "rmsea.ci.upper", "rmsea.pvalue", "srmr")
pe_cols <- c("lhs", "op", "rhs", "est", "se", "std.all")
fit <- cfa(mod, data = items, estimator = "ML", missing = "ml")
pe <- parameterEstimates(fit, standardized = TRUE)
r <- list(
  dataset = "psychTools::bfi items A1-O5 (2800 respondents, real missing answers)",
  call = "cfa(model, data = bfi[, 1:25], estimator = 'ML', missing = 'ml')",
  lavaan_version = as.character(packageVersion("lavaan")),
  model = mod,
  nobs = lavInspect(fit, "nobs"),
  npatterns = nrow(lavInspect(fit, "patterns")),
  fit = as.list(fitMeasures(fit, fm)),
  estimates = pe[, pe_cols]
)
# multi-group by gender (rows without gender dropped), configural / loadings / loadings+intercepts
d <- bfi[!is.na(bfi$gender), c(1:25, 26)]
inv <- list()
for (lvl in list("none", c("loadings"), c("loadings", "intercepts"))) {
  f <- if (identical(lvl, "none")) cfa(mod, data = d, group = "gender", missing = "ml") else
    cfa(mod, data = d, group = "gender", group.equal = lvl, missing = "ml")
  key <- paste(lvl, collapse = "+")
  inv[[key]] <- list(fit = as.list(fitMeasures(f, fm)))
  if (key == "loadings") {
    p <- parameterEstimates(f, standardized = TRUE)
    inv[[key]]$estimates <- p[, c("group", pe_cols)]
  }
}
r$invariance_gender <- inv
write_json_file(r, "tests/data/fiml_reference.json")
