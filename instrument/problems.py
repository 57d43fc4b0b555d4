"""Data problems as records: collected in one pass, never raised one at a time.

A user fixing a file wants every problem at once, so readers and checkers append
:class:`Problem` records to a list and carry on; :func:`problems_frame` turns them into the
problem table written beside every output.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

#: Severity levels. ``error`` rejects the cell or row it names; ``warning`` is reported but the
#: data are still used (for example a straight-lining flag); ``info`` is context.
SEVERITIES = ("error", "warning", "info")
PROBLEM_COLUMNS = ["file", "row", "column", "value", "rule", "severity", "message"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in the data.

    Attributes
    ----------
    file : str
        The file it was found in.
    row : int or None
        Row number as a spreadsheet user sees it (the header is row 1), None for file-level problems.
    column : str or None
        The column (variable) name, None for row- and file-level problems.
    value : str or None
        The offending value, shortened; None where the value is sensitive or not useful.
    rule : str
        Stable snake_case name of the rule that was broken (``code_outside_scale``, ...).
    severity : str
        ``error``, ``warning`` or ``info``.
    message : str
        What is wrong and what is allowed.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    rule: str
    severity: str
    message: str


def problems_frame(problems: list[Problem] | tuple[Problem, ...]) -> pd.DataFrame:
    """The problem records as a DataFrame with the columns of :data:`PROBLEM_COLUMNS`."""
    if not problems:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in PROBLEM_COLUMNS})
    # Plain tuples: dataclasses.asdict deep-copies every field, 20 times slower for millions.
    frame = pd.DataFrame(
        [(p.file, p.row, p.column, p.value, p.rule, p.severity, p.message) for p in problems],
        columns=PROBLEM_COLUMNS,
    )
    frame["row"] = frame["row"].astype("Int64")
    return frame


def shorten(value: object, limit: int = 40) -> str:
    """A value as short text for a problem record."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
