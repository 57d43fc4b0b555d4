"""SPSS ``.sav``/``.zsav`` files through pyreadstat.

Values are read as stored (``apply_value_formats=False``) with user-missing codes kept as codes
(``user_missing=True``), so a declared missing code such as ``-9`` reaches the checks as ``-9``
rather than vanishing into NaN. Value labels go into a side mapping with integer codes (SPSS
stores them under float keys). The header's row and column counts are checked against the
limits before any data are read, since pyreadstat allocates the full table up front.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from instrument.errors import DataError
from instrument.readers.raw import RawTable
from instrument.safety import ReadLimits, check_file_size

MAGIC = (b"$FL2", b"$FL3")


def read_sav(path: str | Path, limits: ReadLimits) -> RawTable:
    """Read an SPSS file; data rows are numbered from 2 (as if the variable names were row 1)."""
    import pyreadstat

    path = Path(path)
    name = str(path)
    size = check_file_size(path, limits)
    with open(path, "rb") as handle:
        if not handle.read(4).startswith(MAGIC):
            raise DataError(f"{name}: not an SPSS .sav file (it does not start with the SPSS signature)")
    errors = (pyreadstat.ReadstatError, pyreadstat.PyreadstatError, UnicodeDecodeError, ValueError, OverflowError, MemoryError)
    try:
        _, meta = pyreadstat.read_sav(str(path), metadataonly=True, user_missing=True)
    except errors:
        raise DataError(f"{name}: not a readable SPSS file (damaged or truncated)") from None
    rows = int(meta.number_rows) if meta.number_rows not in (None, -1) else 0
    cols = int(meta.number_columns or 0)
    limits.check_shape(name, rows, cols, what="the SPSS header")
    # An uncompressed or bytecode-compressed file needs at least one byte per value; more
    # declared values than that means a forged header (zlib .zsav files compress further).
    if not path.suffix.lower() == ".zsav" and rows * cols > 8 * size + 1024:
        raise DataError(f"{name}: the SPSS header declares {rows:,} rows x {cols:,} columns, more than the file can hold; damaged or crafted")
    try:
        frame, meta = pyreadstat.read_sav(str(path), user_missing=True, apply_value_formats=False)
    except errors:
        raise DataError(f"{name}: not a readable SPSS file (damaged or truncated)") from None
    names = [str(c) for c in frame.columns]
    columns = [_values(frame[c]) for c in frame.columns]
    labels = {
        str(var): {_code(k): str(v) for k, v in mapping.items()}
        for var, mapping in (meta.variable_value_labels or {}).items()
    }
    source_rows = np.arange(2, 2 + len(frame), dtype=np.int64)
    return RawTable(names, columns, source_rows, [], "spss", value_labels=labels)


def _values(series) -> np.ndarray:
    if series.dtype.kind in "fiu":
        return series.to_numpy(dtype="float64", na_value=np.nan)
    return series.to_numpy(dtype=object, na_value=None)


def _code(key):
    """Value-label keys come back as floats (1.0); integral ones become int."""
    if isinstance(key, float) and key.is_integer():
        return int(key)
    return key
