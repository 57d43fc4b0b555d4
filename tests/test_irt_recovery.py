"""Parameter recovery and confidence-interval coverage of the graded model on SYNTHETIC data."""

import numpy as np
import pytest

from analysis.irt import GradedResponseModel, simulate_graded

A = np.array([0.8, 1.2, 1.6, 2.0, 1.0, 1.4])
D = np.array(
    [
        [2.5, 1.0, -0.5, -2.0],
        [2.0, 0.5, -0.5, -1.5],
        [3.0, 1.5, 0.0, -1.5],
        [1.5, 0.0, -1.0, -2.5],
        [2.0, 1.0, 0.0, -1.0],
        [3.5, 2.0, 0.5, -1.0],
    ]
)
TRUE = np.concatenate([np.concatenate([[a], d]) for a, d in zip(A, D, strict=True)])


def test_recovery_on_a_large_sample():
    data = simulate_graded(A, D, n=5000, seed=11)
    model = GradedResponseModel().fit(data)
    est = model.results_.parameters["estimate"].to_numpy()
    se = model.results_.parameters["se"].to_numpy()
    z = (est - TRUE) / se
    # synthetic: every estimate within 4 SEs of its true value, slopes within 0.15
    assert np.abs(z).max() < 4
    assert np.abs(est[::5] - A).max() < 0.15


@pytest.mark.slow
@pytest.mark.parametrize("se_type", ["louis", "sandwich"])
def test_ci_coverage_over_repetitions(se_type):
    # synthetic: 60 samples of 500 respondents; 95% intervals of the 30 parameters should
    # cover the true values 91-99% of the time (the criterion)
    covered, total = 0, 0
    for rep in range(60):
        data = simulate_graded(A, D, n=500, seed=1000 + rep)
        table = GradedResponseModel(se_type=se_type).fit(data).results_.parameters
        inside = (table["ci_low"] <= TRUE) & (table["ci_high"] >= TRUE)
        covered += int(inside.sum())
        total += inside.size
    rate = covered / total
    assert 0.91 <= rate <= 0.99, rate
