"""Writing and reading safely: atomic table writers (``write``), input bounds (``safety``) and
defences against hostile content (``security``: XML entities, spreadsheet formulas)."""
