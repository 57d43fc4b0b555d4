# Reference values for the time-varying, clustered Cox and clustered logistic models.
#
#   Rscript tests/data/make_rossi_reference.R tests/data
#
# writes rossi_long.csv (carData::Rossi in the person-week counting-process form that Fox &
# Weisberg's appendix "Cox Proportional-Hazards Regression for Survival Data in R" builds with
# its unfold() function) and survival_clustered_reference.json. Computed with R 4.2, survival
# 3.5-3, carData 3.0-5. jsonlite is not installed: the JSON is written by hand with 17 digits.
suppressPackageStartupMessages({ library(survival); library(carData) })
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[1] else "."

# ---- Rossi in long (start, stop] form, one row per person-week, as the appendix's unfold():
# week k of person i is the interval (k - 1, k]; arrest.time = 1 in the week of the arrest;
# employed = emp<k> (1 = yes). Factors coded 0/1 as coxph's treatment contrasts do.
R <- Rossi
emp <- as.matrix(R[, paste0("emp", 1:52)])
rows <- lapply(seq_len(nrow(R)), function(i) {
  w <- R$week[i]
  data.frame(id = i, start = 0:(w - 1), stop = 1:w,
             arrest.time = c(rep(0, w - 1), R$arrest[i]),
             fin = as.integer(R$fin[i] == "yes"), age = R$age[i],
             race = as.integer(R$race[i] == "other"), wexp = as.integer(R$wexp[i] == "yes"),
             mar = as.integer(R$mar[i] == "not married"), paro = as.integer(R$paro[i] == "yes"),
             prio = R$prio[i], employed = as.integer(emp[i, 1:w] == "yes"))
})
long <- do.call(rbind, rows)
stopifnot(nrow(long) == 19809, !anyNA(long))
write.csv(long, file.path(out, "rossi_long.csv"), row.names = FALSE)

num <- function(x) paste0("[", paste(format(unname(x), digits = 17), collapse = ", "), "]")
str_ <- function(x) paste0("[", paste0('"', x, '"', collapse = ", "), "]")
entry <- function(name, fields) {
  paste0('  "', name, '": {\n', paste0('    "', names(fields), '": ', fields, collapse = ",\n"), "\n  }")
}
cox_fields <- function(fit) {
  s <- summary(fit)$coefficients
  f <- list(terms = str_(names(coef(fit))), coef = num(coef(fit)),
            se = num(sqrt(diag(vcov(fit)))), loglik = num(fit$loglik),
            n = num(fit$n), nevent = num(fit$nevent),
            concordance = num(fit$concordance[["concordance"]]))
  if (!is.null(fit$naive.var)) f$naive_se <- num(sqrt(diag(fit$naive.var)))
  f
}
entries <- list()
terms <- "fin + age + race + wexp + mar + paro + prio"
for (ties in c("efron", "breslow")) {
  # Fox & Weisberg's time-varying model: coxph(Surv(start, stop, arrest.time) ~ fin + age +
  # race + wexp + mar + paro + prio + employed, data = Rossi.2)
  fit <- coxph(as.formula(paste("Surv(start, stop, arrest.time) ~", terms, "+ employed")),
               data = long, ties = ties)
  entries[[paste0("rossi_tv_", ties)]] <- cox_fields(fit)
  # the same with robust SEs clustered by person
  fit <- coxph(as.formula(paste("Surv(start, stop, arrest.time) ~", terms, "+ employed")),
               data = long, ties = ties, cluster = id)
  entries[[paste0("rossi_tv_cluster_", ties)]] <- cox_fields(fit)
}

# ---- members nested in groups: lung patients within institutions (inst)
lung2 <- survival::lung
lung2$status <- lung2$status - 1
lung2$sex <- lung2$sex - 1
lung2 <- na.omit(lung2[, c("time", "status", "age", "sex", "ph.ecog", "inst")])
write.csv(lung2, file.path(out, "lung_inst.csv"), row.names = FALSE)
for (ties in c("efron", "breslow")) {
  fit <- coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung2, ties = ties,
               cluster = inst)
  entries[[paste0("lung_cluster_", ties)]] <- cox_fields(fit)
}
# shared gamma frailty: theta by survival's outer search (frailty.controlgam). fit$history[[1]]
# holds every theta tried with its penalised-fit loglik and integrated loglik (c.loglik); the
# coefficients belong to the last row's theta (what print(fit) shows as "Variance of random
# effect"), while history$theta is the next Brent proposal, computed after the search stopped.
# se = sqrt(diag(fit$var)) (inverse penalised information, vcov(fit)); se2 = sqrt(diag(fit$var2)).
frailty_fields <- function(fit, terms) {
  h <- fit$history[[1]]$history
  if (is.null(h)) h <- matrix(fit$history[[1]]$theta, 1, 3)  # theta fixed: no search
  list(terms = str_(terms), coef = num(coef(fit)),
       se = num(sqrt(diag(vcov(fit)))), se2 = num(sqrt(diag(fit$var2))),
       theta = num(fit$history[[1]]$theta), theta_fitted = num(h[nrow(h), 1]),
       history_theta = num(h[, 1]),
       history_loglik = if (is.null(fit$history[[1]]$history)) "[]" else num(h[, 2]),
       history_c_loglik = if (is.null(fit$history[[1]]$history)) "[]" else num(h[, 3]), loglik = num(fit$loglik),
       integrated_loglik = num(fit$history[[1]]$c.loglik), frail = num(fit$frail),
       df = num(fit$df), iter = num(fit$iter), n = num(fit$n), nevent = num(fit$nevent))
}
fit <- coxph(Surv(time, status) ~ age + sex + ph.ecog + frailty(inst), data = lung2)
entries[["lung_frailty"]] <- frailty_fields(fit, c("age", "sex", "ph.ecog"))
fit <- coxph(Surv(time, status) ~ age + sex + frailty(inst, distribution = "gamma"), data = lung2)
entries[["lung_frailty_age_sex"]] <- frailty_fields(fit, c("age", "sex"))
# theta fixed (method = "fixed"): one penalised fit, no search
fit <- coxph(Surv(time, status) ~ age + sex + ph.ecog + frailty(inst, theta = 0.5), data = lung2)
entries[["lung_frailty_theta_0.5"]] <- frailty_fields(fit, c("age", "sex", "ph.ecog"))

# ---- logistic with cluster-robust SEs. sandwich is not installed: vcovCL(type = "HC1") by hand,
# V = G/(G-1) * (N-1)/(N-K) * B M B, B = (X'WX)^-1, M = sum_g s_g s_g', s_g = sum_{i in g} x_i (y_i - mu_i)
# epsilon = 1e-14: vcov(glm) uses the weights of the last-but-one IRLS step; converging further
# makes them those at the estimate (the default 1e-8 leaves a 1e-6 gap in the SEs)
g <- glm(status ~ age + sex + ph.ecog, family = binomial, data = lung2,
         control = glm.control(epsilon = 1e-14, maxit = 100))
X <- model.matrix(g); u <- X * (lung2$status - fitted(g))
S <- rowsum(u, lung2$inst); B <- vcov(g)
G <- nrow(S); N <- nrow(X); K <- ncol(X)
V <- G / (G - 1) * (N - 1) / (N - K) * B %*% crossprod(S) %*% B
entries[["logit_cluster"]] <- list(terms = str_(colnames(X)), coef = num(coef(g)),
                                   se = num(sqrt(diag(V))), n_clusters = num(G))

body <- paste(mapply(entry, names(entries), entries), collapse = ",\n")
writeLines(paste0("{\n", body, "\n}"), file.path(out, "survival_clustered_reference.json"))
