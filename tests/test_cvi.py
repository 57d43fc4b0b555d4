"""Content validity: published I-CVI / p_c / k* values, S-CVI, the rating form, the reader and `mhdq cvi`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from analysis.cli import main
from analysis.study.content_validity import (
    chance_agreement,
    content_validity,
    kappa_rating,
    modified_kappa,
)
from instrument.forms.cvi_form import FIRST_DATA_ROW, read_cvi_forms, write_cvi_form

ROOT = Path(__file__).resolve().parent.parent
FORMS_SPEC = str(ROOT / "tests/data/forms_spec.yaml")


def ratings_with(n_experts: int, n_relevant: int) -> pd.DataFrame:
    """One item rated 4 by n_relevant experts and 2 by the others."""
    values = [4] * n_relevant + [2] * (n_experts - n_relevant)
    return pd.DataFrame(
        [values], index=pd.Index(["q"], name="item"), columns=[f"e{i}" for i in range(n_experts)]
    )


# Polit, Beck & Owen (2007), Res Nurs Health 30:459, Table 2 (I-CVI, p_c, k*), as listed in
# BMC table PMC5557472 Tab10; the 6/5 row is the same formula. Published to 2 (I-CVI, k*) and
# 3 (p_c) decimals, so the tolerance is half a unit in the last published digit.
PUBLISHED = [
    (10, 8, 0.80, 0.044, 0.79, "excellent"),
    (10, 7, 0.70, 0.117, 0.66, "good"),
    (9, 7, 0.78, 0.070, 0.76, "excellent"),
    (10, 10, 1.00, 0.001, 1.00, "excellent"),
    (6, 5, 0.83, 0.094, 0.82, "excellent"),
]


@pytest.mark.parametrize("n, a, i_cvi, p_c, kappa, rating", PUBLISHED)
def test_published_values(n, a, i_cvi, p_c, kappa, rating):
    row = content_validity(ratings_with(n, a)).items.loc["q"]
    assert (row["n_experts"], row["n_relevant"]) == (n, a)
    assert row["i_cvi"] == pytest.approx(i_cvi, abs=0.005)
    assert row["p_c"] == pytest.approx(p_c, abs=0.0005)
    assert row["kappa"] == pytest.approx(kappa, abs=0.005)
    assert row["rating"] == rating
    assert chance_agreement(n, a) == pytest.approx(p_c, abs=0.0005)
    assert modified_kappa(a / n, chance_agreement(n, a)) == pytest.approx(kappa, abs=0.005)


def test_bands_and_decisions():
    # Polit, Beck & Owen 2007: excellent > .74, good .60-.74, fair .40-.59, poor < .40
    assert [kappa_rating(k) for k in (0.75, 0.74, 0.60, 0.59, 0.40, 0.39)] == [
        "excellent",
        "good",
        "good",
        "fair",
        "fair",
        "poor",
    ]
    items = content_validity(
        pd.concat([ratings_with(10, a).rename(index={"q": f"q{a}"}) for a in (9, 7, 6, 5)])
    ).items
    assert items["decision"].tolist() == [
        "keep",
        "revise",
        "revise",
        "drop",
    ]  # k* .89, .66, .47, .27


def test_lynn_standard():
    items = content_validity(
        pd.concat(
            [
                ratings_with(5, 5).rename(index={"q": "a"}),
                ratings_with(5, 4).rename(index={"q": "b"}),
                ratings_with(9, 7).rename(index={"q": "c"}),
                ratings_with(6, 4).rename(index={"q": "d"}),
            ]
        )
    ).items
    assert items["meets_lynn"].tolist() == [True, False, True, False]


def test_scale_indices_and_missing_ratings():
    ratings = pd.DataFrame(
        {"e1": [4, 3, 4, 1], "e2": [3, 4, np.nan, 2], "e3": [4, 4, 2, np.nan]},
        index=pd.Index(["a", "b", "c", "d"], name="item"),
    )
    result = content_validity(ratings, scales={"s1": ["a", "b", "c"], "s2": ["d"], "empty": ["zz"]})
    assert result.items["n_experts"].tolist() == [3, 3, 2, 2]
    assert result.items["i_cvi"].tolist() == [1.0, 1.0, 0.5, 0.0]
    # S-CVI/Ave = mean I-CVI = (1 + 1 + .5) / 3; S-CVI/UA = 2 of 3 items rated 3-4 by every expert
    assert result.scales.loc["s1", "s_cvi_ave"] == pytest.approx(2.5 / 3)
    assert result.scales.loc["s1", "s_cvi_ua"] == pytest.approx(2 / 3)
    assert result.scales.loc["s2", "s_cvi_ua"] == 0.0
    assert result.scales.loc["empty", "n_items"] == 0 and np.isnan(
        result.scales.loc["empty", "s_cvi_ave"]
    )
    assert result.n_experts == 3


def test_invalid_ratings_are_named():
    ratings = pd.DataFrame({"e1": [4, 5], "e2": [3, "x"]}, index=["a", "b"])
    with pytest.raises(ValueError, match=r"b/e1, b/e2"):
        content_validity(ratings)
    with pytest.raises(ValueError, match="more than once"):
        content_validity(pd.DataFrame({"e1": [4, 4]}, index=["a", "a"]))


# --- the rating form and its reader -----------------------------------------------------------
def test_rating_form_layout(forms_spec, tmp_out):
    path = write_cvi_form(forms_spec, tmp_out / "cvi.xlsx", lang="en", group="AA")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Instructions", "Ratings", "_mhdq"]
    meta = {k: v for k, v in wb["_mhdq"].iter_rows(values_only=True)}
    assert (
        meta["form"] == "cvi"
        and meta["fingerprint"] == forms_spec.fingerprint
        and meta["n_items"] == 6
    )
    ws = wb["Ratings"]
    assert ws["A1"].value == "Expert name or ID" and ws["B1"].protection.locked is False
    assert ws.protection.sheet is True
    rows = list(ws.iter_rows(min_row=FIRST_DATA_ROW, values_only=True))
    assert [r[0] for r in rows] == ["fit1", "fit2", "tru1", "tru2", "dou1", "dou2"]
    assert rows[0][1:4] == (
        "Fitting in",
        "Feeling that one fits in with AA.",
        "I feel at home in AA.",
    )
    assert rows[3][3].startswith("'=")  # neutralised
    relevance = next(dv for dv in ws.data_validations.dataValidation if "E4" in dv.sqref)
    assert (relevance.type, relevance.formula1, relevance.formula2) == ("whole", "1", "4")
    assert (
        relevance.showErrorMessage is True
        and relevance.errorStyle == "stop"
        and "E9" in relevance.sqref
    )
    assert "4 = highly relevant" in relevance.prompt
    assert ws.cell(row=FIRST_DATA_ROW, column=5).protection.locked is False
    instructions = [c.value for c in wb["Instructions"]["A"]]
    assert any(v == "1 = not relevant" for v in instructions)


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_mhdq_rating_form(mhdq_spec, tmp_out, lang):
    wb = openpyxl.load_workbook(write_cvi_form(mhdq_spec, tmp_out / f"cvi-{lang}.xlsx", lang=lang))
    meta = {k: v for k, v in wb["_mhdq"].iter_rows(values_only=True)}
    ws = wb[meta["ratings_sheet"]]
    rows = list(ws.iter_rows(min_row=FIRST_DATA_ROW, values_only=True))
    assert sorted(r[0] for r in rows) == sorted(mhdq_spec.item_ids) and meta["n_items"] == len(
        mhdq_spec.items
    )
    assert all(r[2] for r in rows)  # every item shows its facet's definition


def fill(
    form: Path,
    out: Path,
    expert: str | None,
    ratings: dict,
    *,
    comments: dict | None = None,
    sheet=None,
):
    wb = openpyxl.load_workbook(form)
    ws = wb[sheet or "Ratings"]
    ws["B1"] = expert
    for row in range(FIRST_DATA_ROW, ws.max_row + 1):
        item = ws.cell(row=row, column=1).value
        if item in ratings:
            ws.cell(row=row, column=5, value=ratings[item])
        if comments and item in comments:
            ws.cell(row=row, column=6, value=comments[item])
    wb.save(out)
    return out


def synthetic_experts(form: Path, folder: Path) -> list[Path]:
    """Six synthetic experts: fit1 rated relevant by 5 of 6, tru2 by 2 of 6, the others by all."""
    paths = []
    for n in range(6):
        ratings = {
            "fit1": 4 if n < 5 else 1,
            "fit2": 3,
            "tru1": 4,
            "tru2": 3 if n < 2 else 2,
            "dou1": 4,
            "dou2": 3,
        }
        paths.append(
            fill(
                form,
                folder / f"expert{n}.xlsx",
                f"Synthetic expert {n}",
                ratings,
                comments={"tru2": "unclear"} if n == 0 else None,
            )
        )
    return paths


def run(capsys, *args):
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_end_to_end(capsys, forms_spec, tmp_out):
    code, out, _ = run(
        capsys, "cvi-form", "--instrument", FORMS_SPEC, "--out", str(tmp_out / "form.xlsx")
    )
    assert code == 0 and out.strip() == str(tmp_out / "form.xlsx")
    files = synthetic_experts(tmp_out / "form.xlsx", tmp_out)
    code, out, err = run(
        capsys,
        "cvi",
        *map(str, files),
        "--instrument",
        FORMS_SPEC,
        "--format",
        "json",
        "--out",
        str(tmp_out / "cvi.xlsx"),
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["n_experts"] == 6
    items = {row["item"]: row for row in result["items"]}
    # 6 experts, 5 relevant: I-CVI .83, p_c .094, k* .82 (Polit, Beck & Owen 2007 formula)
    assert (items["fit1"]["i_cvi"], items["fit1"]["p_c"], items["fit1"]["kappa"]) == (
        0.83,
        0.094,
        0.82,
    )
    assert items["fit1"]["decision"] == "keep" and items["fit2"]["i_cvi"] == 1.0
    # 6 experts, 2 relevant: p_c = C(6,2)/64 = .234, k* = (.333-.234)/.766 = .13 -> drop
    assert (items["tru2"]["p_c"], items["tru2"]["kappa"], items["tru2"]["decision"]) == (
        0.234,
        0.13,
        "drop",
    )
    scales = {row["scale"]: row for row in result["scales"]}
    assert scales["doubt"]["s_cvi_ua"] == 1.0 and scales["bel_fit"]["s_cvi_ua"] == 0.5
    assert scales["total"]["s_cvi_ave"] == round((5 / 6 + 1 + 1 + 2 / 6 + 1 + 1) / 6, 2)
    book = openpyxl.load_workbook(tmp_out / "cvi.xlsx")
    assert book.sheetnames == ["items", "scales", "comments", "problems", "about"]
    assert [c.value for c in book["comments"][2]] == ["Synthetic expert 0", "tru2", "unclear"]
    code, out, _ = run(capsys, "cvi", *map(str, files), "--instrument", FORMS_SPEC)
    assert code == 0 and "excellent" in out and "S-CVI" in out and "Polit, Beck & Owen 2007" in out


def test_reader_reports_every_problem(forms_spec, tmp_out):
    form = write_cvi_form(forms_spec, tmp_out / "form.xlsx")
    good = fill(
        form,
        tmp_out / "good.xlsx",
        "A",
        {"fit1": 4, "fit2": 3, "tru1": 4, "tru2": 3, "dou1": 4, "dou2": 3},
    )
    bad = fill(
        form,
        tmp_out / "bad.xlsx",
        "B",
        {"fit1": 5, "fit2": "x", "tru1": 3.0, "tru2": "2", "dou1": None},
    )
    wb = openpyxl.load_workbook(bad)
    wb["Ratings"]["A9"] = "zzz"  # edited item id (dou2)
    wb["Ratings"]["E9"] = 4
    wb.save(bad)
    duplicate = fill(form, tmp_out / "dup.xlsx", "A", {"fit1": 4})
    anonymous = fill(form, tmp_out / "anon.xlsx", None, {"fit1": 4})
    other = tmp_out / "other.xlsx"
    openpyxl.Workbook().save(other)
    result = read_cvi_forms(
        [good, bad, duplicate, anonymous, other, tmp_out / "missing.xlsx"], instrument=forms_spec
    )
    found = {(Path(p.file).name, p.row, p.column, p.rule, p.severity) for p in result.problems}
    assert found == {
        ("bad.xlsx", 4, "E", "rating_out_of_range", "error"),
        ("bad.xlsx", 5, "E", "rating_out_of_range", "error"),
        ("bad.xlsx", 8, "E", "rating_missing", "warning"),
        ("bad.xlsx", 9, "A", "unknown_item", "error"),
        ("dup.xlsx", 1, "B1", "duplicate_expert", "error"),
        ("anon.xlsx", 1, "B1", "expert_missing", "warning"),
        ("anon.xlsx", 5, "E", "rating_missing", "warning"),
        ("anon.xlsx", 6, "E", "rating_missing", "warning"),
        ("anon.xlsx", 7, "E", "rating_missing", "warning"),
        ("anon.xlsx", 8, "E", "rating_missing", "warning"),
        ("anon.xlsx", 9, "E", "rating_missing", "warning"),
        ("other.xlsx", None, None, "not_a_cvi_form", "error"),
        ("missing.xlsx", None, None, "file_not_found", "error"),
    }
    assert result.has_errors
    assert (
        result.ratings.loc["tru1", "B"] == 3.0 and result.ratings.loc["tru2", "B"] == 2.0
    )  # 3.0 and "2" accepted
    assert list(result.ratings.columns) == ["A", "B", "anon"]


def test_cli_errors(capsys, forms_spec, tmp_out):
    form = write_cvi_form(forms_spec, tmp_out / "form.xlsx")
    bad = fill(form, tmp_out / "bad.xlsx", "B", {"fit1": 7})
    code, _, err = run(capsys, "cvi", str(bad), "--instrument", FORMS_SPEC)
    assert code == 1 and "bad.xlsx" in err and "rating_out_of_range" in err and " E " in err
    code, _, err = run(capsys, "cvi", str(bad))  # forms of FTQ read against the embedded MHDQ
    assert code == 2 and "--instrument" in err
    code, _, err = run(
        capsys, "cvi", str(bad), "--instrument", FORMS_SPEC, "--out", str(tmp_out / "x.csv")
    )
    assert code == 2 and ".xlsx" in err
    code, _, err = run(capsys, "cvi-form", "--out", str(tmp_out / "form.txt"))
    assert code == 2 and ".xlsx" in err
    code, _, err = run(capsys, "cvi-form", "--lang", "fr", "--out", str(tmp_out / "f.xlsx"))
    assert code == 2 and "allowed: en, nb" in err
    code, _, err = run(capsys, "cvi")
    assert code == 2


def test_reader_rejects_a_damaged_layout(forms_spec, tmp_out):
    form = write_cvi_form(forms_spec, tmp_out / "form.xlsx")
    wb = openpyxl.load_workbook(form)
    meta = wb["_mhdq"]
    row = next(
        r
        for r in range(1, meta.max_row + 1)
        if meta.cell(row=r, column=1).value == "first_data_row"
    )
    meta.cell(row=row, column=2, value="abc")
    wb.save(form)
    problems = read_cvi_forms([form]).problems
    assert [(p.rule, p.severity) for p in problems] == [("not_a_cvi_form", "error")]
