# Generalised S-X2 (Kang & Chen 2008) of the graded model on mirt's Science data, computed in R
# independently of analysis.irt: the expected tables by brute-force enumeration of all 4^4
# response patterns (no Lord-Wingersky recursion), at mirt's published estimates
# (mirt(Science, 1, SE=TRUE, SE.type='Louis') in mirt's test-02-mirtTwo.R), 61 nodes on [-6, 6]
# with normalised N(0, 1) weights as mirt's itemfit(); the sparse cells collapsed by mirt's own
# collapseCells() (taken, unmodified, from the mirt source file given as the argument: R/utils.R of
# philchalmers/mirt, commit 2fc2b236), the statistic and df as in mirt's itemfit(mod, 'S_X2').
# mirt itself is not installable here; this is itemfit()'s S_X2 branch without the package.
# Run: Rscript tests/data/irt/make_sx2_reference.R <mirt>/R/utils.R > tests/data/irt/sx2_reference.json
library(jsonlite)
args <- commandArgs(trailingOnly = TRUE)
exprs <- parse(args[1])
for (e in exprs) {
  if (is.call(e) && identical(e[[1]], as.name("<-")) && identical(e[[2]], as.name("collapseCells")))
    eval(e)
}
here <- "tests/data/irt"
data <- as.matrix(read.csv(file.path(here, "Science.csv"))) - 1  # categories 0..3
ref <- fromJSON(file.path(here, "mirt_reference.json"))
est <- ref$science_graded_1f$coef_with_louis_se$values_est_se_pairs[seq(1, 32, by = 2)]
pars <- split(est, rep(1:4, each = 4))
theta <- seq(-6, 6, length.out = 61)
prior <- dnorm(theta); prior <- prior / sum(prior)
trace <- lapply(pars, function(p) {
  star <- cbind(1, plogis(outer(theta, rep(p[1], 3)) + matrix(p[-1], 61, 3, byrow = TRUE)), 0)
  star[, 1:4] - star[, 2:5]                                  # (61 nodes, 4 categories)
})
J <- 4; K <- rep(4, J); maxscore <- sum(K - 1)
patterns <- as.matrix(expand.grid(rep(list(0:3), J)))
like <- sapply(seq_len(nrow(patterns)), function(r)
  Reduce(`*`, lapply(1:J, function(j) trace[[j]][, patterns[r, j] + 1])))  # (61, 256)
marg <- as.vector(prior %*% like)                                          # P(pattern)
score <- rowSums(patterns)
p_score <- tapply(marg, factor(score, levels = 0:maxscore), sum)
sumscore <- rowSums(data)
O <- E <- vector("list", J)
for (i in 1:J) {
  Ei <- matrix(NA, maxscore + 1, K[i]); Oi <- matrix(0, maxscore + 1, K[i])
  for (s in 0:maxscore) for (k in 0:(K[i] - 1)) {
    pick <- score == s & patterns[, i] == k
    # a cell exists when the other items can make up s - k (mirt's NA otherwise)
    if (s - k >= 0 && s - k <= maxscore - (K[i] - 1)) Ei[s + 1, k + 1] <- sum(marg[pick]) / p_score[s + 1]
    Oi[s + 1, k + 1] <- sum(sumscore == s & data[, i] == k)
  }
  Oi <- Oi[-c(1, maxscore + 1), ]; Ei <- Ei[-c(1, maxscore + 1), ]
  O[[i]] <- Oi; E[[i]] <- Ei * rowSums(Oi)
}
E_uncollapsed <- E
coll <- collapseCells(O, E, mincell = 1)
S_X2 <- df <- numeric(J)
for (i in 1:J) {
  S_X2[i] <- sum((coll$O[[i]] - coll$E[[i]])^2 / coll$E[[i]], na.rm = TRUE)
  df[i] <- sum(!is.na(coll$E[[i]])) - nrow(coll$E[[i]]) - 4
}
out <- list(
  call = "itemfit(mirt(Science, 1), 'S_X2') at mirt's published Louis estimates (see the script)",
  items = colnames(data), S_X2 = S_X2, df_S_X2 = df,
  p_S_X2 = pchisq(S_X2, df, lower.tail = FALSE),
  expected_uncollapsed = lapply(E_uncollapsed, function(m) { m[is.na(m)] <- -1; m }),
  note = "expected_uncollapsed: per item (score 1..11) x (category 0..3) expected counts, -1 = impossible cell")
cat(toJSON(out, digits = NA, pretty = TRUE), "\n")
