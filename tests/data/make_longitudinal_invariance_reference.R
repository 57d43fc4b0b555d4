# Reference values for longitudinal measurement invariance (analysis/longitudinal/invariance.py)
# from lavaan on public data.
#
# Data: psychTools::msqR (Revelle's Motivational State Questionnaire), study "XRAY": 200
# participants answered the same items at time 1 and time 2 (before and after a film). Unlike
# msqR_xray_waves.csv (complete cases, for the ICCs), every answer is kept here: 26 of the 400
# person-waves miss at least one item, 2 miss them all, so the models are fitted by FIML.
# Two Thayer scales, items as answered (0..3, reverse-keyed items are modelled raw and get
# negative loadings):
#   EA = active energetic vigorous wakeful wide.awake full.of.pep lively sleepy tired drowsy
#   TA = intense jittery fearful tense clutched.up quiet still placid calm at.rest
# For each scale, one model with a factor per time (marker: the first item), the same item's
# residuals correlated across times, fitted with cfa(model, data, missing = "ml") (ML, FIML,
# observed information); three nested models as lavaan/semTools users write them:
#   configural: same pattern, loadings and intercepts free at each time, latent means 0;
#   metric:     loadings equal across times (labels);
#   scalar:     loadings and intercepts equal across times, latent mean at time 1 fixed to 0 and
#               free at time 2;
# and lavTestLRT(configural, metric, scalar).
#
# Run: Rscript tests/data/make_longitudinal_invariance_reference.R tests/data
# Writes msqR_xray_waves_fiml.csv (long: id, time, items; blank = not answered) and
# longitudinal_invariance_reference.json. R 4.2, lavaan 0.6-14, psychTools 2.2.9; JSON by
# json_writer.R (full precision).
suppressPackageStartupMessages({
  library(lavaan)
  library(psychTools)
})
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[1] else "."
here <- dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))
source(file.path(here, "json_writer.R"))

scales <- list(
  EA = c("active", "energetic", "vigorous", "wakeful", "wide.awake", "full.of.pep", "lively",
         "sleepy", "tired", "drowsy"),
  TA = c("intense", "jittery", "fearful", "tense", "clutched.up", "quiet", "still", "placid",
         "calm", "at.rest")
)
items <- unlist(scales, use.names = FALSE)
data(msqR, package = "psychTools")
x <- msqR[msqR$study == "XRAY" & msqR$time %in% c(1, 2), c("id", "time", items)]
x <- x[order(x$time, x$id), ]
rownames(x) <- NULL
names(x) <- gsub(".", "_", names(x), fixed = TRUE)
write.csv(x, file.path(out, "msqR_xray_waves_fiml.csv"), row.names = FALSE, na = "")
scales <- lapply(scales, function(s) gsub(".", "_", s, fixed = TRUE))

# wide: one row per id, item_t1 ... item_t2
t1 <- x[x$time == 1, ]
t2 <- x[x$time == 2, ]
t2 <- t2[match(t1$id, t2$id), ]
wide <- data.frame(id = t1$id)
for (it in unlist(scales)) {
  wide[[paste0(it, "_t1")]] <- t1[[it]]
  wide[[paste0(it, "_t2")]] <- t2[[it]]
}

syntax <- function(f, its, step) {
  lines <- character()
  for (w in 1:2) {
    terms <- vapply(seq_along(its), function(k) {
      v <- paste0(its[k], "_t", w)
      if (k > 1 && step != "configural") paste0("l", k, "*", v) else v
    }, "")
    lines <- c(lines, paste0(f, "_t", w, " =~ ", paste(terms, collapse = " + ")))
  }
  lines <- c(lines, paste0(its, "_t1 ~~ ", its, "_t2"))
  if (step == "scalar") {
    for (w in 1:2) lines <- c(lines, paste0(its, "_t", w, " ~ i", seq_along(its), "*1"))
    lines <- c(lines, paste0(f, "_t1 ~ 0*1"), paste0(f, "_t2 ~ NA*1"))
  }
  paste(lines, collapse = "\n")
}

measures <- c("npar", "fmin", "chisq", "df", "pvalue", "baseline.chisq", "baseline.df", "cfi",
              "tli", "logl", "unrestricted.logl", "aic", "bic", "ntotal", "rmsea",
              "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.pvalue", "srmr")
result <- list(
  source = "psychTools::msqR, study XRAY, times 1 and 2, every answer kept (FIML)",
  versions = list(R = R.version.string, lavaan = as.character(packageVersion("lavaan")),
                  psychTools = as.character(packageVersion("psychTools")))
)
for (f in names(scales)) {
  its <- scales[[f]]
  fits <- list()
  res <- list(items = arr(its))
  for (step in c("configural", "metric", "scalar")) {
    m <- syntax(f, its, step)
    fit <- cfa(m, data = wide, missing = "ml", estimator = "ML")
    fits[[step]] <- fit
    # lavaan's default nlminb tolerance (rel.tol 1e-10) limits the estimates to ~1e-5; a tighter
    # one (1e-12, 1e-14) ends in nlminb's false convergence without standard errors, so the
    # default fit is the reference
    pe <- parameterEstimates(fit, standardized = TRUE)
    res[[step]] <- list(
      call = "cfa(model, data = wide, missing = 'ml', estimator = 'ML')",
      model = gsub("\n", "\\n", m, fixed = TRUE),  # JSON escape of the line breaks
      converged = lavInspect(fit, "converged"),
      fit = as.list(fitMeasures(fit, measures)),
      estimates = list(lhs = arr(pe$lhs), op = arr(pe$op), rhs = arr(pe$rhs), est = arr(pe$est),
                       se = arr(pe$se), std_all = arr(pe$std.all))
    )
  }
  lrt <- lavTestLRT(fits$configural, fits$metric, fits$scalar)
  res$lrt <- list(call = "lavTestLRT(configural, metric, scalar)",
                  chisq = arr(lrt[["Chisq"]]), df = arr(lrt[["Df"]]),
                  delta_chisq = arr(lrt[["Chisq diff"]]), delta_df = arr(lrt[["Df diff"]]),
                  delta_pvalue = arr(lrt[["Pr(>Chisq)"]]))
  result[[f]] <- res
}
write_json_file(result, file.path(out, "longitudinal_invariance_reference.json"))
