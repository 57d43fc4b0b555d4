"""How much listwise deletion would cost, and which items cause it.

Full-information ML (:mod:`analysis.sem.fiml`) uses every respondent; listwise deletion keeps only the
respondents who answered every model item. :func:`complete_case_report` says how many that is and
which items' missing and not-applicable answers account for the loss, for the report line a
validation study owes its readers when listwise deletion would keep fewer than 70% of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from analysis._results import Result

__all__ = ["CompleteCaseReport", "complete_case_report"]


@dataclass(frozen=True, slots=True, repr=False)
class CompleteCaseReport(Result):
    """Complete-case share of a set of items and each item's part in the loss.

    Attributes
    ----------
    n_rows : int
        Respondents with at least one answer to the items.
    n_complete : int
        Respondents who answered every item (what listwise deletion keeps).
    share_complete : float
        ``n_complete / n_rows``.
    items : pandas.DataFrame
        One row per item (index ``item``), sorted by ``n_not_applicable`` then ``n_missing``
        (largest first): ``n_missing`` (no usable answer, not-applicable included),
        ``n_not_applicable``, ``n_only_gap`` (respondents for whom this item is the only
        unanswered one: listwise deletion drops them for this item alone) and
        ``complete_without`` (complete respondents if the item were left out).
    """

    n_rows: int
    n_complete: int
    share_complete: float
    items: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        """The per-item table (``items``)."""
        return self.items.copy()

    def to_dict(self) -> dict:
        out = asdict(self)
        out["items"] = self.items.reset_index().to_dict(orient="records")
        return out

    def note(self, *, threshold: float = 0.70, top: int = 3) -> str | None:
        """A report line when listwise deletion would keep fewer than ``threshold`` of the
        respondents (None otherwise), naming the items whose not-applicable answers cost most."""
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold: {threshold!r} must be in (0, 1]")
        if self.n_rows == 0 or self.share_complete >= threshold:
            return None
        line = (
            f"Listwise deletion would keep {self.n_complete} of {self.n_rows} respondents "
            f"({self.share_complete:.0%})"
        )
        na = self.items[self.items["n_not_applicable"] > 0].head(top)
        if len(na):
            named = ", ".join(f"{i} ({int(n)})" for i, n in na["n_not_applicable"].items())
            line += f"; most of the loss comes from not-applicable answers to {named}"
        else:
            worst = self.items.sort_values("n_missing", ascending=False, kind="stable").head(top)
            named = ", ".join(f"{i} ({int(n)})" for i, n in worst["n_missing"].items())
            line += f"; the items most often unanswered are {named}"
        return line + ". Full-information ML uses every respondent."


def complete_case_report(
    data: pd.DataFrame,
    items: Sequence[str] | None = None,
    *,
    not_applicable: pd.DataFrame | None = None,
) -> CompleteCaseReport:
    """Complete-case share of ``items`` and which items' unanswered questions cause the loss.

    Parameters
    ----------
    data : pandas.DataFrame
        Respondents × items with missing and not-applicable answers as NaN.
    items : sequence of str, optional
        The model's items (default: every column).
    not_applicable : pandas.DataFrame of bool, optional
        True where the answer was "not applicable" (same index as ``data``, item columns); without
        it every gap counts as missing.

    Returns
    -------
    CompleteCaseReport

    Notes
    -----
    Respondents without any answer to the items are left out of ``n_rows``, as full-information ML
    leaves them out (lavaan ``missing = "ml"``).

    Examples
    --------
    >>> d = pd.DataFrame({"a": [1, 2, None, 4], "b": [1, None, None, 2], "c": [3, 3, 1, 2]})
    >>> rep = complete_case_report(d)
    >>> rep.n_rows, rep.n_complete, int(rep.items.loc["b", "n_only_gap"])
    (4, 2, 1)
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data: expected a pandas DataFrame, got {type(data).__name__}")
    cols = list(data.columns if items is None else items)
    absent = [c for c in cols if c not in data.columns]
    if absent:
        raise ValueError(f"items: {', '.join(map(str, absent))} are not columns of the data")
    gap = data[cols].isna().to_numpy()
    if not_applicable is not None:
        if not isinstance(not_applicable, pd.DataFrame):
            raise TypeError("not_applicable: expected a DataFrame of bool like data")
        missing_cols = [c for c in cols if c not in not_applicable.columns]
        if missing_cols or not not_applicable.index.equals(data.index):
            raise ValueError(
                "not_applicable: needs the data's index and item columns"
                + (f" (missing {', '.join(map(str, missing_cols))})" if missing_cols else "")
            )
        na = not_applicable[cols].fillna(False).to_numpy(dtype=bool) & gap
    else:
        na = np.zeros_like(gap)
    keep = ~gap.all(axis=1)
    gap, na = gap[keep], na[keep]
    n_rows = int(keep.sum())
    n_gaps = gap.sum(axis=1)
    complete = n_gaps == 0
    table = pd.DataFrame(
        {
            "n_missing": gap.sum(axis=0),
            "n_not_applicable": na.sum(axis=0),
            "n_only_gap": (gap & (n_gaps == 1)[:, None]).sum(axis=0),
            "complete_without": int(complete.sum()) + (gap & (n_gaps == 1)[:, None]).sum(axis=0),
        },
        index=pd.Index(cols, name="item"),
    ).astype(int)
    table = table.sort_values(["n_not_applicable", "n_missing"], ascending=False, kind="stable")
    n_complete = int(complete.sum())
    share = n_complete / n_rows if n_rows else float("nan")
    return CompleteCaseReport(n_rows, n_complete, share, table)
