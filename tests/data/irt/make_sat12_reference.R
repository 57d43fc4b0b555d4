# SAT12 (mirt's data/SAT12.RData, 600 x 32 multiple-choice answers) scored 0/1 with the key of
# mirt's tests/testthat/test-03-bfactor.R, as mirt's key2binary() does (an NA answer stays NA),
# written to tests/data/irt/SAT12_binary.csv; mirt's published bfactor() coefficients for it are in
# bfactor_reference.json (copied by hand from that test file).
# Run: Rscript tests/data/irt/make_sat12_reference.R <mirt>/data/SAT12.RData
args <- commandArgs(trailingOnly = TRUE)
load(args[1])
key <- c(1,4,5,2,3,1,2,1,3,1,2,4,2,1,5,3,4,4,1,4,3,3,4,1,3,5,1,3,1,5,4,5)
X <- matrix(0L, nrow(SAT12), ncol(SAT12), dimnames = list(NULL, colnames(SAT12)))
for (i in seq_len(ncol(X))) X[, i] <- SAT12[, i] %in% key[i] + 0L
X[is.na(SAT12)] <- NA
write.csv(X, "tests/data/irt/SAT12_binary.csv", row.names = FALSE, na = "")
