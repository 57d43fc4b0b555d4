# The analyses of `mhdq validate --bootstrap 0` on the bench36 data, in R, for the side-by-side
# timing of benchmarks/bench_validate_vs_r.py (issue 16). Not a reference: no test reads its
# output. SYNTHETIC data only (benchmarks/generate.py).
#
# Usage: Rscript benchmarks/validate_equivalent.R DATA.csv OUT.json "q04,q08,..."
# (the third argument names the reverse-keyed items). Reads with data.table::fread; runs, per scale
# (total = 36 items, f1-f3 = 12 each): psych alpha, omega (3 group factors for the total, 1 for a
# facet), splitHalf; on all items: KMO, fa.parallel (20 iterations, fa and pc), vss (8 factors),
# fa(3, minres, oblimin); lavaan CFA by full-information ML (missing = "ml", as mhdq's default) of
# the one-factor, three-factor and second-order models; semTools compRelSEM, AVE and htmt of the
# three-factor model; writes every estimate to JSON (jsonlite). Prints its own elapsed seconds.
suppressPackageStartupMessages({
  library(data.table); library(psych); library(GPArotation); library(lavaan)
  library(semTools); library(jsonlite)
})
t0 <- proc.time()
args <- commandArgs(TRUE)
d <- fread(args[1])
reversed <- strsplit(args[3], ",")[[1]]
items <- sprintf("q%02d", 1:36)
x <- as.data.frame(d[, ..items])
scales <- list(total = items, f1 = items[1:12], f2 = items[13:24], f3 = items[25:36])
keyed <- function(its) ifelse(its %in% reversed, -1, 1)
out <- list(scales = list())
set.seed(2026)
for (s in names(scales)) {
  its <- scales[[s]]
  sub <- x[, its]
  rev <- sub
  for (i in its[its %in% reversed]) rev[[i]] <- 6 - rev[[i]]
  a <- alpha(sub, keys = its[its %in% reversed], warnings = FALSE)
  om <- suppressWarnings(suppressMessages(
    omega(rev, nfactors = if (s == "total") 3 else 1, fm = "minres", plot = FALSE)))
  sh <- splitHalf(rev)
  out$scales[[s]] <- list(
    alpha = a$total$raw_alpha, std_alpha = a$total$std.alpha, item_stats = a$item.stats,
    omega_total = om$omega.tot, omega_h = om$omega_h,
    split_half = c(max = sh$maxrb, min = sh$minrb, mean = sh$meanr)
  )
}
kmo <- KMO(x)
pa <- suppressWarnings(suppressMessages(
  fa.parallel(x, n.iter = 20, fa = "both", plot = FALSE)))
v <- suppressWarnings(vss(x, n = 8, plot = FALSE))
efa <- fa(x, 3, fm = "minres", rotate = "oblimin")
out$kmo <- kmo$MSA
out$parallel <- c(nfact = pa$nfact, ncomp = pa$ncomp)
out$vss <- v$map
out$efa <- unclass(efa$loadings)
lam <- function(f, its) paste(f, "=~", paste(its, collapse = " + "))
m1 <- lam("total", items)
m3 <- paste(lam("f1", scales$f1), lam("f2", scales$f2), lam("f3", scales$f3), sep = "\n")
m2 <- paste(m3, "g =~ f1 + f2 + f3", sep = "\n")
fits <- list(one_factor = m1, three_factor = m3, second_order = m2)
out$cfa <- list()
for (m in names(fits)) {
  fit <- cfa(fits[[m]], x, missing = "ml")
  out$cfa[[m]] <- list(fit = as.list(fitMeasures(fit)), estimates = parameterEstimates(fit))
  if (m == "three_factor") three <- fit
}
out$validity <- list(
  composite_reliability = compRelSEM(three), ave = AVE(three),
  htmt = htmt(m3, x, missing = "ml")
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE), args[2])
cat(sprintf("R elapsed %.3f\n", (proc.time() - t0)[["elapsed"]]))
