"""mhdq plan with FIML (as mhdq validate), test-retest ICC width and events per outcome type."""

import numpy as np
import pytest

from analysis.longitudinal import icc_intervals, test_retest
from analysis.simulate.plan import _retest_and_outcomes, parse_targets, plan_study
from analysis.simulate.waves import simulate_study
from instrument import load_instrument


@pytest.fixture(scope="module")
def mhdq():
    return load_instrument()


def test_fiml_uses_every_respondent_and_listwise_few(mhdq):
    plan = plan_study(mhdq, n=200, reps=2, seed=3, omega_n_boot=0, scales=["total"])
    cfa = plan.cfa.iloc[0]
    assert cfa["n_obs_mean"] == 200  # full-information ML: every respondent
    # listwise deletion would keep only a small part (skipped sponsor, relapse, step items)
    assert cfa["complete_rows_mean"] < 0.3 * 200
    assert plan.settings["cfa_missing"] == "ml"
    with pytest.raises(ValueError, match="cfa_missing"):
        plan_study(mhdq, n=50, reps=2, cfa_missing="pairwise")


def test_retest_width_is_the_icc_interval_of_the_simulated_waves(mhdq):
    """The planner's ICC(3,1) and its width equal pal's test_retest on the same simulated study."""
    row = _retest_and_outcomes(
        mhdq, n=150, seed=11, scales=["total"], settings={"followup_months": 12.0}, ci_level=0.95
    )
    study = simulate_study(mhdq, n=150, seed=11, wave_months=(0.0, 6.0, 12.0))
    scores = study.wave_scores(mhdq, ["total"])
    result = test_retest(
        scores[scores["wave"].isin(["0", "6"])], scales=["total"], waves=("0", "6")
    )
    icc = result.results[0].icc
    # same mean squares, same formula: agreement to rounding (1e-12)
    assert row["icc:total"] == pytest.approx(icc.at["ICC3", "estimate"], abs=1e-12)
    width = icc.at["ICC3", "ci_high"] - icc.at["ICC3", "ci_low"]
    assert row["icc_width:total"] == pytest.approx(width, abs=1e-12)
    assert row["pairs:total"] == result.results[0].n_obs
    counts = study.outcomes["outcome"].value_counts()
    for outcome in ("graduated", "switched", "dropped_out", "relapsed"):
        assert row[f"events:{outcome}"] == counts.get(outcome, 0)


def test_plan_reports_retest_and_competing_tables(mhdq):
    plan = plan_study(mhdq, n=150, reps=2, seed=5, omega_n_boot=0, scales=["total", "meaning"])
    assert list(plan.retest["scale"]) == ["total", "meaning"]
    assert plan.retest["icc_width"].between(0, 1).all()
    assert set(plan.competing["outcome"]) == {"graduated", "switched", "dropped_out", "relapsed"}
    reps = plan.replicates
    assert plan.retest.set_index("scale").at["total", "icc_width"] == pytest.approx(
        reps["icc_width:total"].mean()
    )
    metrics = plan.metrics()
    assert metrics["events_min"] == pytest.approx(plan.competing["events_mean"].min())
    assert metrics["icc_width"] == pytest.approx(plan.retest["icc_width"].max())
    tidy = plan.summary()
    assert {"retest", "competing"} <= set(tidy["section"])
    assert parse_targets("icc_width@total=0.1, events_min=20") == {
        "icc_width@total": 0.1,
        "events_min": 20.0,
    }
    # the interval narrows with n (F-interval: width ~ 1/sqrt(n))
    lo, hi = icc_intervals(2.0, 0.1, 0.5, n=100, k=2)["ICC3"]
    lo4, hi4 = icc_intervals(2.0, 0.1, 0.5, n=400, k=2)["ICC3"]
    assert np.isclose((hi - lo) / (hi4 - lo4), 2.0, rtol=0.1)


@pytest.mark.slow
def test_true_second_order_model_passes_at_600_with_fiml(mhdq):
    """Issue 11: on the embedded MHDQ at n = 600 the true (generating) second-order model reaches
    P(CFI >= .95) well above .8 when the CFA uses every respondent (FIML)."""
    plan = plan_study(
        mhdq, n=600, reps=10, seed=2026, omega_n_boot=0, scales=["total"], longitudinal=False
    )
    cfa = plan.cfa.iloc[0]
    assert cfa["model"] == "second_order"
    assert cfa["p_cfi_ok"] >= 0.9 and cfa["p_rmsea_ok"] >= 0.9
    assert cfa["n_obs_mean"] == 600
