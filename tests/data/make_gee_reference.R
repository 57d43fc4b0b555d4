# Reference values for analysis/attrition/gee.py: geepack::geeglm on geepack's ohio data
# (wheeze at ages 7-10 by maternal smoking; 537 children x 4 years) and respiratory
# (444 visits of 111 patients). R 4.2, geepack 1.3.9. Iterations run to 1e-12 (geepack stops at 1e-4 by
# default, which would leave the reference values unconverged in the 5th digit).
# Usage (from the repository root): Rscript tests/data/make_gee_reference.R
suppressPackageStartupMessages(library(geepack))
source("tests/data/json_writer.R")
data(ohio, package = "geepack")
data(respiratory, package = "geepack")
write.csv(ohio, "tests/data/ohio.csv", row.names = FALSE)
resp <- respiratory
resp$treat <- as.integer(resp$treat == "A")
resp$male <- as.integer(resp$sex == "M")
resp <- resp[order(resp$center, resp$id, resp$visit), ]
resp$cluster <- resp$center * 1000 + resp$id
write.csv(resp[, c("cluster", "center", "id", "visit", "treat", "male", "age", "baseline", "outcome")],
          "tests/data/respiratory.csv", row.names = FALSE)
one <- function(fit) {
  s <- summary(fit)
  list(coef = coef(fit), se = s$coefficients[, "Std.err"], alpha = as.numeric(fit$geese$alpha),
       scale = as.numeric(fit$geese$gamma), n_clusters = length(unique(fit$id)))
}
out <- list(versions = list(R = R.version.string, geepack = as.character(packageVersion("geepack"))))
for (cs in c("independence", "exchangeable", "ar1")) {
  f <- geeglm(resp ~ age + smoke, id = id, data = ohio, family = binomial, corstr = cs,
              control = geese.control(epsilon = 1e-12, maxit = 200))
  out[[paste0("ohio_", cs)]] <- one(f)
  g <- geeglm(outcome ~ treat + male + age + baseline + visit, id = cluster, waves = visit,
              data = resp, family = binomial, corstr = cs,
              control = geese.control(epsilon = 1e-12, maxit = 200))
  out[[paste0("respiratory_", cs)]] <- one(g)
}
write_json_file(out, "tests/data/gee_reference.json")
