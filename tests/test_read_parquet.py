"""Reading Parquet files written with pyarrow (synthetic data)."""

from __future__ import annotations

import decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from instrument.errors import DataError
from instrument.io.safety import ReadLimits
from instrument.read import detect_platform, iter_response_chunks, read_responses
from instrument.spec import load_instrument

EXPORTS = Path(__file__).parent / "data" / "exports"


@pytest.fixture(scope="module")
def mini():
    return load_instrument(EXPORTS / "mini.yaml")


def write(path, n=10, row_group_size=4):
    table = pa.table(
        {
            "respondent_id": pa.array([f"P{i}" for i in range(n)]).dictionary_encode(),
            "fit_1": pa.array([i % 5 + 1 for i in range(n)], type=pa.int8()),
            "fit_2": pa.array([None if i == 3 else float(i % 5 + 1) for i in range(n)]),
            "fit_3": pa.array(["2", "Agree"] + ["x"] * (n - 2)),
            "gender": pa.array([1] * n, type=pa.int64()),
            "groups": pa.array(["1 2"] * n),
        }
    )
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def test_read_whole(tmp_path, mini):
    path = write(tmp_path / "a.parquet")
    assert detect_platform(path) == "parquet"
    table = read_responses(path, mini)
    assert table.platform == "parquet"
    assert table.items["fit_1"].dtype == "float64" and table.items["fit_1"].tolist()[:3] == [
        1.0,
        2.0,
        3.0,
    ]
    assert np.isnan(table.items.loc[3, "fit_2"])
    assert table.items["fit_3"].tolist()[:3] == [2.0, 4.0, "x"]
    assert table.meta["respondent_id"].tolist()[:2] == ["P0", "P1"]
    assert table.meta["source_row"].tolist() == list(range(2, 12))
    assert table.background.loc[0, ["groups_1", "groups_2", "groups_3"]].tolist() == [1, 1, 0]


def test_streamed_by_batches(tmp_path, mini):
    path = write(tmp_path / "b.parquet", n=25, row_group_size=10)
    chunks = list(iter_response_chunks(path, mini, chunk_rows=10))
    assert [len(c.items) for c in chunks] == [10, 10, 5]
    whole = read_responses(path, mini)
    pd.testing.assert_frame_equal(pd.concat([c.items for c in chunks]), whole.items)
    assert pd.concat([c.meta for c in chunks])["source_row"].tolist() == list(range(2, 27))


def test_truncated_parquet(tmp_path, mini):
    data = write(tmp_path / "c.parquet").read_bytes()
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(data[: len(data) - 20])
    with pytest.raises(DataError, match=r"cut\.parquet: not a readable Parquet file"):
        read_responses(cut, mini)


def test_declared_rows_beyond_limits(tmp_path, mini):
    path = write(tmp_path / "d.parquet", n=50)
    with pytest.raises(DataError, match=r"d\.parquet: the Parquet footer declares 50 rows"):
        read_responses(path, mini, limits=ReadLimits(max_rows=20))


def test_unusual_column_types(tmp_path, mini):
    table = pa.table(
        {
            "fit_1": pa.array([[1, 2], None]),
            "fit_2": pa.array([{"a": 1}, {"a": 2}]),
            "fit_3": pa.array([b"\x00\x01", b"3"]),
            "ppl_1": pa.array([True, False]),
            "ppl_2": pa.array(
                [decimal.Decimal("1.5"), decimal.Decimal("2.0")], type=pa.decimal128(5, 2)
            ),
            "ppl_3": pa.array([pd.Timestamp("2026-01-01"), None]),
        }
    )
    pq.write_table(table, tmp_path / "odd.parquet")
    result = read_responses(tmp_path / "odd.parquet", mini)
    assert result.items["fit_1"].tolist()[0] == "[1, 2]"  # text for the checks to report
    assert result.items["ppl_2"].tolist() == [1.5, 2.0]
    assert len(result.items) == len(result.meta) == 2
