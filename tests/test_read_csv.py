"""Reading delimited text: CSV/TSV dialects, encodings, row numbers, column matching, chunks.

All files here are synthetic (tests/data/exports/, or written by the tests); expected values are
the cells as written into those files.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from instrument.errors import DataError
from instrument.io.safety import ReadLimits
from instrument.read import detect_platform, iter_response_chunks, read_responses
from instrument.spec import load_instrument

EXPORTS = Path(__file__).parent / "data" / "exports"
ITEMS = ["fit_1", "fit_2", "fit_3", "ppl_1", "ppl_2", "ppl_3"]


@pytest.fixture(scope="module")
def mini():
    return load_instrument(EXPORTS / "mini.yaml")


def rules(table) -> list[str]:
    return [p.rule for p in table.problems]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_semicolon_bom_crlf_quotes(mini):
    table = read_responses(EXPORTS / "semicolon_bom_crlf.csv", mini)
    assert table.platform == "csv"
    assert list(table.items.columns) == ITEMS
    assert (table.items.dtypes == "float64").all()
    assert table.items.iloc[0].tolist()[:4] == [4.0, 5.0, 2.0, 3.0] and math.isnan(
        table.items.iloc[0, 4]
    )
    assert table.items.iloc[1].tolist() == [
        1.0,
        2.0,
        3.0,
        4.0,
        5.0,
        9.0,
    ]  # quoted numbers are numbers
    assert table.background["comment"].tolist()[:2] == ["a; b", 'He said "hi"']
    # "1 3" in one cell of a multiple-choice question becomes 0/1 columns
    assert table.background.loc[0, ["groups_1", "groups_2", "groups_3", "groups_0"]].tolist() == [
        1,
        0,
        1,
        0,
    ]
    assert table.background.loc[2, ["groups_1", "groups_0"]].tolist() == [0, 1]
    assert table.meta["source_row"].tolist() == [2, 3, 4]
    # the third row has no id: generated from the file stem and row
    assert table.meta["respondent_id"].tolist() == ["P01", "P02", "semicolon_bom_crlf:4"]
    assert [(p.column, p.severity) for p in table.problems if p.rule == "unknown_column"] == [
        ("notes", "info")
    ]
    assert len(table.items) == len(table.meta) == len(table.background) == 3


def test_tsv_case_insensitive_ids_and_labels(mini):
    table = read_responses(EXPORTS / "plain.tsv", mini)
    assert list(table.items.columns) == ITEMS  # FIT_1 matched to fit_1
    assert table.items["ppl_3"].tolist() == [1.0, 4.0]  # "Agree" is the label of code 4
    assert detect_platform(EXPORTS / "plain.tsv") == "csv"


def test_text_in_item_column_is_kept_for_the_checks(tmp_path, mini):
    path = write(tmp_path / "t.csv", "fit_1,fit_2\n1,2\nabc,3\n 4 ,\n")
    table = read_responses(path, mini)
    assert table.items["fit_1"].dtype == object
    assert table.items["fit_1"].tolist() == [1.0, "abc", 4.0]
    assert table.items["fit_2"].dtype == "float64"


def test_na_markers_are_blank(tmp_path, mini):
    path = write(tmp_path / "t.csv", "fit_1,fit_2,fit_3\nNA,#N/A,3\n1,nan,NULL\n")
    table = read_responses(path, mini)
    assert table.items.isna().sum().tolist() == [1, 2, 1]


def test_blank_line_keeps_row_numbers(tmp_path, mini):
    path = write(tmp_path / "t.csv", "fit_1,fit_2\n1,2\n\n3,4\n,\n5,1\n\n\n")
    table = read_responses(path, mini)
    assert table.items["fit_1"].tolist() == [1.0, 3.0, 5.0]
    # row 3 is blank and row 5 holds only empty fields: not respondents, but the rows count, and
    # each skipped row has its record; the blank lines after the last row are not rows
    assert table.meta["source_row"].tolist() == [2, 4, 6]
    assert [p.row for p in table.problems if p.rule == "empty_row_skipped"] == [3, 5]


def test_ragged_row_is_reported(tmp_path, mini):
    path = write(tmp_path / "t.csv", "fit_1,fit_2\n1,2\n3,4,5\n2\n")
    table = read_responses(path, mini)
    assert table.meta["source_row"].tolist() == [2, 3, 4]
    extra = [p for p in table.problems if p.rule == "extra_fields"]
    assert [(p.row, p.severity) for p in extra] == [(3, "error")]
    assert math.isnan(table.items.loc[2, "fit_2"])


def test_quoted_line_break_late_in_file(tmp_path, mini):
    rows = "".join(f"{i % 5 + 1},x\n" for i in range(10))
    path = write(tmp_path / "t.csv", "fit_1,comment\n" + rows + '3,"two\nlines"\n4,y\n')
    table = read_responses(path, mini)
    assert table.background["comment"].iloc[-2] == "two\nlines"
    assert table.meta["source_row"].tolist() == list(range(2, 14))


def test_cp1252_fallback_warns(tmp_path, mini):
    path = write(tmp_path / "t.csv", "fit_1;comment\n1;Bodø – fint\n", encoding="cp1252")
    table = read_responses(path, mini)
    assert table.background["comment"].tolist() == ["Bodø – fint"]
    [problem] = [p for p in table.problems if p.rule == "encoding_fallback"]
    assert problem.severity == "warning" and "cp1252" in problem.message


def test_utf16_excel_unicode_text(tmp_path, mini):
    path = tmp_path / "t.txt"
    path.write_bytes("fit_1\tfit_2\tcomment\r\n1\t5\tæøå\r\n".encode("utf-16"))
    table = read_responses(path, mini)
    assert table.items.iloc[0].tolist()[:2] == [1.0, 5.0]
    assert table.background["comment"].tolist() == ["æøå"]


def test_duplicate_and_missing_columns(tmp_path, mini):
    path = write(tmp_path / "t.csv", "fit_1,FIT_1,fit_2\n1,5,2\n")
    table = read_responses(path, mini)
    assert table.items["fit_1"].tolist() == [1.0]  # the first column wins
    [dup] = [p for p in table.problems if p.rule == "duplicate_column"]
    assert dup.column == "FIT_1" and dup.severity == "error"
    missing = sorted(p.column for p in table.problems if p.rule == "missing_item_column")
    assert missing == ["fit_3", "ppl_1", "ppl_2", "ppl_3"]


def test_unknown_columns_warn_when_items_are_missing(tmp_path, mini):
    path = write(tmp_path / "t.csv", "fit_1,fit_2,fit_3,ppl_1,ppl_2,item6\n1,2,3,4,5,1\n")
    table = read_responses(path, mini)
    [unknown] = [p for p in table.problems if p.rule == "unknown_column"]
    assert unknown.severity == "warning" and "rename=" in unknown.message


def test_no_item_column_is_an_error(tmp_path, mini):
    path = write(tmp_path / "t.csv", "a,b\n1,2\n")
    with pytest.raises(DataError, match=r"t\.csv: no column matches an item of mini"):
        read_responses(path, mini)


def test_rename_and_recode(tmp_path, mini):
    path = write(tmp_path / "t.csv", "Q1,Q2,sex\n11,Strongly agree,F\n15,helt uenig,M\n13,,F\n")
    table = read_responses(
        path,
        mini,
        rename={"q1": "fit_1", "Q2": "fit_2", "sex": "gender", "nowhere": "fit_3"},
        recode={"fit_1": {11: 1, 12: 2, 13: 3, 14: 4, 15: 5}, "gender": {"F": 1, "M": 2}},
    )
    assert table.items["fit_1"].tolist() == [1.0, 5.0, 3.0]
    assert table.items["fit_2"].tolist()[:2] == [5.0, 1.0]  # labels in any language
    assert table.background["gender"].tolist() == [1.0, 2.0, 1.0]
    assert [p.column for p in table.problems if p.rule == "rename_unused"] == ["nowhere"]


def test_recode_for_every_item(tmp_path, mini):
    path = write(tmp_path / "t.csv", "fit_1,fit_2\n0,4\n2,x\n")
    table = read_responses(
        path, mini, recode={"*": {0: 1, 1: 2, 2: 3, 3: 4, 4: 5}, "fit_2": {4: 5}}
    )
    assert table.items["fit_1"].tolist() == [1.0, 3.0]
    assert table.items["fit_2"].tolist() == [5.0, "x"]  # its own map only; text kept


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"rename": {"a": "nonsense"}}, ValueError),
        ({"rename": ["a"]}, TypeError),
        ({"recode": {"nonsense": {1: 2}}}, ValueError),
        ({"recode": {"fit_1": {1: "two"}}}, ValueError),
        ({"platform": "sas"}, ValueError),
    ],
)
def test_bad_arguments(kwargs, error, mini):
    with pytest.raises(error):
        read_responses(EXPORTS / "plain.tsv", mini, **kwargs)


def test_platform_that_does_not_fit_the_file(mini):
    with pytest.raises(DataError, match="cannot be read as spss"):
        read_responses(EXPORTS / "plain.tsv", mini, platform="spss")
    with pytest.raises(DataError, match="not a Qualtrics export"):
        read_responses(EXPORTS / "plain.tsv", mini, platform="qualtrics")


def test_forced_platform_kobo_on_plain_csv(tmp_path, mini):
    path = write(tmp_path / "t.csv", "grp/fit_1,fit_2\n1,2\n")
    assert read_responses(path, mini, platform="kobo").platform == "kobo"


def test_chunks_equal_whole_read(tmp_path, mini):
    rng = np.random.default_rng(7)
    codes = rng.integers(1, 6, size=(1000, 6)).astype(float)
    codes[rng.random(codes.shape) < 0.1] = np.nan
    frame = pd.DataFrame(codes, columns=ITEMS)
    frame.insert(0, "respondent_id", [f"S{i}" for i in range(1000)])
    frame["fit_3"] = frame["fit_3"].astype(object)
    frame.loc[500, "fit_3"] = "oops"  # text partway through: the float path falls back
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    whole = read_responses(path, mini)
    chunks = list(iter_response_chunks(path, mini, chunk_rows=300))
    assert [len(c.items) for c in chunks] == [300, 300, 300, 100]
    joined = pd.concat([c.items for c in chunks])
    pd.testing.assert_frame_equal(joined, whole.items, check_dtype=False)
    assert pd.concat([c.meta for c in chunks])["source_row"].tolist() == list(range(2, 1002))
    assert joined.index.tolist() == list(range(1000))
    assert whole.items.loc[500, "fit_3"] == "oops"
    assert all(not c.problems for c in chunks[1:])


def test_chunks_of_a_file_with_blank_lines(tmp_path, mini):
    path = write(tmp_path / "t.csv", "fit_1\n1\n\n2\n3\n\n4\n")
    chunks = list(iter_response_chunks(path, mini, chunk_rows=2))
    # rows 3 and 6 are blank: counted, not read
    assert [c.meta["source_row"].tolist() for c in chunks] == [[2], [4, 5], [7]]
    assert pd.concat([c.items for c in chunks])["fit_1"].dropna().tolist() == [1.0, 2.0, 3.0, 4.0]


def test_chunk_rows_must_be_positive(mini):
    with pytest.raises(ValueError, match="chunk_rows"):
        next(iter_response_chunks(EXPORTS / "plain.tsv", mini, chunk_rows=0))


def test_field_length_is_capped(tmp_path, mini):
    path = write(tmp_path / "t.csv", "fit_1,comment\n1," + "x" * 500 + "\n")
    with pytest.raises(DataError, match=r"row 2, column 'comment': a field of 500 characters"):
        read_responses(path, mini, limits=ReadLimits(max_field_chars=100))


def test_header_only_and_empty(tmp_path, mini):
    table = read_responses(write(tmp_path / "h.csv", "fit_1,fit_2\n"), mini)
    assert len(table.items) == len(table.meta) == len(table.background) == 0
    with pytest.raises(DataError, match="empty"):
        read_responses(write(tmp_path / "e.csv", ""), mini)


def test_identifying_column_is_never_read(tmp_path, mini):
    path = write(tmp_path / "t.csv", "fit_1,IP Address\n1,192.0.2.1\n")
    table = read_responses(path, mini)
    assert "192.0.2.1" not in table.meta.to_string() + table.background.to_string()
    assert "identifying_column_dropped" in rules(table)


def test_chunks_of_header_only_files_carry_the_problems(tmp_path, mini):
    for text in ("fit_1,notes\n", "fit_1,notes\n\n\n", "fit_1,notes\n,\n"):
        path = write(tmp_path / "h.csv", text)
        chunks = list(iter_response_chunks(path, mini, chunk_rows=5))
        assert len(chunks) == 1 and len(chunks[0].items) == 0
        assert "unknown_column" in rules(chunks[0])


def test_hashtag_answers_are_not_taken_for_a_tag_row(tmp_path, mini):
    path = write(tmp_path / "t.csv", "fit_1,comment\n,#great\n2,x\n")
    table = read_responses(path, mini)
    assert table.background["comment"].tolist() == ["#great", "x"]
