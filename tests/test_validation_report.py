"""report.html of ``mhdq validate`` rendered in headless Chromium, its verdicts, and the figure functions."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.report import plots
from analysis.report.validation import (
    THRESHOLDS,
    build_report,
    expected_figures,
    verdicts,
    write_validation_outputs,
)
from analysis.simulate.cohort import simulate_cohort
from analysis.study.validate import validate
from instrument.read import read_responses
from tests.browser import render_in_chromium

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def bfi_results(bfi_spec):
    """Every analysis on psychTools' bfi, with invariance across gender."""
    table = read_responses(DATA / "bfi.csv", bfi_spec)
    return validate(table, bfi_spec, group_by="gender", irt=False)  # IRT: test_validate_irt.py


@pytest.fixture(scope="module")
def bfi_outputs(bfi_results, tmp_path_factory):
    return write_validation_outputs(bfi_results, tmp_path_factory.mktemp("report"))


def test_report_renders_in_chromium_with_every_figure(bfi_outputs):
    seen = render_in_chromium(bfi_outputs["html"], screenshot=False)
    assert seen["errors"] == []
    assert seen["broken"] == 0
    # answers per item, scree with parallel analysis, EFA loadings, CFA fit comparison, invariance
    # ladder
    assert seen["images"] == 5


def test_expected_figures_counts_what_ran(bfi_results, bfi_spec):
    assert expected_figures(bfi_results) == 5
    small = validate(
        simulate_cohort(bfi_spec, n=30, seed=1).responses, bfi_spec, n_boot=0
    )  # synthetic, too few for FA
    assert expected_figures(small) == 1
    assert build_report(small).n_figures == 1


def test_small_report_renders_with_reasons(bfi_spec, tmp_out):
    small = validate(
        simulate_cohort(bfi_spec, n=30, seed=1).responses, bfi_spec, n_boot=0
    )  # synthetic
    paths = write_validation_outputs(small, tmp_out)
    seen = render_in_chromium(paths["html"], screenshot=False)
    assert seen["errors"] == [] and seen["broken"] == 0 and seen["images"] == 1
    text = html.unescape(paths["html"].read_text(encoding="utf-8"))
    assert "Skipped: 30 respondents for 25 items" in text
    assert "SYNTHETIC DATA" in text


def test_every_verdict_names_its_rule_and_source(bfi_outputs, bfi_results):
    text = html.unescape(bfi_outputs["html"].read_text(encoding="utf-8"))
    blocks = re.findall(r'<div class="verdict (pass|fail|na)">(.*?)</div>', text)
    judged = verdicts(bfi_results)
    assert len(blocks) == len(judged) > 20
    for _, body in blocks:
        assert "Rule: " in body and '<span class="cite">' in body
    rules = {t.rule for t in THRESHOLDS.values()}
    assert {v.rule for v in judged} <= rules
    for needle in (
        "Nunnally",
        "Hu, L., & Bentler",
        "Cheung, G. W., & Rensvold",
        "Chen, F. F. (2007)",
        "Kaiser, H. F. (1974)",
    ):
        assert needle in text, needle


def test_verdicts_apply_the_stated_thresholds(bfi_results):
    by_label = {v.label.split(" = ")[0]: v for v in verdicts(bfi_results)}
    # psych::alpha raw_alpha on bfi: openness .600 (< .70), neuroticism .814 (≥ .70)
    assert by_label["α of openness"].passed is False
    assert by_label["α of neuroticism"].passed is True
    # lavaan five-factor ML fit on bfi: CFI .782 (< .95) with SRMR .075: fails Hu & Bentler
    cfa = [
        v for v in verdicts(bfi_results) if v.section == "cfa" and v.label.startswith("facets: CFI")
    ]
    assert len(cfa) == 1 and cfa[0].passed is False
    # psych::KMO overall .846 ≥ .60
    assert by_label["overall KMO"].passed is True
    invariance = [v for v in verdicts(bfi_results) if v.section == "invariance"]
    assert [v.label.split(" invariance")[0] for v in invariance] == [
        "metric",
        "metric",
        "scalar",
        "scalar",
    ]
    # lavaan: CFI configural .77507, metric .77522, scalar .76428 -> ΔCFI metric +.0002 (meets),
    # scalar −.0109 (below)
    assert invariance[0].passed is True and invariance[2].passed is False


def test_report_has_every_section_and_no_identifiers(bfi_outputs):
    text = html.unescape(bfi_outputs["html"].read_text(encoding="utf-8"))
    for title in (
        "Data and problems",
        "Answers per item",
        "Item statistics",
        "Reliability",
        "Factorability and the number of factors",
        "Exploratory factor analysis",
        "Confirmatory factor analysis",
        "Convergent and discriminant validity",
        "Measurement invariance",
        "Analyses run and software",
    ):
        assert f">{title}</h2>" in text, title
    # bfi's generated respondent ids are "bfi:<row>"; the report shows none of them
    assert "bfi:2" not in text and "bfi:100" not in text
    assert "Traceback" not in text


# --------------------------------------------------------------------------------------------
# Figure functions
# --------------------------------------------------------------------------------------------
def test_likert_bars_are_centred_on_the_neutral_category():
    shares = pd.DataFrame([[0.1, 0.2, 0.4, 0.2, 0.1]], index=["item"])
    ax = plots.likert_bars(shares)
    lefts = [p.get_x() for p in ax.patches]
    widths = [p.get_width() for p in ax.patches]
    # HH::likert: the first two categories and half the neutral one lie left of zero
    assert lefts[0] == pytest.approx(-(10 + 20 + 20))
    assert lefts[2] == pytest.approx(-20) and lefts[2] + widths[2] == pytest.approx(20)
    assert lefts[4] + widths[4] == pytest.approx(50)


def test_figure_functions_draw_on_a_given_axes():
    from matplotlib.figure import Figure

    fig = Figure()
    axes = fig.subplots(2, 3).ravel()
    assert plots.likert_bars(pd.DataFrame([[0.5, 0.5]], index=["a"]), ax=axes[0]) is axes[0]
    assert plots.scree_plot([2.0, 1.0, 0.5], simulated=[1.2, 1.0, 0.8], ax=axes[1]) is axes[1]
    assert (
        plots.loadings_heatmap(pd.DataFrame({"F1": [0.7, 0.1]}, index=["a", "b"]), ax=axes[2])
        is axes[2]
    )
    cmp = pd.DataFrame(
        {"model": ["m"], "cfi": [0.96], "tli": [0.95], "rmsea": [0.05], "srmr": [0.04]}
    )
    assert plots.fit_comparison(cmp, ax=axes[3]) is axes[3]
    ladder = pd.DataFrame(
        {
            "cfi": [0.96, 0.955],
            "rmsea": [0.05, 0.05],
            "delta_cfi": [np.nan, -0.005],
            "delta_rmsea": [np.nan, 0.0],
        },
        index=["configural", "metric"],
    )
    assert plots.invariance_ladder(ladder, ax=axes[4]) is axes[4]


def test_figure_functions_reject_bad_input():
    with pytest.raises(ValueError, match="shares"):
        plots.likert_bars([[0.5, 0.5]])
    with pytest.raises(ValueError, match="labels"):
        plots.likert_bars(pd.DataFrame([[0.5, 0.5]]), labels=["only one"])
    with pytest.raises(ValueError, match="comparison"):
        plots.fit_comparison(pd.DataFrame({"model": ["m"]}))
