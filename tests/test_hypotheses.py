"""Construct-validity hypotheses: the spec section and its evaluation.

Correlations against R's cor.test on psychTools::bfi scores (known_groups_reference.json);
group differences against the Hedges' g formula in R (same file).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.longitudinal.hypotheses import evaluate_hypotheses
from instrument.errors import SpecError
from instrument.hypotheses import hypotheses_of, parse_hypotheses
from instrument.spec import load_instrument

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "known_groups_reference.json").read_text())
BFI_SPEC = Path(__file__).parents[1] / "examples" / "bfi.yaml"


@pytest.fixture(scope="module")
def scores():
    bfi = pd.read_csv(DATA / "bfi.csv", index_col=0)
    scores = pd.read_csv(DATA / "bfi_scores_mean_impute_none.csv")
    scores.index = bfi.index
    scores["education"] = bfi["education"].astype("Int64").astype(str).replace("<NA>", np.nan)
    return scores


def spec_with(hypotheses):
    import yaml

    raw = yaml.safe_load(BFI_SPEC.read_text(encoding="utf-8"))
    raw["hypotheses"] = hypotheses
    return load_instrument(raw)


def test_spec_section_parsed():
    spec = spec_with(
        [
            "agree: r <= -.15 with neuroticism",
            {
                "id": "ext",
                "correlation": {"scale": "extraversion", "with": "agree", "r": ">= .30"},
                "rationale": "sociable people tend to be agreeable",
            },
            {
                "difference": {
                    "scale": "agree",
                    "group": "education",
                    "higher": "3",
                    "lower": "1",
                    "g": ">= 0.2",
                }
            },
        ]
    )
    hs = hypotheses_of(spec)
    assert [h.id for h in hs] == ["h1", "ext", "h3"]
    assert hs[0].op == "<=" and hs[0].bound == -0.15 and hs[0].other == "neuroticism"
    assert hs[2].statement == "agree: education 3 > 1 (Hedges' g >= 0.2)"
    assert hs[1].rationale == {"en": "sociable people tend to be agreeable"}


def test_spec_problems_listed_together():
    with pytest.raises(SpecError) as info:
        spec_with(
            [
                "agree correlates with neuroticism",
                {"correlation": {"scale": "agree", "r": "<= -.3"}},
                {"difference": {"scale": "agree", "group": "g", "higher": "a", "lower": "a"}},
                {"correlation": {"scale": "agree", "with": "x", "r": "about .3"}},
            ]
        )
    text = str(info.value)
    for needle in ["hypotheses[0]", "missing key(s): with", "different groups", "hypotheses[3]"]:
        assert needle in text
    assert load_instrument(BFI_SPEC) is not None  # a spec without the section still loads
    assert hypotheses_of(load_instrument(BFI_SPEC)) == []


def test_correlation_matches_cor_test(scores):
    hs = parse_hypotheses(
        ["agree: r <= -.15 with neuroticism", "extraversion: r >= .50 with agree"]
    )
    result = evaluate_hypotheses(scores, hs)
    t = result.table.set_index("id")
    for ident, key in [("h1", "cor_agree_neuroticism"), ("h2", "cor_extraversion_agree")]:
        ref = REF[key]
        # cor.test(x, y, conf.level = 0.95): estimate, conf.int (Fisher z), p.value
        assert t.at[ident, "estimate"] == pytest.approx(ref["r"][0], abs=1e-14)
        assert t.at[ident, "ci_low"] == pytest.approx(ref["ci_low"][0], abs=1e-14)
        assert t.at[ident, "ci_high"] == pytest.approx(ref["ci_high"][0], abs=1e-14)
        assert t.at[ident, "p_value"] == pytest.approx(ref["p"][0], rel=1e-12)
        assert t.at[ident, "n_obs"] == ref["n_obs"]
    # r = -0.18 <= -.15 holds; r = 0.46 >= .50 does not
    assert t["confirmed"].tolist() == [True, False]
    assert result.share_confirmed == 0.5 and result.meets_cosmin is False


def test_difference_matches_hedges_formula(scores):
    # Pair (1, 3) of agree is the 2nd pair of the R reference: g = mean_1 - mean_3 over pooled SD.
    hs = parse_hypotheses(
        [
            {"difference": {"scale": "agree", "group": "education", "higher": "3", "lower": "1"}},
            {"difference": {"scale": "agree", "group": "education", "higher": "9", "lower": "1"}},
            "openness: r > 0 with age",
        ]
    )
    result = evaluate_hypotheses(scores, hs)
    row = result.table.iloc[0]
    ref = REF["agree"]
    # g(3 vs 1) = -g(1 vs 3); CI g +/- qt(.975, n1+n2-2) * sqrt((n1+n2)/(n1 n2) + g^2/(2(n1+n2)))
    assert row["estimate"] == pytest.approx(-ref["hedges_g"][1], abs=1e-14)
    assert row["ci_low"] == pytest.approx(-ref["g_ci_high"][1], abs=1e-14)
    assert row["ci_high"] == pytest.approx(-ref["g_ci_low"][1], abs=1e-14)
    assert row["confirmed"] is True
    assert (
        result.table.iloc[1]["confirmed"] is None
        and "need 2 scores" in result.table.iloc[1]["note"]
    )
    assert "age" in result.table.iloc[2]["note"]
    assert result.n_evaluated == 1 and result.meets_cosmin is True
