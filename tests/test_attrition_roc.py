"""ROC at the horizon (issue 12 point 1): controls are those event-free at the horizon.

SYNTHETIC data made up in this file.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.attrition.report import roc_at_horizon


def test_controls_include_those_followed_exactly_to_the_horizon():
    # follow-up ends at 12 for everyone still engaged, and the horizon is 12: they are the
    # controls (cumulative/dynamic definition), so random scores give a curve near the diagonal,
    # not the "perfect" vertical line drawn when they were left out
    rng = np.random.default_rng(4)
    n = 400
    event = rng.random(n) < 0.4
    time = np.where(event, rng.uniform(0.5, 12, n), 12.0)
    roc = roc_at_horizon(time, event.astype(int), rng.random(n), 12.0)
    fpr, tpr = roc["false_positive_rate"].to_numpy(), roc["true_positive_rate"].to_numpy()
    assert fpr[-1] == 1.0 and tpr[-1] == 1.0
    auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))  # trapezoid rule
    assert 0.4 < auc < 0.6
    assert len(np.unique(fpr)) > 10


def test_an_event_at_the_horizon_is_a_case_not_a_control():
    time = np.array([2.0, 12.0, 12.0, 12.0])
    event = np.array([1, 1, 0, 0])
    roc = roc_at_horizon(time, event, np.array([0.9, 0.8, 0.1, 0.2]), 12.0)
    # two cases scored above both controls (the two still engaged at 12): TPR 1 at FPR 0, and
    # the controls take the curve to FPR 1
    assert roc["true_positive_rate"][roc["false_positive_rate"] == 0].max() == 1.0
    assert roc["false_positive_rate"].tolist() == [0.0, 0.0, 0.0, 0.5, 1.0]


@pytest.mark.parametrize(
    ("time", "event", "message"),
    [
        ([1.0, 2.0, 3.0], [1, 1, 1], "no controls"),  # everyone disengaged before the horizon
        ([5.0, 8.0, 12.0], [0, 0, 0], "no cases"),
        ([1.0, 2.0, 4.0], [1, 0, 0], "no controls"),  # censored before the horizon: left out
    ],
)
def test_refuses_to_draw_without_cases_or_controls(time, event, message):
    with pytest.raises(ValueError, match=message):
        roc_at_horizon(np.array(time), np.array(event), np.array([0.3, 0.2, 0.1]), 5.0)
