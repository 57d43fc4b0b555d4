"""The reader-neutral form of a table read from a file, before it is matched to an instrument."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from instrument.problems import Problem

#: A column's values: a float64 or object NumPy array, or a pyarrow array straight from
#: the CSV/Parquet readers (converted only when needed, so large text columns stay cheap).
ColumnValues = Any


@dataclass
class RawTable:
    """Columns as read, with the file row number of every record.

    Attributes
    ----------
    names : list of str
        Header names in file order (may repeat; the matcher reports duplicates).
    columns : list
        One array per name, all of the same length.
    source_rows : ndarray of int64
        Row number of each record as the user sees it (header row = 1).
    problems : list of Problem
        Problems the reader found (an encoding fallback, unnamed columns).
    platform : str
        What the reader recognised (``csv``, ``qualtrics``, ``mhdq_workbook``, ...).
    spec_version : str or None
        Instrument version the file declares (MHDQ workbook only).
    declared : dict
        Key/value pairs the file declares about itself (the MHDQ workbook's ``_mhdq`` sheet).
    value_labels : dict
        ``{column: {code: label}}`` from files that carry value labels (SPSS).
    """

    names: list[str]
    columns: list[ColumnValues]
    source_rows: np.ndarray
    problems: list[Problem] = field(default_factory=list)
    platform: str = "csv"
    spec_version: str | None = None
    declared: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict[int, str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.source_rows)


def as_values(values: ColumnValues) -> np.ndarray:
    """A column as a NumPy array: float64 for numeric data, object otherwise (None for blanks)."""
    if isinstance(values, (pa.ChunkedArray, pa.Array)):
        kind = values.type
        if pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_decimal(kind):
            if not pa.types.is_float64(kind):
                # unsafe: integers beyond 2**53 (no Likert code) round rather than fail
                values = values.cast(pa.float64(), safe=False)
            return values.to_numpy(zero_copy_only=False)
        if pa.types.is_null(kind):
            return np.full(len(values), np.nan)
        return np.asarray(values.to_pylist(), dtype=object)
    if isinstance(values, pd.Series):
        values = values.to_numpy()
    array = np.asarray(values)
    if array.dtype.kind in "iub":
        return array.astype("float64") if array.dtype.kind != "b" else array.astype(object)
    if array.dtype.kind == "f":
        return array.astype("float64", copy=False)
    return array.astype(object, copy=False)


def as_series(values: ColumnValues) -> pd.Series:
    """A column as a pandas Series (text stays pyarrow-backed where it came from pyarrow)."""
    if isinstance(values, (pa.ChunkedArray, pa.Array)):
        if pa.types.is_null(values.type):
            return pd.Series(np.full(len(values), None, dtype=object))
        return pd.Series(values.to_pandas())
    return pd.Series(values)


def blank_mask(values: ColumnValues) -> np.ndarray:
    """True where a cell is empty: null, NaN, or text that is only whitespace."""
    if isinstance(values, (pa.ChunkedArray, pa.Array)):
        import pyarrow.compute as pc

        if pa.types.is_null(values.type):
            return np.ones(len(values), dtype=bool)
        mask = pc.is_null(values, nan_is_null=True)
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            mask = pc.fill_null(
                pc.or_kleene(mask, pc.equal(pc.utf8_trim_whitespace(values), "")), True
            )
        if isinstance(mask, pa.ChunkedArray):
            mask = mask.combine_chunks()
        return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)
    array = np.asarray(values)
    if array.dtype.kind == "f":
        return np.isnan(array)
    if array.dtype.kind in "iub":
        return np.zeros(len(array), dtype=bool)
    series = pd.Series(array, dtype=object)
    empty = series.isna().to_numpy()
    text = series.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(dtype=bool)
    return empty | text
