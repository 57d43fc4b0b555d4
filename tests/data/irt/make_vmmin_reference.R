# R's optim(method = "BFGS") (C routine vmmin) on Rosenbrock's function, the example of ?optim,
# at full precision: the reference for analysis.irt.mirt_em.vmmin (a port of vmmin).
# Run: Rscript tests/data/irt/make_vmmin_reference.R > tests/data/irt/vmmin_reference.json
fr <- function(x) 100 * (x[2] - x[1] * x[1])^2 + (1 - x[1])^2
grr <- function(x) c(-400 * x[1] * (x[2] - x[1] * x[1]) - 2 * (1 - x[1]), 200 * (x[2] - x[1] * x[1]))
runs <- list()
for (maxit in c(5L, 20L, 100L)) {
  o <- optim(c(-1.2, 1), fr, grr, method = "BFGS", control = list(maxit = maxit))
  runs[[length(runs) + 1]] <- sprintf('{"maxit": %d, "par": [%s, %s], "value": %s, "counts": [%d, %d]}',
    maxit, format(o$par[1], digits = 17), format(o$par[2], digits = 17),
    format(o$value, digits = 17), o$counts[1], o$counts[2])
}
cat('{\n "call": "optim(c(-1.2, 1), fr, grr, method = \\"BFGS\\", control = list(maxit = maxit))",\n',
    ' "R": "', R.version.string, '",\n "runs": [\n  ', paste(runs, collapse = ",\n  "), '\n ]\n}\n', sep = "")
