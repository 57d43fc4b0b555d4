# Reference values for the bifactor model, its indices, and a method (acquiescence) factor
# (analysis/sem/bifactor.py, analysis/study/models.py), from lavaan and semTools on public data.
#
# 1. Bifactor: lavaan's HolzingerSwineford1939 (301 pupils, x1..x9), a general factor over all
#    nine tests plus visual/textual/speed, cfa(std.lv = TRUE, orthogonal = TRUE). The indices
#    are computed here from the standardized loadings with the formulas of Rodriguez, Reise &
#    Haviland (2016), as BifactorIndicesCalculator::bifactorIndices reports them (the package is
#    not installed here, so its formulas are written out):
#      omega   = [(sum lG)^2 + sum_k (sum lSk)^2] / [that + sum(1 - h2)]
#      omegaH  = (sum lG)^2 / same denominator;  per facet k (its items only):
#      omega_k = [(sum_k lG)^2 + (sum lSk)^2] / [that + sum_k(1 - h2)], omegaHS_k = (sum lSk)^2 / same
#      ECV     = sum lG^2 / (sum lG^2 + sum lS^2);  ECV_SS_k = sum lSk^2 / (sum_k lG^2 + sum lSk^2)
#      PUC     = 1 - sum_k n_k(n_k - 1)/2 / (n(n - 1)/2);  H = 1 / (1 + 1 / sum(l^2 / (1 - l^2)))
#      IECV_i  = lG_i^2 / (lG_i^2 + lS_i^2)
#    and semTools::compRelSEM(fit, obs.var = FALSE) (each factor's (sum lambda)^2 psi over the
#    model-implied variance of the raw sum of all items (general) or of the facet's items).
# 2. Method factor: psych's bfi, agreeableness and conscientiousness items (A1, C4, C5 reverse
#    keyed), complete cases; two correlated content factors plus an acquiescence factor with every
#    raw-coded loading fixed to 1, uncorrelated with the content factors (random-intercept model,
#    Maydeu-Olivares & Coffman 2006; Billiet & McClendon 2000), lavaan cfa() defaults.
#
# Run: Rscript tests/data/make_bifactor_reference.R tests/data
# R 4.2, lavaan 0.6.14, semTools. JSON written by hand (json_writer.R) with 17 digits.
suppressPackageStartupMessages({
  library(lavaan)
  library(semTools)
})
args <- commandArgs(trailingOnly = TRUE)
out_dir <- if (length(args)) args[1] else "tests/data"
source(file.path(out_dir, "json_writer.R"))

fm_names <- c("npar", "chisq", "df", "pvalue", "cfi", "tli", "logl", "aic", "bic", "rmsea", "srmr")
fit_block <- function(fit) {
  pe <- standardizedSolution(fit)
  ld <- pe[pe$op == "=~", ]
  list(
    fit_measures = as.list(fitMeasures(fit, fm_names)),
    loadings = list(lhs = arr(ld$lhs), rhs = arr(ld$rhs), std_all = arr(ld$est.std)),
    lv_variances = as.list(setNames(diag(lavInspect(fit, "est")$psi), lavNames(fit, "lv")))
  )
}

# --- 1. bifactor on HolzingerSwineford1939 ----------------------------------------------------
hs <- HolzingerSwineford1939
model_bf <- "
g =~ x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9
visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9
"
# lavaan's defaults. x1 is a Heywood case (negative residual variance; lavaan warns) and the
# likelihood is flat there: nlminb stops (rel.tol = 1e-10) a few 1e-6 from the optimum in x1's
# loadings; tighter control settings report non-convergence.
fit_bf <- cfa(model_bf, data = hs, std.lv = TRUE, orthogonal = TRUE)
stopifnot(lavInspect(fit_bf, "converged"))
L <- lavInspect(fit_bf, "std")$lambda
items <- rownames(L)
facets <- c("visual", "textual", "speed")
lg <- L[, "g"]
ls_ <- L[, facets]
h2 <- rowSums(L^2)
u <- 1 - h2
common <- sum(lg)^2 + sum(colSums(ls_)^2)
omega <- common / (common + sum(u))
omega_h <- sum(lg)^2 / (common + sum(u))
ecv <- sum(lg^2) / (sum(lg^2) + sum(ls_^2))
n <- length(items)
nk <- colSums(ls_ != 0)
puc <- 1 - sum(nk * (nk - 1) / 2) / (n * (n - 1) / 2)
H <- function(l) 1 / (1 + 1 / sum(l^2 / (1 - l^2)))
facet_rows <- list()
for (k in facets) {
  inK <- ls_[, k] != 0
  ck <- sum(lg[inK])^2 + sum(ls_[inK, k])^2
  den <- ck + sum(u[inK])
  facet_rows[[k]] <- list(
    n_items = sum(inK),
    omega = ck / den,
    omega_hs = sum(ls_[inK, k])^2 / den,
    ecv_ss = sum(ls_[inK, k]^2) / (sum(lg[inK]^2) + sum(ls_[inK, k]^2)),
    H = H(ls_[inK, k])
  )
}
iecv <- lg^2 / (lg^2 + rowSums(ls_^2))
crs <- compRelSEM(fit_bf, obs.var = FALSE)

bifactor <- c(fit_block(fit_bf), list(
  indices = list(
    omega = omega, omega_h = omega_h, relative_omega = omega_h / omega, ecv = ecv, puc = puc,
    H_general = H(lg)
  ),
  facets = facet_rows,
  iecv = as.list(iecv),
  semtools_compRelSEM_obs_var_false = as.list(crs)
))

# --- 2. acquiescence factor on bfi ---------------------------------------------------------
bfi <- read.csv(file.path(out_dir, "bfi.csv"), row.names = 1)
cols <- c("A1", "A2", "A3", "A4", "A5", "C1", "C2", "C3", "C4", "C5")
d <- bfi[complete.cases(bfi[, cols]), cols]
model_acq <- "
agree =~ A2 + A1 + A3 + A4 + A5
consc =~ C1 + C2 + C3 + C4 + C5
acq =~ 1*A2 + 1*A1 + 1*A3 + 1*A4 + 1*A5 + 1*C1 + 1*C2 + 1*C3 + 1*C4 + 1*C5
acq ~~ 0*agree + 0*consc
"
fit_acq <- cfa(model_acq, data = d)
stopifnot(lavInspect(fit_acq, "converged"))
model_facets <- "
agree =~ A2 + A1 + A3 + A4 + A5
consc =~ C1 + C2 + C3 + C4 + C5
"
fit_facets <- cfa(model_facets, data = d)
acq <- c(fit_block(fit_acq), list(
  n = nrow(d),
  lavaan_syntax = gsub("\n", "; ", trimws(model_acq)),
  facets_fit_measures = as.list(fitMeasures(fit_facets, fm_names))
))

write_json_file(list(
  source = "lavaan 0.6.14 cfa(); semTools compRelSEM; formulas of Rodriguez, Reise & Haviland (2016)",
  lavaan_version = as.character(packageVersion("lavaan")),
  semtools_version = as.character(packageVersion("semTools")),
  bifactor_hs39 = bifactor,
  acquiescence_bfi = acq
), file.path(out_dir, "bifactor_reference.json"))
