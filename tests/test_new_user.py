"""Issue 12: what a new user stumbles on (each test failed before its fix)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.simulate.cohort import simulate_cohort


# --------------------------------------------------------------------------------------------
# 12. The omega-interval note: once, in words
# --------------------------------------------------------------------------------------------
def test_omega_interval_note_is_said_once_in_words(mhdq_spec):
    from analysis.report.validation import reliability_notes
    from analysis.study.reliability_table import reliability_table

    data = simulate_cohort(mhdq_spec, n=30, seed=1).responses  # synthetic
    items = data[[c for c in mhdq_spec.item_ids if c in data]]
    items = items.where(items.apply(lambda s: s.isin(mhdq_spec.response_scale_of(s.name).codes)))
    table = reliability_table(items, mhdq_spec, seed=1, omega_n_boot=50)
    assert sum("omega_interval: skipped" in p for p in table.problems) > 1
    assert not any("TABLE_OMEGA_MIN_N" in p for p in table.problems)
    notes = reliability_notes(table.problems)
    omega = [n for n in notes if "omega" in n.lower() and "bootstrap" in n.lower()]
    assert len(omega) == 1
    assert "30 respondents" in omega[0] and "fewer than the 50" in omega[0]
    assert not any("TABLE_OMEGA_MIN_N" in n or "omega_interval" in n for n in notes)


# --------------------------------------------------------------------------------------------
# 6. API functions that write to a folder create it
# --------------------------------------------------------------------------------------------
def test_write_validation_outputs_creates_the_folder(bfi_spec, tmp_path):
    from analysis.report.validation import write_validation_outputs
    from analysis.study.validate import validate

    data = simulate_cohort(bfi_spec, n=40, seed=1).responses  # synthetic
    res = validate(data, bfi_spec, n_boot=0, n_iter=2)
    paths = write_validation_outputs(res, tmp_path / "validation" / "run1")
    assert {p.name for p in paths.values()} == {"results.json", "tables.xlsx", "report.html"}
    assert all(p.is_file() and p.parent == tmp_path / "validation" / "run1" for p in paths.values())


# --------------------------------------------------------------------------------------------
# 11. mhdq cvi on blank rating forms refuses with one message
# --------------------------------------------------------------------------------------------
def test_cvi_on_blank_forms_refuses_with_one_message(capsys, tmp_path):
    import shutil

    from analysis.cli import main

    form = tmp_path / "form.xlsx"
    main(["cvi-form", "--out", str(form)])
    copies = [shutil.copy(form, tmp_path / f"expert{n}.xlsx") for n in range(2)]
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["cvi", *map(str, copies)])
    out, err = capsys.readouterr()
    assert exc.value.code == 1
    assert "none of the 2 rating form(s) has a rating" in err
    assert "rating_missing" not in out + err and "NaN" not in out + err
    assert "Traceback" not in out + err


def test_content_validity_refuses_ratings_with_no_values():
    from analysis.study.content_validity import content_validity

    blank = pd.DataFrame({"e1": [np.nan, np.nan]}, index=pd.Index(["q1", "q2"], name="item"))
    with pytest.raises(ValueError, match="no item has a rating"):
        content_validity(blank)


# --------------------------------------------------------------------------------------------
# 17. Printed to PDF, a tall figure (the Likert chart of every item) stays on one page
# --------------------------------------------------------------------------------------------
def test_a_tall_report_figure_prints_on_one_page(tmp_path):
    from analysis.report import plots
    from analysis.report.html import HtmlReport
    from tests.browser import image_pages, print_to_pdf

    rng = np.random.default_rng(1)
    shares = pd.DataFrame(rng.dirichlet(np.ones(5), size=66), index=[f"i{n}" for n in range(66)])
    report = HtmlReport("Print check (synthetic shares)")
    report.section("Answers")
    report.paragraph("Some text before the figure so that it does not start at the page top.")
    ax = plots.likert_bars(shares, title="Answers to the items of the instrument")
    report.figure(ax.figure, caption="Share of answers per category", alt="Likert bars")
    pdf = print_to_pdf(report.write(tmp_path / "report.html"))
    pages = image_pages(pdf)
    drawn_on = [n for n, boxes in enumerate(pages) if boxes]
    assert len(drawn_on) == 1, f"the figure is drawn on pages {drawn_on}"
    ((left, bottom, right, top),) = pages[drawn_on[0]]
    assert bottom >= 0 and top <= 842 and left >= 0 and right <= 595  # inside the A4 page (pt)


# --------------------------------------------------------------------------------------------
# 2. Every CFA model states the respondents it used
# --------------------------------------------------------------------------------------------
def test_cfa_table_shows_each_models_n(bfi_spec):
    from analysis.report.validation import build_report, verdicts
    from analysis.study.validate import validate

    data = simulate_cohort(bfi_spec, n=300, seed=4).responses  # synthetic
    items = [c for c in bfi_spec.item_ids if c in data]
    data.loc[data.index[:40], items[0]] = np.nan  # more rows lose an answer: listwise CFA n falls
    res = validate(data, bfi_spec, n_boot=0, n_iter=2, cfa_missing="listwise")
    ns = {int(f.n_obs_) for f in res.cfa.values()}
    assert len(ns) == 1
    n_cfa = ns.pop()
    assert n_cfa < res.data.n_used == 300
    sheet = res.tables()["CFA fit comparison"]
    assert sheet["n_obs"].tolist() == [n_cfa] * len(sheet)
    html = build_report(res).render()
    table = html[html.index("Model comparison") :]
    table = table[: table.index("</table>")]
    assert ">n</th>" in table and table.count(f">{n_cfa}<") == len(sheet)
    sample = next(v for v in verdicts(res) if v.label.startswith("sample size"))
    assert f"n = {n_cfa} (the respondents the CFA used, of 300 analysed)" in sample.label


# --------------------------------------------------------------------------------------------
# 10. mhdq score's progress total is corrected as the file is read
# --------------------------------------------------------------------------------------------
def test_score_progress_never_shows_more_rows_than_its_total(tmp_path):
    from analysis.cli.score import RowTotal
    from instrument.batch.pipeline import estimate_rows

    # long lines first, short ones after: the size-based estimate falls short of the rows
    path = tmp_path / "skewed.csv"
    long_rows = "\n".join(f"{n},{'x' * 200}" for n in range(400))
    short_rows = "\n".join(f"{n},y" for n in range(400, 3000))
    path.write_text("id,text\n" + long_rows + "\n" + short_rows + "\n", encoding="utf-8")
    actual = 3000
    estimate = estimate_rows(path)
    assert estimate is not None and estimate < actual  # the case that printed 200000/199022
    rows = RowTotal({str(path): estimate})
    for _ in range(actual // 500):
        rows.add(500, str(path))
        assert rows.completed <= rows.total
    rows.finish()
    assert rows.completed == rows.total == actual


# --------------------------------------------------------------------------------------------
# 9. Progress through a callback in the API; warnings as clean grouped lines
# --------------------------------------------------------------------------------------------
def test_validate_reports_progress_step_by_step(bfi_spec):
    from analysis.study.validate import VALIDATION_STEPS, validate

    calls = []
    data = simulate_cohort(bfi_spec, n=40, seed=1).responses  # synthetic
    validate(data, bfi_spec, n_boot=0, n_iter=2, progress=lambda *a: calls.append(a))
    done = [c[0] for c in calls]
    assert done == sorted(done) and calls[-1] == (len(VALIDATION_STEPS),) * 2 + ("done",)
    assert {c[1] for c in calls} == {len(VALIDATION_STEPS)}
    assert {c[2] for c in calls[:-1]} <= set(VALIDATION_STEPS) and len(calls) >= 4


def test_plan_study_reports_each_cohort(bfi_spec):
    from analysis.simulate.plan import plan_study

    calls = []
    plan_study(bfi_spec, n=40, reps=3, seed=1, cfa_model=None, omega_n_boot=0,
               progress=lambda *a: calls.append(a))  # fmt: skip
    assert [c[:2] for c in calls] == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert all("N = 40" in c[2] for c in calls)


def test_attrition_bootstrap_progress_leaves_the_results_unchanged():
    from analysis.attrition.validation import validate_logistic

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"cohesion": rng.normal(size=200)})  # synthetic
    y = (rng.random(200) < 1 / (1 + np.exp(X["cohesion"]))).astype(int)
    calls = []
    quiet = validate_logistic(X, y, n_boot=30, seed=1, n_jobs=1)
    shown = validate_logistic(
        X, y, n_boot=30, seed=1, n_jobs=1, progress=lambda *a: calls.append(a)
    )
    pd.testing.assert_frame_equal(quiet.table, shown.table)
    assert calls[0][:2] == (0, 30) and calls[-1][:2] == (30, 30) and len(calls) > 3
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)


def test_cli_progress_is_silenced_by_quiet_and_off_a_terminal(monkeypatch):
    import sys

    from analysis.cli.feedback import progress_display

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    with progress_display("validating", quiet=True) as progress:
        assert progress is None
    with progress_display("validating", quiet=False) as progress:
        assert callable(progress)
        progress(1, 3, "reliability")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    with progress_display("validating", quiet=False) as progress:
        assert progress is None


def test_warnings_are_one_clean_line_each_grouped(capsys):
    import warnings

    from analysis.cli.feedback import clean_warnings
    from instrument.errors import DataQualityWarning

    with clean_warnings():
        for _ in range(2):
            warnings.warn("101 of 200 bootstrap resamples failed", DataQualityWarning, stacklevel=1)
        warnings.warn("another\n  problem", DataQualityWarning, stacklevel=1)
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "Warning: 101 of 200 bootstrap resamples failed (2 times)",
        "Warning: another problem",
    ]


@pytest.mark.parametrize("command", ["plan", "simulate", "validate"])
def test_long_commands_take_quiet(command):
    from click.testing import CliRunner

    from analysis.cli import cli

    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0 and "--quiet" in result.output and "progress" in result.output


def test_build_forms_creates_the_folder(mhdq_spec, tmp_path):
    from instrument.forms import build_forms

    paths = build_forms(mhdq_spec, tmp_path / "forms" / "nb", lang="nb", formats=["xlsx", "html"])
    assert all(p.is_file() and p.parent == tmp_path / "forms" / "nb" for p in paths.values())


# --------------------------------------------------------------------------------------------
# 13. Messages that say where and what is allowed
# --------------------------------------------------------------------------------------------
def test_duplicate_id_names_the_first_row_and_age_error_names_the_range(mhdq_spec, tmp_path):
    from instrument.check import check_responses
    from instrument.read import read_responses

    data = simulate_cohort(mhdq_spec, n=10, seed=1).responses  # synthetic
    data = data.astype({"respondent_id": object, "age": object})
    data.loc[5, "respondent_id"] = data.loc[1, "respondent_id"]
    data.loc[2, "age"] = "forty"
    path = tmp_path / "answers.csv"
    data.to_csv(path, index=False)
    checked = check_responses(read_responses(path, mhdq_spec), mhdq_spec)
    by_rule = {p.rule: p for p in checked.problems}
    dup = by_rule["duplicate_respondent_id"]
    assert dup.row == 7 and "already used in row 3;" in dup.message  # file rows: header is row 1
    age = next(p for p in checked.problems if p.column == "age")
    assert "a whole number from 16 to 100" in age.message


def test_score_summary_says_one_empty_row(mhdq_spec, tmp_path, capsys):
    from analysis.cli import main

    data = simulate_cohort(mhdq_spec, n=10, seed=1).responses  # synthetic
    path = tmp_path / "answers.csv"
    text = data.to_csv(index=False)
    path.write_text(text + "," * (data.shape[1] - 1) + "\n", encoding="utf-8")
    main(["score", str(path), "--out", str(tmp_path / "scores.csv")])
    out = capsys.readouterr().out
    assert "(1 empty row skipped)" in out


# --------------------------------------------------------------------------------------------
# 14. Specification errors name the item
# --------------------------------------------------------------------------------------------
def test_spec_errors_name_the_item():
    from pathlib import Path

    import yaml

    from instrument.errors import SpecError
    from instrument.spec import load_instrument

    raw = yaml.safe_load((Path(__file__).parent.parent / "examples" / "bfi.yaml").read_text())
    item_id = raw["items"][6]["id"]
    raw["items"][6]["scale"] = "no_such_scale"
    with pytest.raises(SpecError) as exc:
        load_instrument(raw)
    problem = next(p for p in exc.value.problems if p.path == "items[6].scale")
    assert problem.element == item_id
    assert f"items[6].scale ({item_id}): " in str(exc.value)


# --------------------------------------------------------------------------------------------
# 16. Answer labels typed in item cells are read as codes, and a counted info record says so
# --------------------------------------------------------------------------------------------
def test_answer_labels_read_as_codes_leave_one_counted_record(mhdq_spec, tmp_path):
    from instrument.read import read_responses

    data = simulate_cohort(mhdq_spec, n=10, seed=1).responses  # synthetic
    item = mhdq_spec.item_ids[0]
    scale = mhdq_spec.response_scale_of(item)
    agree = scale.labels["en"][scale.codes.index(4)]
    data[item] = data[item].astype(object)
    data.loc[[0, 3, 7], item] = agree.lower()
    path = tmp_path / "answers.csv"
    data.to_csv(path, index=False)
    table = read_responses(path, mhdq_spec)
    assert (table.items.loc[[0, 3, 7], item] == 4).all()
    records = [p for p in table.problems if p.rule == "answer_label_coded"]
    assert len(records) == 1 and records[0].severity == "info"
    assert "3 answer(s)" in records[0].message and f"{item} (3)" in records[0].message
