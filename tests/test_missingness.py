"""Complete-case share and the items behind listwise deletion's loss (analysis.missingness)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.missingness import complete_case_report


def _synthetic():
    # SYNTHETIC: 10 respondents, item s1 not applicable for 4 (no sponsor), s2 for 3 of them,
    # item q missing once; one respondent answered nothing
    d = pd.DataFrame(
        {
            "q": [1, 2, 3, None, 2, 1, 3, 2, 1, None],
            "s1": [1, None, None, 2, None, None, 3, 2, 1, None],
            "s2": [2, None, None, 2, 1, None, 3, 2, 1, None],
        }
    )
    na = d.isna()
    na.loc[[3, 9], "q"] = False  # q's gaps are plain missing answers
    return d, na


def test_counts_by_hand():
    d, na = _synthetic()
    rep = complete_case_report(d, not_applicable=na)
    assert rep.n_rows == 9  # the respondent without any answer is left out, as FIML does
    assert rep.n_complete == 4  # rows 0, 6, 7, 8
    assert rep.share_complete == pytest.approx(4 / 9)
    t = rep.items
    assert list(t.index) == ["s1", "s2", "q"]  # most not-applicable answers first
    assert t.loc["s1"].tolist() == [4, 4, 1, 5]  # n_missing, n_not_applicable, only gap, +1
    assert t.loc["q"].tolist() == [1, 0, 1, 5]
    assert t.loc["s2", "n_only_gap"] == 0


def test_note_names_the_not_applicable_items_below_the_threshold():
    d, na = _synthetic()
    rep = complete_case_report(d, not_applicable=na)
    line = rep.note()
    assert line is not None and "4 of 9" in line and "s1 (4), s2 (3)" in line
    assert rep.note(threshold=0.4) is None
    plain = complete_case_report(d)  # without the not-applicable mask every gap is missing
    assert "most often unanswered are s1 (4)" in plain.note()
    with pytest.raises(ValueError, match="threshold"):
        rep.note(threshold=0)


def test_bad_input_is_named():
    d, _ = _synthetic()
    with pytest.raises(ValueError, match="zz"):
        complete_case_report(d, ["q", "zz"])
    with pytest.raises(ValueError, match="index"):
        complete_case_report(d, not_applicable=d.isna().iloc[:5])
    with pytest.raises(TypeError):
        complete_case_report(np.zeros((3, 2)))
