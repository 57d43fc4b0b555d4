# Minimal JSON writer with full double precision (jsonlite is not installed here).
# Named lists -> objects, unnamed lists -> arrays, vectors of length 1 -> scalars (unless I()),
# data frames -> objects of column arrays, NA/NaN -> null.
json_scalar <- function(v) {
  if (is.null(v) || length(v) == 0) return("null")
  if (is.na(v)) return("null")
  if (is.logical(v)) return(if (v) "true" else "false")
  if (is.numeric(v)) {
    if (!is.finite(v)) return("null")
    return(format(v, digits = 17, scientific = FALSE, trim = TRUE))
  }
  s <- gsub("\\\\", "\\\\\\\\", as.character(v))
  s <- gsub("\"", "\\\\\"", s)
  s <- gsub("\n", "\\\\n", s)
  paste0("\"", s, "\"")
}
to_json <- function(x) {
  if (is.data.frame(x)) x <- lapply(as.list(x), function(col) I(if (is.factor(col)) as.character(col) else col))
  if (is.list(x)) {
    if (!is.null(names(x))) {
      parts <- mapply(function(k, v) paste0(json_scalar(k), ": ", to_json(v)), names(x), x)
      return(paste0("{", paste(parts, collapse = ", "), "}"))
    }
    return(paste0("[", paste(vapply(x, to_json, ""), collapse = ", "), "]"))
  }
  if (is.matrix(x)) return(to_json(lapply(seq_len(nrow(x)), function(i) I(unname(x[i, ])))))
  if (length(x) == 1 && !inherits(x, "AsIs")) return(json_scalar(unname(x)))
  paste0("[", paste(vapply(as.list(unname(x)), json_scalar, ""), collapse = ", "), "]")
}
write_json_file <- function(x, path) writeLines(to_json(x), path)
