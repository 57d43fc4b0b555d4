"""Streaming (instrument.read.iter_response_chunks) gives exactly what read_responses gives.

Every file here is synthetic, written by the test. Any split of a file into chunks must give the
same respondent ids, row numbers, items, background, metadata and problems as reading it whole,
and rows holding nothing at all (not even an id) are skipped by one rule, each with its own record;
a row with an id but no answers is a respondent (kept here; the checks reject it as no_answers).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from instrument.read import iter_response_chunks, read_responses
from instrument.spec import load_instrument

DATA = Path(__file__).parent / "data"
CHUNK_SIZES = [1, 2, 3, 1000]

# Row 4 holds only an id (a respondent who answered nothing: kept, the checks reject it), row 5
# nothing (skipped), row 6 only a background answer (kept), row 8 an id and blanks (kept).
BODY = [
    "p1,1,2,3,1,synthetic",
    "p2,2,5,1,,synthetic",
    "p3,,,,,",
    ",,,,,",
    "p4,,,,2,",
    ",3,3,3,1,synthetic",
    "p7, , ,,,",
    "p8,1,,,,synthetic",
]
CSV_FILES = {
    # pyarrow's streaming path
    "plain.csv": "respondent_id,a1,a2,b1,gender,synthetic\n" + "\n".join(BODY) + "\n",
    # a blank line inside the data, and blank lines at the end (which are not rows)
    "blank_lines.csv": "respondent_id,a1,a2,b1,gender,synthetic\n"
    + "\n".join(BODY[:3] + [""] + BODY[3:])
    + "\n\n\n",
    # a row with too many fields: Python's exact csv path
    "ragged.csv": "respondent_id,a1,a2,b1,gender,synthetic\n"
    + "\n".join(BODY[:2] + ["p9,1,1,1,1,x,extra"] + BODY[2:])
    + "\n",
    # text in an item column: item columns re-read as text
    "text_items.csv": "respondent_id,a1,a2,b1,gender,synthetic\n"
    + "\n".join(BODY + ["p10,Agree,x,1,1,"])
    + "\n",
}

# File rows (header = 1) holding nothing at all; trailing blank lines are not rows.
SKIPPED_ROWS = {
    "plain.csv": [5],
    "blank_lines.csv": [5, 6],
    "ragged.csv": [6],
    "text_items.csv": [5],
}


@pytest.fixture(scope="module")
def spec():
    return load_instrument(DATA / "scoring_spec.yaml")


def assert_same(path: Path, spec, chunk_rows: int) -> list:
    chunks = list(iter_response_chunks(path, spec, chunk_rows=chunk_rows))
    whole = read_responses(path, spec)
    assert all(c.n_rows <= chunk_rows for c in chunks)
    for part in ("items", "background", "meta"):
        joined = pd.concat([getattr(c, part) for c in chunks])
        pd.testing.assert_frame_equal(
            joined, getattr(whole, part), check_dtype=False, check_categorical=False
        )
    assert joined["respondent_id"].notna().all()
    assert sorted(map(str, (p for c in chunks for p in c.problems))) == sorted(
        map(str, whole.problems)
    )
    return whole


@pytest.mark.parametrize("name", sorted(CSV_FILES))
@pytest.mark.parametrize("chunk_rows", CHUNK_SIZES)
def test_csv_chunks_equal_the_whole_read(tmp_path, spec, name, chunk_rows):
    path = tmp_path / name
    path.write_text(CSV_FILES[name], encoding="utf-8")
    whole = assert_same(path, spec, chunk_rows)
    ids = whole.meta["respondent_id"].tolist()
    assert ids[:2] == ["p1", "p2"] and "p4" in ids and "p8" in ids
    assert "p3" in ids and "p7" in ids  # an id but no answers: a respondent, kept


@pytest.mark.parametrize("chunk_rows", CHUNK_SIZES)
def test_parquet_chunks_equal_the_whole_read(tmp_path, spec, chunk_rows):
    path = tmp_path / "answers.parquet"
    frame = pd.DataFrame(
        {
            "respondent_id": ["p1", "p2", "p3", None, "p4", None, "p7", "p8"],
            "a1": [1.0, 2.0, None, None, None, 3.0, None, 1.0],
            "a2": [2.0, 5.0, None, None, None, 3.0, None, None],
            "gender": [1.0, None, None, None, 2.0, 1.0, None, None],
            "synthetic": [
                "synthetic",
                "synthetic",
                None,
                None,
                None,
                "synthetic",
                " ",
                "synthetic",
            ],
        }
    )
    frame.to_parquet(path)
    whole = assert_same(path, spec, chunk_rows)
    assert whole.meta["respondent_id"].tolist() == ["p1", "p2", "p3", "p4", "answers:7", "p7", "p8"]
    assert whole.meta["source_row"].tolist() == [2, 3, 4, 6, 7, 8, 9]


@pytest.mark.parametrize("name", sorted(CSV_FILES))
def test_empty_rows_one_rule_for_every_chunk_size(tmp_path, spec, name):
    path = tmp_path / name
    path.write_text(CSV_FILES[name], encoding="utf-8")
    seen = set()
    for chunk_rows in CHUNK_SIZES:
        chunks = list(iter_response_chunks(path, spec, chunk_rows=chunk_rows))
        kept = tuple(r for c in chunks for r in c.meta["source_row"])
        skipped = tuple(
            sorted(p.row for c in chunks for p in c.problems if p.rule == "empty_row_skipped")
        )
        seen.add((kept, skipped))
        assert not set(kept) & set(skipped)
    [(kept, skipped)] = seen  # the same rows kept and the same rows recorded as skipped
    assert list(skipped) == SKIPPED_ROWS[name]


def test_synthetic_marker_is_metadata(tmp_path, spec):
    path = tmp_path / "plain.csv"
    path.write_text(CSV_FILES["plain.csv"], encoding="utf-8")
    table = read_responses(path, spec)
    marker = [v if isinstance(v, str) else None for v in table.meta["synthetic"]]
    assert marker == ["synthetic", "synthetic", None, None, "synthetic", None, "synthetic"]
    assert not [p for p in table.problems if p.rule == "unknown_column" and p.column == "synthetic"]


def test_streaming_reads_a_plain_file_handle(tmp_path):
    # Streaming never memory-maps the file (resident memory would grow with its size), also
    # when blank lines at the end have to be left out.
    import pyarrow as pa

    from instrument.io.safety import DEFAULT_LIMITS
    from instrument.readers.delimited import _source, inspect_text

    for text in ("a1,a2\n1,2\n", "a1,a2\n1,2\n\n\n\r\n"):
        path = tmp_path / "t.csv"
        path.write_text(text, encoding="utf-8", newline="")
        layout = inspect_text(path, DEFAULT_LIMITS)
        source = _source(layout, streaming=True)
        try:
            assert not isinstance(source, pa.BufferReader)
            assert source.read(10_000).rstrip(b"\n") == b"a1,a2\n1,2"
        finally:
            source.close()


def test_a_failed_stream_stops_its_parse_thread(tmp_path, spec):
    import threading

    from instrument.errors import DataError
    from instrument.io.safety import ReadLimits

    path = tmp_path / "long.csv"
    rows = [f"p{i},1,2,3,1," for i in range(3000)] + ["p_long,1,2,3,1," + "x" * 500]
    path.write_text(
        "respondent_id,a1,a2,b1,gender,note\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    with pytest.raises(DataError, match="row 3002"):
        list(
            iter_response_chunks(path, spec, chunk_rows=10, limits=ReadLimits(max_field_chars=100))
        )
    assert not [t for t in threading.enumerate() if t.name == "mhdq-csv-parse"]


@pytest.mark.parametrize("chunk_rows", [2, 1000])
def test_many_blank_lines_at_the_end_are_not_rows(tmp_path, spec, chunk_rows):
    # more trailing line breaks than one look at the file's tail (4 KiB) holds
    path = tmp_path / "tail.csv"
    path.write_text(
        "respondent_id,a1\np1,1\n\np3,2\n" + "\r\n" * 5000, encoding="utf-8", newline=""
    )
    chunks = list(iter_response_chunks(path, spec, chunk_rows=chunk_rows))
    assert [r for c in chunks for r in c.meta["source_row"]] == [2, 4]
    assert [p.row for c in chunks for p in c.problems if p.rule == "empty_row_skipped"] == [3]
