"""SPSS ``.sav``/``.zsav`` files through pyreadstat.

Values are read as stored (``apply_value_formats=False``) with user-missing codes kept as codes
(``user_missing=True``), so a declared missing code such as ``-9`` reaches the checks as ``-9``
rather than vanishing into NaN. Value labels go into a side mapping with integer codes (SPSS
stores them under float keys). The header's row and column counts are checked against the
limits before any data are read, since pyreadstat allocates the full table up front.

ReadStat (the C library under pyreadstat) does not bounds-check every index in a file's
dictionary: a damaged or crafted ``.sav`` can crash the whole Python process (a value-label
record naming variable 1,121,584 of 2 does). So, where the platform can fork, the file is parsed
in a short-lived child process; a crash there becomes a :class:`~instrument.errors.DataError`.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np

from instrument.errors import DataError
from instrument.io.safety import ReadLimits, check_file_size
from instrument.readers.raw import RawTable

MAGIC = (b"$FL2", b"$FL3")
#: Longest a child process may take to parse one file before it is stopped.
CHILD_TIMEOUT_SECONDS = 300


def column_names(path: str | Path, limits: ReadLimits) -> list[str]:
    """The file's variable names, from its dictionary (no data read)."""
    _checked_size(Path(path), limits)
    return [str(n) for n in _parse(str(path), metadata_only=True)["names"]]


def _checked_size(path: Path, limits: ReadLimits) -> int:
    """The file's size, after the size bound and the SPSS signature are checked."""
    size = check_file_size(path, limits)
    with open(path, "rb") as handle:
        if not handle.read(4).startswith(MAGIC):
            raise DataError(
                f"{path}: not an SPSS .sav file (it does not start with the SPSS signature)"
            )
    return size


def read_sav(path: str | Path, limits: ReadLimits) -> RawTable:
    """Read an SPSS file; data rows are numbered from 2 (as if the variable names were row 1)."""
    path = Path(path)
    name = str(path)
    size = _checked_size(path, limits)
    header = _parse(name, metadata_only=True)
    rows, cols = header["rows"], header["cols"]
    limits.check_shape(name, rows, cols, what="the SPSS header")
    # An uncompressed or bytecode-compressed file needs at least one byte per value; more
    # declared values than that means a forged header (zlib .zsav files compress further).
    if path.suffix.lower() != ".zsav" and rows * cols > 8 * size + 1024:
        raise DataError(
            f"{name}: the SPSS header declares {rows:,} rows x {cols:,} columns, more than the file "
            "can hold; damaged or crafted"
        )
    parsed = _parse(name, metadata_only=False)
    names = parsed["names"]
    columns = [_values(parsed["data"][n]) for n in names]
    lengths = {len(c) for c in columns}
    if len(lengths) > 1:
        raise DataError(f"{name}: not a readable SPSS file (columns of different lengths)")
    count = lengths.pop() if lengths else 0
    labels = {
        str(var): {_code(k): str(v) for k, v in mapping.items()}
        for var, mapping in (parsed["labels"] or {}).items()
    }
    return RawTable(
        [str(n) for n in names],
        columns,
        np.arange(2, 2 + count, dtype=np.int64),
        [],
        "spss",
        value_labels=labels,
    )


def _parse(name: str, *, metadata_only: bool) -> dict:
    """pyreadstat's result as plain data, from a child process where fork is available."""
    if (
        "fork" not in multiprocessing.get_all_start_methods()
        or multiprocessing.current_process().daemon
    ):
        # No fork here, or a daemonic worker (multiprocessing.Pool), which may not have children.
        return _read(name, metadata_only)
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(send, name, metadata_only), daemon=True)
    child.start()
    send.close()
    try:
        if not receive.poll(CHILD_TIMEOUT_SECONDS):
            child.kill()
            raise DataError(
                f"{name}: reading the SPSS file took longer than {CHILD_TIMEOUT_SECONDS} s; stopped"
            )
        status, payload = receive.recv()
    except (EOFError, OSError):
        status, payload = "crashed", None
    finally:
        receive.close()
        child.join(5)
        if child.is_alive():
            child.kill()
            child.join()
    if status == "ok":
        return payload
    if status == "crashed":
        raise DataError(
            f"{name}: not a readable SPSS file (the SPSS reader crashed on it: damaged or crafted)"
        )
    raise DataError(f"{name}: not a readable SPSS file (damaged or truncated)")


def _child(
    connection, name: str, metadata_only: bool
) -> None:  # pragma: no cover - runs in the child
    import faulthandler

    faulthandler.disable()  # a crash here is expected on hostile files and reported by the parent
    result: tuple[str, dict | None]
    try:
        result = ("ok", _read(name, metadata_only))
    except DataError:
        result = ("error", None)
    try:
        connection.send(result)
    finally:
        connection.close()


def _read(name: str, metadata_only: bool) -> dict:
    import pyreadstat

    errors = (
        pyreadstat.ReadstatError,
        pyreadstat.PyreadstatError,
        UnicodeDecodeError,
        ValueError,
        OverflowError,
        MemoryError,
        TypeError,
    )
    try:
        data, meta = pyreadstat.read_sav(
            name,
            metadataonly=metadata_only,
            user_missing=True,
            apply_value_formats=False,
            output_format="dict",
        )
    except errors:
        raise DataError(f"{name}: not a readable SPSS file (damaged or truncated)") from None
    rows = int(meta.number_rows) if meta.number_rows not in (None, -1) else 0
    return {
        "rows": max(rows, 0),
        "cols": int(meta.number_columns or 0),
        "names": list(meta.column_names or []),
        "data": {} if metadata_only else {k: _array(v) for k, v in data.items()},
        "labels": dict(meta.variable_value_labels or {}),
    }


def _array(values) -> np.ndarray:
    array = np.asarray(values)
    return array if array.dtype.kind in "fiu" else np.asarray(values, dtype=object)


def _values(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "fiu":
        return values.astype("float64")
    out = values.astype(object)
    for i, v in enumerate(out):
        if isinstance(v, float) and np.isnan(v):
            out[i] = None
    return out


def _code(key):
    """Value-label keys come back as floats (1.0); integral ones become int."""
    if isinstance(key, float) and key.is_integer():
        return int(key)
    return key
