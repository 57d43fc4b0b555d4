# Reference values for test-retest ICCs (analysis/longitudinal) from psych::ICC on public data.
#
# Data: psychTools::msqR (Revelle's Motivational State Questionnaire, repeated administrations of
# the same people), study "XRAY": 200 participants answered at time 1 and time 2 (before and after
# a film; same session). Two Thayer scales as the psychTools help page keys them (items 0..3,
# "-" = reverse keyed, reversed as 3 - x):
#   EA (energetic arousal) = active energetic vigorous wakeful wide.awake full.of.pep lively
#                            -sleepy -tired -drowsy
#   TA (tense arousal)     = intense jittery fearful tense clutched.up -quiet -still -placid
#                            -calm -at.rest
# Participants with every item of both scales answered at both times are kept, so a scale score
# is the plain mean of its keyed items.
#
# Run: Rscript tests/data/make_icc_reference.R tests/data
# Writes msqR_xray_waves.csv (long: id, time, items) and icc_reference.json.
# R 4.2.2, psych 2.2.9, psychTools 2.2.9. jsonlite is not installed: JSON is written by hand
# with format(x, digits = 17).
suppressPackageStartupMessages({
  library(psych)
  library(psychTools)
})
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[1] else "."

EA <- c("active", "energetic", "vigorous", "wakeful", "wide.awake", "full.of.pep", "lively",
        "-sleepy", "-tired", "-drowsy")
TA <- c("intense", "jittery", "fearful", "tense", "clutched.up", "-quiet", "-still", "-placid",
        "-calm", "-at.rest")
items <- unique(sub("^-", "", c(EA, TA)))

data(msqR, package = "psychTools")
x <- msqR[msqR$study == "XRAY" & msqR$time %in% c(1, 2), c("id", "time", items)]
complete <- x[stats::complete.cases(x), ]
both <- as.numeric(names(which(table(complete$id) == 2)))
x <- complete[complete$id %in% both, ]
x <- x[order(x$time, x$id), ]
rownames(x) <- NULL
csv_names <- gsub(".", "_", names(x), fixed = TRUE)
write.csv(stats::setNames(x, csv_names), file.path(out, "msqR_xray_waves.csv"), row.names = FALSE)

score <- function(d, keys) {
  cols <- lapply(keys, function(k) {
    if (startsWith(k, "-")) 3 - d[[sub("^-", "", k)]] else d[[k]]
  })
  rowMeans(do.call(cbind, cols))
}

num <- function(v) {
  v <- as.numeric(v)
  paste0("[", paste(ifelse(is.na(v), "null", format(v, digits = 17)), collapse = ", "), "]")
}

scale_json <- function(name, keys) {
  t1 <- x[x$time == 1, ]
  t2 <- x[x$time == 2, ]
  t2 <- t2[match(t1$id, t2$id), ]
  wide <- cbind(time1 = score(t1, keys), time2 = score(t2, keys))
  r <- psych::ICC(wide, lmer = FALSE, alpha = 0.05)
  res <- r$results
  ms_subjects <- r$stats["MS", "subjects"]
  ms_waves <- r$stats["MS", "Judges"]
  ms_error <- r$stats["MS", "Residual"]
  n <- nrow(wide)
  # de Vet et al. (2006): SEM from the two-way ANOVA variance components; a negative wave
  # component is taken as 0.
  sem_agreement <- sqrt(ms_error + max(0, (ms_waves - ms_error) / n))
  sem_consistency <- sqrt(ms_error)
  # Jacobson & Truax (1991): RCI = (x2 - x1) / sqrt(2 * (s1 * sqrt(1 - r))^2), r = ICC(3,1),
  # s1 = baseline SD.
  s1 <- sd(wide[, 1])
  # Means per wave over everyone scored at that wave (here the same 175), t.test(x)$conf.int
  wave_all <- list(score(t1, keys), score(t2, keys))
  rci <- (wide[, 2] - wide[, 1]) / sqrt(2 * (s1 * sqrt(1 - res$ICC[3]))^2)
  # columns of r$results: type ICC F df1 df2 p lower bound upper bound
  paste0(
    '"', name, '": {\n',
    '  "call": "psych::ICC(cbind(time1, time2), lmer = FALSE, alpha = 0.05)",\n',
    '  "n_obs": ', nrow(wide), ',\n',
    '  "type": [', paste0('"', res$type, '"', collapse = ", "), '],\n',
    '  "icc": ', num(res$ICC), ',\n',
    '  "f": ', num(res$F), ',\n',
    '  "df1": ', num(res$df1), ',\n',
    '  "df2": ', num(res$df2), ',\n',
    '  "p": ', num(res$p), ',\n',
    '  "ci_low": ', num(res[["lower bound"]]), ',\n',
    '  "ci_high": ', num(res[["upper bound"]]), ',\n',
    '  "ms_subjects": ', num(ms_subjects), ',\n',
    '  "ms_waves": ', num(ms_waves), ',\n',
    '  "ms_error": ', num(ms_error), ',\n',
    '  "sem_agreement": ', num(sem_agreement), ',\n',
    '  "sem_consistency": ', num(sem_consistency), ',\n',
    '  "sdc_agreement": ', num(1.96 * sqrt(2) * sem_agreement), ',\n',
    '  "sdc_consistency": ', num(1.96 * sqrt(2) * sem_consistency), ',\n',
    '  "rci_reliability_icc3": ', num(rci), ',\n',
    '  "rci_ids": ', num(t1$id), ',\n',
    '  "wave_mean_ci": ', num(c(t.test(wave_all[[1]])$conf.int, t.test(wave_all[[2]])$conf.int)), ',\n',
    '  "wave_n": ', num(sapply(wave_all, length)), ',\n',
    '  "mean_time1": ', num(mean(wide[, 1])), ',\n',
    '  "mean_time2": ', num(mean(wide[, 2])), ',\n',
    '  "sd_time1": ', num(sd(wide[, 1])), ',\n',
    '  "pearson_r": ', num(cor(wide[, 1], wide[, 2])), '\n',
    '}'
  )
}

json <- paste0(
  "{\n",
  '"source": "psychTools::msqR, study XRAY, times 1 and 2, complete cases on EA and TA items",\n',
  '"versions": {"R": "', R.version.string, '", "psych": "', packageVersion("psych"),
  '", "psychTools": "', packageVersion("psychTools"), '"},\n',
  scale_json("EA", EA), ",\n",
  scale_json("TA", TA), "\n}\n"
)
writeLines(json, file.path(out, "icc_reference.json"))
