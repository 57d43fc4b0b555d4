# Rotations of one unrotated loading matrix, for tests/test_rotation.py.
# Rscript tests/data/make_rotation_reference.R  (R 4.2, psych 2.2.9, GPArotation 2022.10-2, jsonlite)
suppressPackageStartupMessages({library(psych); library(GPArotation); library(jsonlite)})
bfi <- read.csv("tests/data/bfi.csv", row.names = 1)[, 1:25]
unrotated <- unclass(fa(bfi, nfactors = 5, fm = "minres", rotate = "none")$loadings)
dimnames(unrotated) <- NULL
ob <- GPArotation::oblimin(unrotated)                 # gam = 0, normalize = FALSE, eps = 1e-5
ge <- GPArotation::geominQ(unrotated)                 # delta = .01
vm <- stats::varimax(unrotated)                       # normalize = TRUE, eps = 1e-5
pm <- psych::kaiser(unrotated, rotate = "Promax")     # psych::fa(rotate = "promax")
out <- list(
  unrotated = unrotated,
  oblimin = list(loadings = unclass(ob$loadings), phi = ob$Phi),
  geomin = list(loadings = unclass(ge$loadings), phi = ge$Phi),
  varimax = list(loadings = unclass(vm$loadings)),
  promax = list(loadings = unclass(pm$loadings), phi = pm$Phi)
)
writeLines(toJSON(out, digits = NA, matrix = "rowmajor"), "tests/data/rotation_reference.json")
