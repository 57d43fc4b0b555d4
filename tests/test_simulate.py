"""The simulator: reproducible, follows the hierarchy, labels everything synthetic."""

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main
from analysis.simulate.cohort import facet_correlation_matrix, simulate_cohort
from instrument import load_instrument


@pytest.fixture(scope="module")
def mhdq():
    return load_instrument()


def test_same_seed_same_cohort(mhdq):
    first = simulate_cohort(mhdq, n=200, seed=7)
    second = simulate_cohort(mhdq, n=200, seed=7)
    other = simulate_cohort(mhdq, n=200, seed=8)
    pd.testing.assert_frame_equal(first.responses, second.responses)
    pd.testing.assert_frame_equal(first.followup, second.followup)
    assert not first.responses[list(mhdq.item_ids)].equals(other.responses[list(mhdq.item_ids)])


def test_layout_and_synthetic_labels(mhdq):
    cohort = simulate_cohort(mhdq, n=300, seed=1)
    responses = cohort.responses
    assert list(responses.columns[: 1 + len(mhdq.items)]) == ["respondent_id", *mhdq.item_ids]
    assert (responses["synthetic"] == "synthetic").all() and (
        cohort.followup["synthetic"] == "synthetic"
    ).all()
    codes = pd.unique(responses[list(mhdq.item_ids)].to_numpy().ravel())
    codes = codes[~np.isnan(codes)]
    assert set(codes) <= {1.0, 2.0, 3.0, 4.0, 5.0, 9.0}
    assert responses["respondent_id"].is_unique


def test_hierarchy_gives_the_stated_correlations(mhdq):
    phi = facet_correlation_matrix(mhdq, gamma=0.8, root_correlation=0.3)
    assert np.allclose(np.diag(phi), 1)
    assert np.linalg.eigvalsh(phi.to_numpy()).min() > 0
    assert phi.loc["strategy", "explanatory"] == pytest.approx(0.8**2)  # same theme
    assert phi.loc["strategy", "stuck"] == pytest.approx(0.8**4)  # different themes, same total


def test_latent_structure_shows_in_the_answers(mhdq):
    cohort = simulate_cohort(mhdq, n=3000, seed=11, missing_rate=0, careless_share=0)
    data = cohort.responses[list(mhdq.item_ids)].where(lambda d: d != 9)
    keyed = pd.Series({i: mhdq.item(i).keyed for i in mhdq.item_ids})
    corr = data.corr()
    same_facet = [
        (a, b)
        for a in mhdq.item_ids
        for b in mhdq.item_ids
        if a < b and mhdq.item(a).scale == mhdq.item(b).scale
    ]
    signed = [corr.loc[a, b] * keyed[a] * keyed[b] for a, b in same_facet]
    assert np.mean(signed) > 0.25 and min(signed) > 0  # reverse-keyed items run against their facet


def test_not_applicable_by_design_and_missing_rate(mhdq):
    cohort = simulate_cohort(mhdq, n=2000, seed=3, missing_rate=0.05)
    sponsor_items = [i for i in mhdq.item_ids if "sponsor" in mhdq.item(i).text["en"].lower()]
    never = cohort.responses["sponsor_ever"] == 0
    answered = cohort.responses.loc[never, sponsor_items]
    assert (answered.isna() | (answered == 9)).all().all()
    share_missing = cohort.responses[list(mhdq.item_ids)].isna().mean().mean()
    assert 0.04 < share_missing < 0.06


def test_followup_event_rate_and_censoring(mhdq):
    cohort = simulate_cohort(mhdq, n=4000, seed=5, event_rate=0.4, followup_months=12)
    follow = cohort.followup
    assert abs(follow["disengaged"].mean() - 0.4) < 0.03
    assert (
        follow["months"].max() <= 12 and (follow.loc[follow.disengaged == 0, "months"] == 12).all()
    )
    assert (follow["switched"] <= follow["disengaged"]).all()


def test_flat_instrument_bfi():
    bfi = load_instrument("examples/bfi.yaml")
    cohort = simulate_cohort(bfi, n=100, seed=2)
    assert list(cohort.hazard_ratios.index) == [
        "agree",
        "conscientious",
        "extraversion",
        "neuroticism",
        "openness",
    ]


def test_bad_arguments_are_named(mhdq):
    with pytest.raises(ValueError, match="n: need an integer of at least 10"):
        simulate_cohort(mhdq, n=3, seed=1)
    with pytest.raises(ValueError, match="missing_rate"):
        simulate_cohort(mhdq, n=50, seed=1, missing_rate=1.5)


def test_cli_writes_labelled_files(tmp_path, capsys):
    out = tmp_path / "cohort.csv"
    main(["simulate", "--n", "50", "--seed", "1", "--out", str(out)])
    responses = pd.read_csv(out)
    follow = pd.read_csv(tmp_path / "cohort-followup.csv")
    assert (responses["synthetic"] == "synthetic").all() and len(follow) == 50
    assert "SYNTHETIC DATA" in capsys.readouterr().out


def test_cli_bad_output_type_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        main(["simulate", "--n", "50", "--seed", "1", "--out", str(tmp_path / "x.docx")])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert "unknown file type" in err and "Traceback" not in err


def test_cli_workbook_is_the_questionnaire_filled_in(tmp_path):
    from instrument.read import read_responses

    main(["simulate", "--n", "40", "--seed", "4", "--out", str(tmp_path / "cohort.xlsx")])
    main(["simulate", "--n", "40", "--seed", "4", "--out", str(tmp_path / "cohort.csv")])
    spec = load_instrument()
    from_workbook = read_responses(tmp_path / "cohort.xlsx", spec)
    from_csv = read_responses(tmp_path / "cohort.csv", spec)
    assert from_workbook.platform == "mhdq_workbook"
    pd.testing.assert_frame_equal(
        from_workbook.items.reset_index(drop=True),
        from_csv.items.reset_index(drop=True),
        check_dtype=False,
    )
    assert list(from_workbook.meta["respondent_id"]) == list(from_csv.meta["respondent_id"])
    import openpyxl

    book = openpyxl.load_workbook(tmp_path / "cohort.xlsx", read_only=True)
    assert book.sheetnames[0] == "Note" and "SYNTHETIC" in book["Note"]["A1"].value
