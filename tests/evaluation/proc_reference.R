# Reference values from R's pROC for osteoscan's DeLong implementation.
# Usage: Rscript tests/evaluation/proc_reference.R OUT.json
# Writes the data sets and, per score, AUC, DeLong variance and 95% CI; per pair of scores,
# the paired DeLong test (roc.test(method = "delong", paired = TRUE)). direction = "<" and
# explicit levels so that pROC does not guess the direction: higher score = case.
suppressPackageStartupMessages({library(pROC); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[1] else "proc_reference.json"

data(aSAH)
set.seed(42)
n <- 60
y_syn <- rep(c(0L, 1L), c(35, 25))
sets <- list(
  aSAH = list(y = as.integer(aSAH$outcome == "Poor"),
              scores = list(s100b = aSAH$s100b, ndka = aSAH$ndka, wfns = as.numeric(aSAH$wfns))),
  synthetic_ties = list(y = y_syn,
                        scores = list(a = round(rnorm(n, mean = 0.8 * y_syn), 1),
                                      b = sample(1:5, n, replace = TRUE) + y_syn,
                                      c = round(runif(n) + 0.3 * y_syn, 1)))
)

one_roc <- function(y, s) roc(y, s, levels = c(0, 1), direction = "<", quiet = TRUE)

result <- list(proc_version = as.character(packageVersion("pROC")), r_version = R.version.string,
               datasets = list())
for (name in names(sets)) {
  d <- sets[[name]]
  rocs <- lapply(d$scores, function(s) one_roc(d$y, s))
  single <- lapply(rocs, function(r) {
    ci <- ci.auc(r, method = "delong", conf.level = 0.95)
    list(auc = as.numeric(auc(r)), var = var(r, method = "delong"),
         ci_low = as.numeric(ci[1]), ci_high = as.numeric(ci[3]))
  })
  pairs <- list()
  keys <- names(rocs)
  for (i in seq_along(keys)) for (j in seq_along(keys)) if (i < j) {
    t <- roc.test(rocs[[i]], rocs[[j]], method = "delong", paired = TRUE)
    pairs[[paste(keys[i], keys[j], sep = "_vs_")]] <- list(
      a = keys[i], b = keys[j], z = as.numeric(t$statistic), p = as.numeric(t$p.value))
  }
  result$datasets[[name]] <- list(y = d$y, scores = d$scores, single = single, paired = pairs)
}
writeLines(toJSON(result, auto_unbox = TRUE, digits = NA, pretty = TRUE), out)
