"""Wave means, reliable change and retention flow.

Means and RCIs against R on psychTools::msqR (tests/data/make_icc_reference.R); retention
counts on a small hand-made cohort whose flow is counted by hand in the comments.
"""

import json
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from analysis.longitudinal import reliable_change, retention_flow, wave_means

matplotlib.use("Agg")

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "icc_reference.json").read_text())
EA = [
    "active",
    "energetic",
    "vigorous",
    "wakeful",
    "wide_awake",
    "full_of_pep",
    "lively",
    "-sleepy",
    "-tired",
    "-drowsy",
]


@pytest.fixture(scope="module")
def scores():
    d = pd.read_csv(DATA / "msqR_xray_waves.csv")
    d["EA"] = sum(3 - d[k[1:]] if k.startswith("-") else d[k] for k in EA) / len(EA)
    return d


def test_wave_means_match_t_test(scores):
    table = wave_means(scores, scales="EA", wave="time").table
    ref = REF["EA"]
    # t.test(score at time 1)$conf.int, t.test(score at time 2)$conf.int
    np.testing.assert_allclose(
        table[["ci_low", "ci_high"]].to_numpy().ravel(),
        ref["wave_mean_ci"],
        rtol=1e-14,  # observed 3e-16
    )
    assert table["n_obs"].tolist() == ref["wave_n"]
    assert table["mean"].iloc[0] == pytest.approx(ref["mean_time1"][0], rel=1e-14)


def test_rci_matches_jacobson_truax_in_r(scores):
    change = reliable_change(scores, scale="EA", id="id", wave="time")
    ref = REF["EA"]
    # (x2 - x1) / sqrt(2 * (sd(x1) * sqrt(1 - ICC3))^2), ICC3 from psych::ICC
    got = change.people["rci"].reindex([int(i) for i in ref["rci_ids"]])
    # observed: abs 5e-15, rel 1.5e-15
    np.testing.assert_allclose(got, ref["rci_reliability_icc3"], rtol=1e-13, atol=1e-14)
    assert change.reliability == pytest.approx(ref["icc"][2], abs=1e-13)
    counts = change.summary().set_index("category")["n"]
    expected_up = int(np.sum(np.array(ref["rci_reliability_icc3"]) > 1.959963984540054))
    assert counts["reliable_increase"] == expected_up
    assert counts.loc[list(counts.index[:3])].sum() == ref["n_obs"]
    # SDC from the agreement SEM: z * sqrt(2) * SEM
    assert change.sdc == pytest.approx(ref["sdc_agreement"][0], rel=2e-5)


def test_rci_given_reliability_and_no_identifiers_in_summary(scores):
    change = reliable_change(scores, scale="EA", id="id", wave="time", reliability=0.8, sdc=0.5)
    assert change.s_diff == pytest.approx(np.sqrt(2) * change.sd_first * np.sqrt(0.2), rel=1e-14)
    assert "id" not in change.summary().columns
    assert "people" not in change.to_dict()
    with pytest.raises(ValueError, match="reliability"):
        reliable_change(scores, scale="EA", id="id", wave="time", reliability=1.2)


def cohort():
    # t0: a b c d e; t6: a b c f (d, e lost; f new); t12: a c d (b lost; d returned)
    ids = {"t0": "abcde", "t6": "abcf", "t12": "acd"}
    return pd.DataFrame(
        [{"respondent_id": i, "wave": w} for w, members in ids.items() for i in members]
    )


def test_retention_counts():
    flow = retention_flow(cohort(), waves=["t0", "t6", "t12"])
    t = flow.table.set_index("wave")
    assert flow.n_enrolled == 5 and flow.n_all_waves == 2  # a, c
    assert t.loc["t6"].to_dict() == {
        "n_observed": 4,
        "n_from_baseline": 3,
        "retention": 0.6,
        "n_lost_since_previous": 2,
        "n_returned": 0,
        "n_new": 1,
        "n_not_seen": 2,
    }
    assert t.loc["t12"].to_dict() == {
        "n_observed": 3,
        "n_from_baseline": 3,
        "retention": 0.6,
        "n_lost_since_previous": 2,
        "n_returned": 1,
        "n_new": 0,
        "n_not_seen": 2,
    }


def test_retention_diagram_draws_every_wave():
    ax = retention_flow(cohort(), waves=["t0", "t6", "t12"]).plot()
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "t0: enrolled\nn = 5" in texts and "not seen at t12: 2" in texts
    assert "returned: 1" in texts
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


def test_wave_order_checked():
    with pytest.raises(ValueError, match="'t24'"):
        retention_flow(cohort(), waves=["t0", "t24"])
