# The analyses of `mhdq validate --bootstrap 0 --no-irt` on the bench36 data, in R, for the
# side-by-side timing of benchmarks/bench_validate_vs_r.py (issue 16). Not a reference: no test
# reads its output. SYNTHETIC data only (benchmarks/generate.py).
#
# Usage: Rscript benchmarks/validate_equivalent.R DATA.csv OUT.json MODELS.json MISSING
# MODELS.json (written by the benchmark from analysis.study.models, so both sides fit the same
# generated models): {"reversed": [...], "cfa": {name: lavaan syntax}, "method": {name: syntax},
# "validity": name}. MISSING: "ml" (full-information ML, what `mhdq validate` uses when a model item
# has a gap) or "listwise" (what it uses on complete data; the same fit as lavaan's default).
#
# Step by step, as validate.py runs them: per scale (total = 36 items, f1-f3 = 12 each) psych alpha
# (item statistics included), omega with one factor, omega with the three facets for the total, and
# splitHalf; on the 36 items psych polychoric, KMO, cortest.bartlett, fa.parallel (20 iterations,
# fa = "both"), vss (its MAP), fa(3, minres, oblimin); lavaan CFA of the hypothesised models; with
# MISSING = "ml" every model again on the complete rows (validate's listwise sensitivity columns);
# the bifactor and acquiescence models; the validity model refitted and semTools compRelSEM, AVE and
# htmt. Every estimate goes to JSON (jsonlite). Prints the seconds of each step.
suppressPackageStartupMessages({
  library(data.table); library(psych); library(GPArotation); library(lavaan)
  library(semTools); library(jsonlite)
})
t0 <- proc.time()[["elapsed"]]
last <- t0
lap <- function(what) {
  now <- proc.time()[["elapsed"]]
  cat(sprintf("R_STEP %s %.3f\n", what, now - last))
  last <<- now
}
args <- commandArgs(TRUE)
d <- fread(args[1])
spec <- fromJSON(args[3])
missing_rule <- args[4]
reversed <- spec$reversed
items <- sprintf("q%02d", 1:36)
x <- as.data.frame(d[, ..items])
lap("read")
scales <- list(total = items, f1 = items[1:12], f2 = items[13:24], f3 = items[25:36])
out <- list(scales = list())
set.seed(2026)
for (s in names(scales)) {
  its <- scales[[s]]
  sub <- x[, its]
  rev <- sub
  for (i in its[its %in% reversed]) rev[[i]] <- 6 - rev[[i]]
  a <- alpha(sub, keys = its[its %in% reversed], warnings = FALSE)
  om1 <- suppressWarnings(suppressMessages(omega(rev, nfactors = 1, fm = "minres", plot = FALSE)))
  res <- list(
    alpha = a$total$raw_alpha, std_alpha = a$total$std.alpha, item_stats = a$item.stats,
    alpha_drop = a$alpha.drop, omega_total = om1$omega.tot
  )
  if (s == "total") {
    om3 <- suppressWarnings(suppressMessages(
      omega(rev, nfactors = 3, fm = "minres", plot = FALSE)))
    res$omega_h <- om3$omega_h
    res$omega_total_sl <- om3$omega.tot
  }
  sh <- splitHalf(rev)
  res$split_half <- c(max = sh$maxrb, min = sh$minrb, mean = sh$meanr)
  out$scales[[s]] <- res
}
lap("reliability")
pc <- suppressWarnings(suppressMessages(polychoric(x)))
out$polychoric <- pc$rho
lap("polychoric")
r <- cor(x, use = "pairwise")
out$kmo <- KMO(r)$MSA
out$bartlett <- cortest.bartlett(r, n = nrow(x))$chisq
lap("factorability")
pa <- suppressWarnings(suppressMessages(
  fa.parallel(x, n.iter = 20, fa = "both", plot = FALSE)))
v <- suppressWarnings(vss(x, n = 8, plot = FALSE))
out$parallel <- c(nfact = pa$nfact, ncomp = pa$ncomp)
out$map <- v$map
lap("retention")
efa <- fa(x, pa$nfact, fm = "minres", rotate = "oblimin")
out$efa <- unclass(efa$loadings)
lap("efa")
fit_one <- function(model, data, rule) {
  fit <- cfa(model, data, missing = rule)
  list(fit = fit, out = list(fit = as.list(fitMeasures(fit)),
                             estimates = standardizedSolution(fit)))
}
out$cfa <- list()
fits <- list()
for (m in names(spec$cfa)) {
  got <- fit_one(spec$cfa[[m]], x, missing_rule)
  fits[[m]] <- got$fit
  out$cfa[[m]] <- got$out
}
lap("cfa")
if (missing_rule == "ml") {
  complete <- x[complete.cases(x), ]
  out$listwise <- lapply(spec$cfa, function(m) as.list(fitMeasures(cfa(m, complete))))
  lap("cfa_listwise")
}
out$method <- lapply(spec$method, function(m) fit_one(m, x, missing_rule)$out)
lap("bifactor")
vfit <- cfa(spec$cfa[[spec$validity]], x, missing = missing_rule)
out$validity <- list(
  composite_reliability = compRelSEM(vfit), ave = AVE(vfit),
  htmt = htmt(spec$cfa[[spec$validity]], x, missing = missing_rule)
)
lap("validity")
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, force = TRUE), args[2])
lap("write")
cat(sprintf("R elapsed %.3f\n", proc.time()[["elapsed"]] - t0))
