# Reference values for known-groups comparisons and construct-validity hypotheses
# (analysis/longitudinal/groups.py, analysis/hypotheses.py), computed in base R from the formulas.
#
# Data: psychTools::bfi as tests/data/bfi.csv, scale scores from tests/data/bfi_scores_mean_impute_none.csv
# (psych::scoreItems(..., impute = "none") means, one row per respondent of bfi.csv in file order).
# Groups: education (1..5; respondents without education are left out). Scales: agree, neuroticism.
#
# Run from the repository: Rscript tests/data/make_known_groups_reference.R tests/data
# R 4.2.2; no add-on package is needed (rstatix, userfriendlyscience, effectsize are not installed,
# so Games-Howell and the effect-size intervals are written out from their formulas below).
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[1] else "."
bfi <- read.csv(file.path(out, "bfi.csv"), row.names = 1)
scores <- read.csv(file.path(out, "bfi_scores_mean_impute_none.csv"))
stopifnot(nrow(scores) == nrow(bfi))
d <- data.frame(education = bfi$education, agree = scores$agree, neuroticism = scores$neuroticism,
                extraversion = scores$extraversion)

num <- function(v) {
  v <- as.numeric(v)
  paste0("[", paste(ifelse(is.na(v), "null", format(v, digits = 17)), collapse = ", "), "]")
}

scale_json <- function(scale) {
  x <- d[!is.na(d$education) & !is.na(d[[scale]]), c("education", scale)]
  y <- x[[scale]]
  g <- factor(x$education)
  w <- oneway.test(y ~ g, var.equal = FALSE)
  lev <- levels(g)
  k <- length(lev)
  m <- tapply(y, g, mean)
  v <- tapply(y, g, var)
  n <- tapply(y, g, length)
  rows <- list()
  for (i in 1:(k - 1)) for (j in (i + 1):k) {
    a <- lev[i]; b <- lev[j]
    # Games & Howell (1976): Welch SE and df, studentized range distribution.
    diff <- m[[a]] - m[[b]]
    se <- sqrt(v[[a]] / n[[a]] + v[[b]] / n[[b]])
    t <- diff / se
    df <- (v[[a]] / n[[a]] + v[[b]] / n[[b]])^2 /
      ((v[[a]] / n[[a]])^2 / (n[[a]] - 1) + (v[[b]] / n[[b]])^2 / (n[[b]] - 1))
    p <- ptukey(abs(t) * sqrt(2), k, df, lower.tail = FALSE)
    q <- qtukey(0.95, k, df) / sqrt(2)
    # Hedges' g: Cohen's d with the pooled SD times 1 - 3 / (4 (n1 + n2) - 9) (Hedges & Olkin
    # 1985); CI g +/- t(.975, n1 + n2 - 2) * sqrt((n1 + n2) / (n1 n2) + g^2 / (2 (n1 + n2))).
    sp <- sqrt(((n[[a]] - 1) * v[[a]] + (n[[b]] - 1) * v[[b]]) / (n[[a]] + n[[b]] - 2))
    g_ <- diff / sp * (1 - 3 / (4 * (n[[a]] + n[[b]]) - 9))
    se_g <- sqrt((n[[a]] + n[[b]]) / (n[[a]] * n[[b]]) + g_^2 / (2 * (n[[a]] + n[[b]])))
    crit <- qt(0.975, n[[a]] + n[[b]] - 2)
    rows[[length(rows) + 1]] <- c(as.numeric(a), as.numeric(b), diff, se, t, df, p,
                                  diff - q * se, diff + q * se, g_, g_ - crit * se_g,
                                  g_ + crit * se_g)
  }
  r <- do.call(rbind, rows)
  paste0(
    '"', scale, '": {\n',
    '  "call": "oneway.test(score ~ factor(education), var.equal = FALSE); Games-Howell and Hedges g by formula",\n',
    '  "n_obs": ', length(y), ',\n',
    '  "welch_f": ', num(w$statistic), ',\n',
    '  "welch_df1": ', num(w$parameter[1]), ',\n',
    '  "welch_df2": ', num(w$parameter[2]), ',\n',
    '  "welch_p": ', num(w$p.value), ',\n',
    '  "group_n": ', num(n), ',\n',
    '  "group_mean": ', num(m), ',\n',
    '  "group_sd": ', num(sqrt(v)), ',\n',
    '  "pair_a": ', num(r[, 1]), ',\n',
    '  "pair_b": ', num(r[, 2]), ',\n',
    '  "diff": ', num(r[, 3]), ',\n',
    '  "se": ', num(r[, 4]), ',\n',
    '  "t": ', num(r[, 5]), ',\n',
    '  "df": ', num(r[, 6]), ',\n',
    '  "p_tukey": ', num(r[, 7]), ',\n',
    '  "diff_ci_low": ', num(r[, 8]), ',\n',
    '  "diff_ci_high": ', num(r[, 9]), ',\n',
    '  "hedges_g": ', num(r[, 10]), ',\n',
    '  "g_ci_low": ', num(r[, 11]), ',\n',
    '  "g_ci_high": ', num(r[, 12]), '\n',
    '}'
  )
}

cor_json <- function(a, b) {
  ok <- stats::complete.cases(d[, c(a, b)])
  ct <- cor.test(d[[a]][ok], d[[b]][ok], method = "pearson", conf.level = 0.95)
  paste0(
    '"cor_', a, '_', b, '": {"call": "cor.test(', a, ', ', b, ', conf.level = 0.95)", ',
    '"n_obs": ', sum(ok), ', "r": ', num(ct$estimate), ', "ci_low": ', num(ct$conf.int[1]),
    ', "ci_high": ', num(ct$conf.int[2]), ', "p": ', num(ct$p.value), '}'
  )
}

json <- paste0(
  "{\n",
  '"source": "psychTools::bfi (tests/data/bfi.csv), psych::scoreItems means (bfi_scores_mean_impute_none.csv), groups = education",\n',
  '"versions": {"R": "', R.version.string, '"},\n',
  scale_json("agree"), ",\n",
  scale_json("neuroticism"), ",\n",
  cor_json("agree", "neuroticism"), ",\n",
  cor_json("extraversion", "agree"), "\n}\n"
)
writeLines(json, file.path(out, "known_groups_reference.json"))
