"""Parquet files through pyarrow, whole or streamed by record batches.

The footer's row and column counts are checked against the limits before any column is
decoded (a few kilobytes of run-length-encoded data can declare billions of rows).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

from instrument.errors import DataError
from instrument.io.safety import ReadLimits, check_file_size
from instrument.readers.raw import RawTable

MAGIC = b"PAR1"


def _open(path: Path, limits: ReadLimits):
    import pyarrow.parquet as pq

    name = str(path)
    check_file_size(path, limits)
    with open(path, "rb") as handle:
        if handle.read(4) != MAGIC:
            raise DataError(f"{name}: not a Parquet file (it does not start with PAR1)")
    try:
        handle = pq.ParquetFile(str(path))
        rows, cols = handle.metadata.num_rows, handle.metadata.num_columns
    except (pa.ArrowException, OSError, ValueError, IndexError):
        raise DataError(f"{name}: not a readable Parquet file (damaged or truncated)") from None
    limits.check_shape(name, rows, cols, what="the Parquet footer")
    return handle


def column_names(path: str | Path, limits: ReadLimits) -> list[str]:
    """The file's column names, from its footer."""
    handle = _open(Path(path), limits)
    try:
        return list(handle.schema_arrow.names)
    finally:
        handle.close()


def iter_parquet(
    path: str | Path, limits: ReadLimits, *, chunk_rows: int | None
) -> Iterator[RawTable]:
    """Yield the file in pieces of at most ``chunk_rows`` rows (None: the whole file at once).

    Data rows are numbered from 2, as if the column names were row 1.
    """
    path = Path(path)
    handle = _open(path, limits)
    names = list(handle.schema_arrow.names)
    start = 2
    pieces: Iterable[pa.Table]
    try:
        if chunk_rows is None:
            pieces = [handle.read()]
        else:
            pieces = (
                pa.Table.from_batches([b]) for b in handle.iter_batches(batch_size=chunk_rows)
            )
        emitted = False
        for table in pieces:
            columns = [_plain(table.column(i)) for i in range(table.num_columns)]
            rows = np.arange(start, start + table.num_rows, dtype=np.int64)
            start += table.num_rows
            emitted = True
            yield RawTable(names, columns, rows, [], "parquet")
        if not emitted:
            yield RawTable(
                names,
                [np.empty(0, dtype=object) for _ in names],
                np.empty(0, dtype=np.int64),
                [],
                "parquet",
            )
    except (pa.ArrowException, OSError, ValueError, IndexError):
        raise DataError(f"{path}: not a readable Parquet file (damaged or truncated)") from None
    finally:
        handle.close()


def _plain(column: pa.ChunkedArray):
    """Dictionary-encoded and nested columns as plain arrays the matcher understands."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        column.validate(full=True)  # Parquet does not guarantee UTF-8: ArrowInvalid if not
    if (
        pa.types.is_nested(column.type)
        or pa.types.is_binary(column.type)
        or pa.types.is_large_binary(column.type)
    ):
        # Lists, structs and bytes are no answers: kept as text so the checks can report them.
        return np.asarray([None if v is None else str(v) for v in column.to_pylist()], dtype=object)
    if pa.types.is_boolean(column.type):
        return np.asarray(column.to_pylist(), dtype=object)
    return column
