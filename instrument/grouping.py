"""Disclosure control for results broken down by group (``mhdq validate --group-by``).

Group labels are printed in reports, tables and JSON. Grouping by a free-text question would put
every free-text answer into them; grouping by a question marked ``sensitive`` (HIV status,
substance use) would publish who answered what in small samples; and a group of two or three
respondents can identify them. So grouping is refused for free-text questions always, for
sensitive questions unless explicitly allowed, and when any group holds fewer respondents than a
stated minimum (default 5, the usual small-cell threshold of statistical agencies). Messages
never show the labels of the small groups.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from instrument.errors import UsageError
from instrument.spec import Instrument

#: Fewest respondents a reported group may hold.
MIN_GROUP_SIZE = 5
#: Columns that identify a respondent or a source row: never a grouping.
IDENTIFYING_COLUMNS = ("respondent_id", "source_file", "source_row")


def check_grouping(instrument: Instrument, column: str, *, allow_sensitive: bool = False) -> None:
    """Refuse a grouping column that would disclose free text, identities or sensitive answers.

    Parameters
    ----------
    instrument : Instrument
    column : str
        The ``--group-by`` column: a background question id or a metadata column.
    allow_sensitive : bool, default False
        Allow a background question marked ``sensitive: true``.

    Raises
    ------
    UsageError
        For an identifying column, a free-text question, or a sensitive one not allowed.

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> spec = load_instrument("tests/data/scoring_spec.yaml")
    >>> check_grouping(spec, "gender")
    >>> check_grouping(spec, "comments")
    Traceback (most recent call last):
    ...
    instrument.errors.UsageError: --group-by comments: a free-text question cannot be a grouping ...
    """
    if not isinstance(instrument, Instrument):
        raise TypeError(f"instrument: expected an Instrument, got {type(instrument).__name__}")
    if column in IDENTIFYING_COLUMNS:
        raise UsageError(
            f"--group-by {column}: identifies respondents or rows, so it cannot be a grouping"
        )
    question = next((q for q in instrument.background if q.id == column), None)
    if question is None:
        return
    if question.type == "text":
        raise UsageError(
            f"--group-by {column}: a free-text question cannot be a grouping (every answer would "
            "appear as a group label in the report, tables and JSON); choose a choice question"
        )
    if question.sensitive and not allow_sensitive:
        raise UsageError(
            f"--group-by {column}: the question is marked sensitive in the instrument; results "
            "by its answers are disclosive, so grouping by it needs --allow-sensitive-group"
        )


def check_group_sizes(
    sizes: Mapping[str, int] | pd.Series, column: str, *, minimum: int = MIN_GROUP_SIZE
) -> None:
    """Refuse a grouping in which any group holds fewer than ``minimum`` respondents.

    Parameters
    ----------
    sizes : mapping or Series
        Respondents per group label (labels are never shown in the message).
    column : str
        The grouping column, for the message.
    minimum : int, default 5

    Raises
    ------
    UsageError
        Naming how many groups are too small and the smallest size, not which they are.

    Examples
    --------
    >>> check_group_sizes({"man": 40, "woman": 38}, "gender")
    >>> check_group_sizes({"man": 40, "other": 2}, "gender")
    Traceback (most recent call last):
    ...
    instrument.errors.UsageError: --group-by gender: 1 group(s) hold fewer than 5 respondents ...
    """
    if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 1:
        raise ValueError(f"minimum: must be a whole number of 1 or more, got {minimum!r}")
    counts = pd.Series(sizes, dtype="int64") if not isinstance(sizes, pd.Series) else sizes
    small = counts[counts < minimum]
    if len(small):
        raise UsageError(
            f"--group-by {column}: {len(small)} group(s) hold fewer than {minimum} respondents "
            f"(smallest: {int(small.min())}); groups that small could identify people, so no "
            "results were written (disclosure control). Merge small categories in the data, or "
            "set --min-group-size"
        )
