"""IRT trait scores, sum-score tables, information and reliability against mirt's values."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.irt import (
    GradedResponseModel,
    eap_scores,
    empirical_reliability,
    item_information,
    lord_wingersky,
    map_scores,
    marginal_reliability,
    score_pattern,
    sum_score_eap,
    sum_score_table,
    test_information,
)

DATA = Path(__file__).parent / "data" / "irt"
REF = json.loads((DATA / "mirt_reference.json").read_text())
EXTRA = json.loads((DATA / "mirt_testsuite_extra.json").read_text())


@pytest.fixture(scope="module")
def science():
    return pd.read_csv(DATA / "Science.csv")


@pytest.fixture(scope="module")
def science_model(science):
    return GradedResponseModel(se_type=None).fit(science)


@pytest.fixture(scope="module")
def lsat7():
    table = pd.read_csv(DATA / "LSAT7.csv")
    items = list(table.columns[:5])
    return pd.DataFrame(np.repeat(table[items].to_numpy(), table["freq"], axis=0), columns=items)


@pytest.fixture(scope="module")
def lsat7_model(lsat7):
    return GradedResponseModel("2PL", se_type=None).fit(lsat7)


def test_eap_of_one_pattern(science_model):
    # fscores(mod, method='EAP', response.pattern=c(1,2,3,4)) -- mirt tolerance 1e-4 (relative
    # mean difference); achieved 1.1e-4 (each value within 5.1e-5), the gap coming from mirt's
    # estimates, which stop short of the maximum (see test_irt_model).
    ref = REF["science_graded_1f"]["eap_pattern_1234"]
    got = score_pattern(science_model, [1, 2, 3, 4])
    assert got["theta"] == pytest.approx(ref["F1"], abs=5.1e-5)
    assert got["se"] == pytest.approx(ref["SE_F1"], abs=5.1e-5)
    by_name = score_pattern(science_model, {"Work": 2, "Comfort": 1, "Future": 3, "Benefit": 4})
    assert by_name["theta"] == got["theta"]


def test_eap_of_one_pattern_at_mirts_estimates(science):
    # The same EAP with mirt's own (SEM-fit) estimates, printed to 3 decimals in its test file:
    # relative mean difference 6e-5, within mirt's 1e-4 despite the rounded parameters.
    from analysis.irt.model import _split

    model = GradedResponseModel(se_type=None).fit(science)
    estimates = np.array(EXTRA["science_sem_model"]["estimates"], float)
    model.params_ = _split(estimates, model._par_offsets)
    ref = REF["science_graded_1f"]["eap_pattern_1234"]
    got = score_pattern(model, [1, 2, 3, 4])
    gap = abs(got["theta"] - ref["F1"]) + abs(got["se"] - ref["SE_F1"])
    assert gap / (abs(ref["F1"]) + ref["SE_F1"]) < ref["tolerance"]


def test_eap_for_a_file(science, science_model):
    scores = eap_scores(science_model, science)
    assert list(scores.index) == list(science.index)
    # cor(fscores(modp1), rowSums(Science)) = .969, tolerance .02; achieved 2.5e-4, within half a
    # unit of the 3 printed decimals
    r = np.corrcoef(scores["theta"], science.sum(axis=1))[0, 1]
    assert r == pytest.approx(
        REF["science_graded_1f"]["eap_correlation_with_sum_score"]["value"], abs=5e-4
    )
    # fscores(modp1, full.scores=FALSE)[1:6, 'F1'] (patterns in sorted order), closeEnough 1e-2;
    # achieved 1.5e-4 (mirt's EM-stopped estimates)
    unique = science.drop_duplicates().sort_values(list(science.columns)).head(6)
    got = eap_scores(science_model, unique)["theta"].to_numpy()
    np.testing.assert_allclose(got, EXTRA["science_eap_first_patterns"]["F1"], atol=2e-4)


def test_missing_and_empty_rows_are_scored(science_model, science):
    frame = science.astype(float).head(3).copy()
    frame.iloc[1, 2] = np.nan
    frame.iloc[2, :] = np.nan
    scores = eap_scores(science_model, frame)
    assert scores["n_answered"].tolist() == [4, 3, 0]
    assert scores.loc[2, "theta"] == pytest.approx(0.0, abs=1e-12)
    # the prior's SD, 1, on the 61-point grid over [-6, 6]: 1.9e-8 off
    assert scores.loc[2, "se"] == pytest.approx(1.0, abs=1e-7)


def test_unknown_category_is_refused(science_model, science):
    with pytest.raises(ValueError, match="'Work': 1 responses outside"):
        eap_scores(science_model, science.head(2).assign(Work=[5, 2]))


def test_map_scores(lsat7_model, lsat7):
    # fscores(modm2, method='MAP', full.scores=FALSE)[1:6] for LSAT7 (sorted patterns),
    # closeEnough 1e-2 -- achieved 6.7e-4 (mirt's estimates differ slightly)
    expected = [-1.8165552, -1.4946906, -1.4822982, -1.1789899, -1.0958928, -0.7951026]
    unique = lsat7.drop_duplicates().sort_values(list(lsat7.columns)).head(6)
    got = map_scores(lsat7_model, unique)
    np.testing.assert_allclose(got["theta"], expected, atol=7e-4)
    # the mode is where the log posterior's derivative vanishes: MAP < EAP shrinkage differs
    eap = eap_scores(lsat7_model, unique)
    assert not np.allclose(got["theta"], eap["theta"])


def test_sum_score_table_lsat7(lsat7_model, lsat7):
    # fscores(modm1, method='EAPsum', full.scores=FALSE) -- closeEnough 1e-2; achieved relative
    # 5e-5 (expected counts 8e-6, standardised residuals 6e-5 absolute)
    result = sum_score_table(lsat7_model, lsat7)
    ref = np.array(EXTRA["lsat7_eapsum"]["values"], float).reshape(6, 6).T
    mine = result.table[
        ["sum_score", "theta", "se", "observed", "expected", "std_residual"]
    ].to_numpy()
    np.testing.assert_allclose(mine, ref, rtol=5e-5, atol=6e-5)
    # attr(fm6, 'fit')$rxx_F1 = 0.4319948, tolerance 1e-4; achieved 2e-6 relative
    assert result.reliability == pytest.approx(EXTRA["lsat7_eapsum"]["rxx_F1"], rel=1e-5)
    per_person = sum_score_eap(lsat7_model, lsat7.head(3))
    assert per_person["sum_score"].tolist() == lsat7.head(3).sum(axis=1).tolist()


def test_lord_wingersky_against_enumeration():
    rng = np.random.default_rng(0)
    probs = [rng.dirichlet(np.ones(k), size=2) for k in (2, 3, 4)]
    dist = lord_wingersky(probs)
    brute = np.zeros((7, 2))
    for a in range(2):
        for b in range(3):
            for c in range(4):
                brute[a + b + c] += probs[0][:, a] * probs[1][:, b] * probs[2][:, c]
    np.testing.assert_allclose(dist, brute, atol=1e-15)


def test_information_and_reliability(science_model, science):
    theta = np.linspace(-3, 3, 7)
    items = item_information(science_model, theta)
    test = test_information(science_model, theta)
    np.testing.assert_allclose(items.sum(axis=1).to_numpy(), test["information"])
    np.testing.assert_allclose(test["se"], 1 / np.sqrt(test["information"]))
    # graded information by the textbook formula for item 1 at theta = 0:
    a, *d = science_model.params_[0]
    p_star = np.concatenate([[1.0], 1 / (1 + np.exp(-np.array(d))), [0.0]])
    w = p_star * (1 - p_star)
    info = a**2 * sum((w[k] - w[k + 1]) ** 2 / (p_star[k] - p_star[k + 1]) for k in range(4))
    assert items.loc[0.0, "Comfort"] == pytest.approx(info, rel=1e-12)
    rxx = marginal_reliability(science_model)
    emp = empirical_reliability(eap_scores(science_model, science))
    assert 0.6 < rxx < 0.75 and abs(rxx - emp) < 0.01


def test_category_curves_and_plots(science_model):
    import matplotlib

    matplotlib.use("Agg")
    from analysis.irt import category_response_curves, plot_category_curves, plot_information

    curves = category_response_curves(science_model, [-1.0, 0.0, 1.0])
    sums = curves.groupby(["item", "theta"])["probability"].sum()
    np.testing.assert_allclose(sums, 1.0, atol=1e-12)
    assert sorted(curves["category"].unique()) == [1.0, 2.0, 3.0, 4.0]
    ax = plot_category_curves(science_model, "Work")
    assert len(ax.lines) == 4
    assert plot_information(science_model).get_xlabel() == "trait (theta)"
    with pytest.raises(ValueError, match="not in the model"):
        plot_category_curves(science_model, "Nope")


def test_reliability_against_mirt(science):
    # mirt's tests/testthat/test-00-basics.R: gmod <- multipleGroup(Science, 1, group=rep(c('G1',
    # 'G2'), each=196), TOL=NaN) (no EM: mirt's starting values); mod <- extract.group(gmod, 1)
    #   marginal_rxx(mod) = 0.4209159 (tolerance 1e-6; achieved 4.4e-8)
    #   empirical_rxx(fscores(mod, full.scores.SE=TRUE)) = 0.4627935 (tolerance 1e-4; 4.5e-8)
    # both within half a unit of the 7th printed decimal, the tolerance here
    # The same starting values are checked against mirt's probtrace in test_irt_model.py.
    from analysis.irt import prepare_responses
    from analysis.irt.mirt_em import mirt_start_values

    model = GradedResponseModel(se_type=None).fit(science)
    data = prepare_responses(science)
    model.params_ = mirt_start_values(data.codes, data.n_categories, ["graded"] * 4)
    assert marginal_reliability(model) == pytest.approx(0.4209159, abs=5e-8)
    scores = eap_scores(model, science.iloc[:196])
    assert empirical_reliability(scores) == pytest.approx(0.4627935, abs=5e-8)
