"""Reading several waves and linking respondents (instrument/waves.py)."""

import json
from pathlib import Path

import pandas as pd
import pytest

from instrument.errors import DataError
from instrument.score import score_items
from instrument.spec import load_instrument
from instrument.waves import LINKAGE_RULES, read_waves

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def msq():
    return load_instrument(DATA / "msqR_spec.yaml")


@pytest.fixture(scope="module")
def bfi():
    return load_instrument(Path(__file__).parents[1] / "examples" / "bfi.yaml")


def rules(table):
    return [
        (p.rule, p.file.split("/")[-1], p.row) for p in table.problems if p.rule in LINKAGE_RULES
    ]


def test_one_file_with_wave_column_gives_person_period(msq):
    table = read_waves(DATA / "msqR_xray_waves.csv", msq, wave="time", id_column="id")
    pp = table.person_period
    assert table.waves == ("1", "2")
    assert list(pp.columns[:5]) == [
        "respondent_id",
        "wave",
        "wave_index",
        "source_file",
        "source_row",
    ]
    assert table.summary()["n_rows"].tolist() == [175, 175]
    assert not pp.duplicated(["respondent_id", "wave"]).any()
    assert table.problems == []  # the wave column is read, not an unknown column
    assert table.item_columns == msq.item_ids


def test_person_period_scores_reproduce_psych_icc(msq):
    # read -> score -> test-retest equals psych::ICC on the same data (icc_reference.json)
    from analysis.longitudinal import test_retest

    table = read_waves(DATA / "msqR_xray_waves.csv", msq, wave="time", id_column="id")
    pp = table.person_period
    scores = pd.concat([pp[["respondent_id", "wave"]], score_items(pp, msq)], axis=1)
    ref = json.loads((DATA / "icc_reference.json").read_text())
    result = test_retest(scores, scales=["EA", "TA"])
    for scale in ("EA", "TA"):
        # psych::ICC(cbind(time1, time2), lmer = FALSE)$results["ICC2", "ICC"]
        assert result[scale].icc.at["ICC2", "estimate"] == pytest.approx(
            ref[scale]["icc"][1], abs=1e-13
        )


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_linkage_problems_are_records(tmp_path, bfi):
    f = write(
        tmp_path / "all.csv",
        "respondent_id,wave,date,A1,A2\n"
        "r1,0,2024-01-10,2,5\n"  # row 2
        "r2,0,2024-01-11,4,4\n"  # row 3
        "r2,0,2024-01-12,3,3\n"  # row 4: duplicate of r2 at wave 0
        "r1,6,2024-07-10,3,5\n"  # row 5
        "r2,6,2023-12-01,3,5\n"  # row 6: before r2's baseline date
        "r3,6,2024-07-12,4,4\n"  # row 7: first seen at wave 6
        "r1,,2024-08-01,1,1\n"  # row 8: no wave
        "r1,9,2024-09-01,1,1\n"  # row 9: undeclared wave
        "r3,12,soon,4,4\n",  # row 10: date not understood
    )
    table = read_waves(f, bfi, wave="wave", date="date", waves=["0", "6", "12"])
    found = sorted(rules(table), key=lambda r: (r[2] or 0, r[0]))
    assert found == [
        ("duplicate_id_in_wave", "all.csv", 4),
        ("wave_dates_out_of_order", "all.csv", 6),
        ("id_not_in_first_wave", "all.csv", 7),
        ("wave_missing", "all.csv", 8),
        ("unknown_wave", "all.csv", 9),
        ("date_not_understood", "all.csv", 10),
    ]
    pp = table.person_period
    assert pp["source_row"].tolist() == [2, 3, 5, 6, 7, 10]
    assert pp["wave"].tolist() == ["0", "0", "6", "6", "6", "12"]
    assert str(pp["date"].dtype).startswith("datetime64")
    # problem records never quote an id
    assert all(p.value is None for p in table.problems if p.column == "respondent_id")
    assert not any("r2" in p.message for p in table.problems)


def test_one_file_per_wave(tmp_path, bfi):
    t0 = write(tmp_path / "t0.csv", "id,A1,A2,when\nr1,2,5,2024-01-01\nr2,4,4,2024-01-02\n")
    t6 = write(tmp_path / "t6.csv", "id,A1,A2,when\nr2,3,3,2024-06-01\nr1,3,5,2024-06-02\n")
    table = read_waves({"baseline": t0, "6 months": t6}, bfi, id_column="id", date="when")
    assert table.waves == ("baseline", "6 months")
    pp = table.person_period
    assert pp["respondent_id"].tolist() == ["r1", "r2", "r2", "r1"]
    assert rules(table) == []
    assert table.wave("6 months")["A1"].tolist() == [3.0, 3.0]
    pairs = read_waves([(t0, "a"), (t6, "b")], bfi, id_column="id")
    assert pairs.waves == ("a", "b")


def test_wave_order_contradicting_dates_is_flagged(tmp_path, bfi):
    t0 = write(tmp_path / "t0.csv", "respondent_id,A1,d\nr1,2,2024-06-01\n")
    t6 = write(tmp_path / "t6.csv", "respondent_id,A1,d\nr1,3,2024-01-01\n")
    table = read_waves({"t0": t0, "t6": t6}, bfi, date="d")
    assert {r[0] for r in rules(table)} == {
        "wave_dates_out_of_order",
        "wave_order_contradicts_dates",
    }


def test_workbook_and_parquet_wave_columns(tmp_path, bfi):
    frame = pd.DataFrame({"respondent_id": ["r1", "r2", "r1"], "Wave": [1, 1, 2], "A1": [2, 4, 3]})
    frame.to_excel(tmp_path / "w.xlsx", index=False)
    frame.to_parquet(tmp_path / "w.parquet", index=False)
    for name in ("w.xlsx", "w.parquet"):
        table = read_waves(tmp_path / name, bfi, wave="wave")
        assert table.waves == ("1", "2"), name
        assert table.person_period["A1"].tolist() == [2.0, 4.0, 3.0], name


def test_errors_name_the_problem(tmp_path, bfi):
    f = write(tmp_path / "x.csv", "A1,A2,wave\n2,5,1\n")
    with pytest.raises(DataError, match="no respondent-id column"):
        read_waves(f, bfi, wave="wave")
    g = write(tmp_path / "y.csv", "respondent_id,A1\nr1,2\n")
    with pytest.raises(DataError, match="'wave'.*not found"):
        read_waves(g, bfi, wave="wave")
    with pytest.raises(ValueError, match="name its wave column"):
        read_waves(g, bfi)
    with pytest.raises(ValueError, match="not both"):
        read_waves({"a": g}, bfi, wave="wave")
    with pytest.raises(ValueError, match="more than one file"):
        read_waves([(g, "a"), (f, "a")], bfi)
