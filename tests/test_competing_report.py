"""The competing-outcomes section shared by the attrition and longitudinal reports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.attrition.competing import cumulative_incidence
from analysis.attrition.kaplan_meier import kaplan_meier
from analysis.report import HtmlReport
from analysis.report.competing import (
    MODEL_QUESTIONS,
    competing_section,
    incidence_table,
    model_questions,
)

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def mgus2() -> pd.DataFrame:
    # survival::mgus2 (public): time to progression (event 1) or death (event 2), censored 0
    return pd.read_csv(DATA / "mgus2_competing.csv")


def test_table_is_the_curve_beside_one_minus_kaplan_meier(mgus2):
    cif = cumulative_incidence(mgus2["etime"], mgus2["event"], group=mgus2["male"])
    times = [60.0, 120.0, 240.0, 1e6]
    table = incidence_table(cif, times)
    at = cif.at(times)
    np.testing.assert_array_equal(table["estimate"], at["estimate"])  # same step function
    for (grp, cause), rows in table.groupby(["group", "cause"]):
        sel = mgus2["male"].astype(str) == str(grp)
        # 1 - KM with the other cause censored, from the Kaplan-Meier estimator itself
        km = kaplan_meier(
            mgus2.loc[sel, "etime"], (mgus2.loc[sel, "event"] == cause).astype(int)
        ).survival_at(times[:-1])
        np.testing.assert_allclose(
            rows["one_minus_km"].to_numpy()[:-1], 1 - km["survival"].to_numpy(), atol=1e-12
        )
        assert np.isnan(rows["one_minus_km"].iloc[-1])  # beyond the last follow-up
        # with a competing cause, 1 - KM overstates the cumulative incidence
        assert (rows["one_minus_km"].iloc[:-1] >= rows["estimate"].iloc[:-1] - 1e-12).all()


def test_section_renders_questions_table_figure_and_tests(mgus2):
    cif = cumulative_incidence(mgus2["etime"], mgus2["event"], group=mgus2["male"])
    report = HtmlReport("t")
    tables: dict = {}
    competing_section(
        report,
        cif,
        times=[120.0],
        unit="months",
        tables=tables,
        models=["aalen_johansen", "fine_gray"],
        tests_of="women and men",
    )
    html = report.render()
    assert "Fine-Gray: How many end up leaving" in html
    assert "Cause-specific" not in html  # only the models named
    assert "data:image/png;base64" in html
    assert "do the curves of women and men differ" in html
    assert set(tables) == {"competing_incidence", "competing_models", "gray_tests"}


def test_every_model_kind_states_its_question():
    table = model_questions()
    assert len(table) == len(MODEL_QUESTIONS) == 6
    assert table["question"].str.endswith((".", "?")).all()
    with pytest.raises(ValueError, match="unknown cox_ph"):
        model_questions(["cox_ph"])
