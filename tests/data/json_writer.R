# Minimal JSON writer with full precision (jsonlite is not installed with Debian's R here).
# Sourced by make_competing_reference.R, make_gee_reference.R and make_mi_reference.R.
to_json <- function(x, indent = "") {
  ind <- paste0(indent, "  ")
  num <- function(v) ifelse(is.na(v), "null", ifelse(is.infinite(v), ifelse(v > 0, "1e308", "-1e308"),
                                                      format(v, digits = 17, scientific = FALSE, trim = TRUE)))
  if (is.null(x)) return("null")
  if (is.list(x)) {
    if (!is.null(names(x))) {
      items <- vapply(names(x), function(n) paste0(ind, '"', n, '": ', to_json(x[[n]], ind)), "")
      return(paste0("{\n", paste(items, collapse = ",\n"), "\n", indent, "}"))
    }
    items <- vapply(x, function(e) to_json(e, ind), "")
    return(paste0("[", paste(items, collapse = ", "), "]"))
  }
  if (is.character(x) || is.factor(x)) {
    v <- paste0('"', as.character(x), '"')
  } else if (is.logical(x)) {
    v <- ifelse(x, "true", "false")
  } else {
    v <- num(as.numeric(x))
  }
  if (!is.null(names(x))) {
    return(paste0("{", paste(paste0('"', names(x), '": ', v), collapse = ", "), "}"))
  }
  if (length(x) == 1 && is.null(attr(x, "as_array"))) return(v)
  paste0("[", paste(v, collapse = ", "), "]")
}
arr <- function(x) { x <- unname(x); attr(x, "as_array") <- TRUE; x }
write_json_file <- function(x, path) writeLines(to_json(x), path)
