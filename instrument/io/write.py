"""Writing tables (scores, problem lists) as .csv, .parquet, .xlsx or .sav, atomically.

Every writer writes to a temporary file in the target folder and renames it into place only when
everything is written, so an interrupted run leaves either the previous file or nothing, never a
half-written one. Untrusted text (ids, file names, values quoted in problems) written to .csv and
.xlsx goes through :func:`instrument.io.security.neutralise`; numbers stay numbers.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd

from instrument.errors import UsageError
from instrument.io.security import CONTROL_CHARACTERS, FORMULA_START
from instrument.problems import Problem, problems_frame

if TYPE_CHECKING:
    import pyarrow as pa

#: File formats a table can be written as, by extension.
TABLE_FORMATS = (".csv", ".parquet", ".xlsx", ".sav")
#: Data rows an .xlsx sheet can hold (1,048,576 rows minus the header).
XLSX_MAX_ROWS = 1_048_575
#: Ending of a table being written (``.<name>.<process id>.<random>.part``).
PART_SUFFIX = ".part"
_STALE = re.compile(r"^\.(?:.+\.(\d+)\.[^.]+\.part|mhdq-(?:parts|problems)-(\d+)-.+)$")


def _umask_mode() -> int:
    """Permissions an ordinary new file gets (mkstemp makes temporary files owner-only)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def replace_atomically(temp: Path, target: Path) -> None:
    """Give ``temp`` ordinary file permissions and rename it over ``target``."""
    os.chmod(temp, _umask_mode())
    os.replace(temp, target)


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """A temporary path beside ``target`` that becomes ``target`` only if the block succeeds.

    The temporary file keeps ``target``'s extension (some writers check it); on success it gets
    ordinary permissions and is renamed over ``target``, on any error it is removed, so an
    interrupted write leaves the previous file or nothing, never a half-written one.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> with atomic_path(folder / "out.txt") as temp:
    ...     _ = temp.write_text("done")
    >>> (folder / "out.txt").read_text(), sorted(p.name for p in folder.iterdir())
    ('done', ['out.txt'])
    """
    target = Path(target)
    handle, name = tempfile.mkstemp(
        dir=target.parent if str(target.parent) else ".",
        prefix=f".{target.name}.",
        suffix=f".tmp{target.suffix}",
    )
    os.close(handle)
    temp = Path(name)
    try:
        yield temp
        replace_atomically(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def table_format(path: str | Path) -> str:
    """The format of ``path`` from its extension; UsageError naming the allowed ones otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise UsageError(
            f"{path}: unknown output format {suffix or '(no extension)'!r}; allowed: {', '.join(TABLE_FORMATS)}"
        )
    return suffix


def neutralise_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Neutralise every text cell of ``frame`` (vectorised :func:`~instrument.io.security.neutralise`).

    Examples
    --------
    >>> neutralise_text(pd.DataFrame({"id": ["=1+2", "a7"], "x": [-1.0, 2.0]})).to_dict("list")
    {'id': ["'=1+2", 'a7'], 'x': [-1.0, 2.0]}
    """
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object)
        elif pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(
            series.dtype
        ):
            continue
        if pd.api.types.is_string_dtype(series.dtype) and series.dtype != object:
            out[column] = _neutralise_text_series(series)  # all text: vectorised
            continue
        is_text = series.map(lambda v: isinstance(v, str)).astype(bool)
        if not is_text.any():
            continue
        text = _neutralise_text_series(series[is_text].astype(str))
        series = series.astype(object)
        series[is_text] = text.astype(object)
        out[column] = series
    return out


def _neutralise_text_series(text: pd.Series) -> pd.Series:
    text = text.str.replace(CONTROL_CHARACTERS, "", regex=True)
    trigger = text.str.match(FORMULA_START).fillna(False).astype(bool)
    if trigger.any():
        text = text.where(~trigger, "'" + text)
    return text


class _StreamWriter(Protocol):
    """What :class:`TableWriter` needs of pyarrow's ParquetWriter and CSVWriter."""

    def write_table(self, table: pa.Table) -> None: ...

    def close(self) -> None: ...


class TableWriter:
    """Write a table in chunks to ``path`` (format from the extension), atomically.

    Use as a context manager: the file appears at ``path`` only when the block ends without an
    exception; on an exception the temporary file is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or Path
        Target file (.csv, .parquet, .xlsx or .sav).
    labels : mapping, optional
        Variable labels by column (written as SPSS variable labels, and as a second sheet
        "variables" in .xlsx).
    value_labels : mapping, optional
        ``{column: {code: label}}`` (SPSS value labels).
    measure : mapping, optional
        ``{column: "nominal" | "ordinal" | "scale"}`` for .sav.
    sheet_name : str, default "scores"

    Notes
    -----
    .csv and .parquet are streamed (memory bounded by one chunk); .sav and .xlsx hold the whole
    table until the end (pyreadstat writes a file at once; an .xlsx sheet holds at most
    1,048,575 rows, so larger tables are refused).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with TableWriter(folder / "s.csv") as writer:
    ...     writer.write(pd.DataFrame({"id": ["a"], "score": [2.5]}))
    >>> (folder / "s.csv").read_text().splitlines()
    ['"id","score"', '"a",2.5']
    """

    def __init__(
        self,
        path: str | Path,
        *,
        labels: Mapping[str, str] | None = None,
        value_labels: Mapping[str, Mapping[int, str]] | None = None,
        measure: Mapping[str, str] | None = None,
        sheet_name: str = "scores",
    ):
        self.path = Path(path)
        self.format = table_format(self.path)
        self.labels = dict(labels or {})
        self.value_labels = {k: dict(v) for k, v in (value_labels or {}).items()}
        self.measure = dict(measure or {})
        self.sheet_name = sheet_name
        self.n_rows = 0
        self._temp: Path | None = None
        self._parts: list[pd.DataFrame] = []
        self._writer: _StreamWriter | None = None
        self._columns: list[str] | None = None
        self._finished = False

    # --- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> TableWriter:
        self.open()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def open(self) -> None:
        folder = self.path.parent
        if not folder.is_dir():
            raise UsageError(f"{self.path}: the folder {folder} does not exist")
        try:
            handle, temp = tempfile.mkstemp(
                dir=folder, prefix=f".{self.path.name}.{os.getpid()}.", suffix=PART_SUFFIX
            )
        except OSError as exc:
            raise UsageError(f"{self.path}: cannot write in {folder} ({exc.strerror})") from None
        os.close(handle)
        self._temp = Path(temp)

    def abort(self) -> None:
        """Drop everything written so far; ``path`` is left untouched."""
        if self._writer is not None:
            with contextlib.suppress(Exception):  # the file is being thrown away anyway
                self._writer.close()
            self._writer = None
        if self._temp is not None:
            self._temp.unlink(missing_ok=True)
            self._temp = None

    def close(self) -> Path:
        """Finish the file and move it into place."""
        self.finish()
        return self.publish()

    def publish(self) -> Path:
        """Move the file finished by :meth:`finish` into place."""
        if self._temp is None or not self._finished:
            raise ValueError("TableWriter: not finished")
        try:
            replace_atomically(self._temp, self.path)
        except BaseException:
            self.abort()
            raise
        self._temp = None
        return self.path

    def finish(self) -> None:
        """Write everything to the temporary file, but do not move it into place yet.

        Lets a caller finish several files and then :meth:`publish` them one right after the
        other (the scores and the problem list of one run).
        """
        if self._temp is None:
            raise ValueError("TableWriter: not open")
        try:
            if self.format in (".csv", ".parquet"):
                writer = self._writer
                if writer is None:  # no rows at all: still write the header/schema
                    writer, _ = self._start_stream(pd.DataFrame(columns=self._columns or []))
                writer.close()
                self._writer = None
            elif self.format == ".sav":
                self._write_sav()
            else:
                self._write_xlsx()
        except BaseException:
            self.abort()
            raise
        self._finished = True

    # --- rows -----------------------------------------------------------------------------
    def write(self, frame: pd.DataFrame) -> None:
        """Append rows (same columns as the first chunk)."""
        if self._temp is None:
            raise ValueError("TableWriter: not open (use it as a context manager)")
        if self._columns is None:
            self._columns = list(frame.columns)
        elif list(frame.columns) != self._columns:
            raise ValueError("TableWriter.write: every chunk must have the columns of the first")
        self.n_rows += len(frame)
        if self.format in (".csv", ".parquet"):
            self._write_stream(frame)
        else:
            if self.format == ".xlsx" and self.n_rows > XLSX_MAX_ROWS:
                raise UsageError(
                    f"{self.path}: {self.n_rows:,} rows do not fit in an .xlsx sheet "
                    f"(at most {XLSX_MAX_ROWS:,}); write .csv or .parquet instead"
                )
            self._parts.append(frame)

    def _arrow(self, frame: pd.DataFrame) -> pa.Table:
        import pyarrow as pa

        if self.format == ".csv":
            frame = neutralise_text(frame)
        return pa.Table.from_pandas(frame, preserve_index=False)

    def _start_stream(self, frame: pd.DataFrame) -> tuple[_StreamWriter, pa.Table]:
        """Open the streaming writer on the first chunk; the writer and the chunk as a table."""
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        table = self._arrow(frame)
        writer: _StreamWriter
        if self.format == ".parquet":
            writer = pq.ParquetWriter(self._temp, table.schema)
        else:
            writer = pacsv.CSVWriter(
                self._temp, table.schema, write_options=pacsv.WriteOptions(quoting_style="needed")
            )
        self._writer = writer
        self._schema = table.schema
        return writer, table

    def _write_stream(self, frame: pd.DataFrame) -> None:
        writer = self._writer
        if writer is None:
            writer, table = self._start_stream(frame)
        else:
            table = self._arrow(frame)
            if table.schema != self._schema:
                table = table.cast(self._schema)
        writer.write_table(table)

    def _whole(self) -> pd.DataFrame:
        if not self._parts:
            return pd.DataFrame(columns=self._columns or [])
        return (
            pd.concat(self._parts, ignore_index=True)
            if len(self._parts) > 1
            else self._parts[0].reset_index(drop=True)
        )

    def _write_sav(self) -> None:
        import pyreadstat

        frame = self._whole()
        for column in frame.columns:
            if not pd.api.types.is_numeric_dtype(frame[column].dtype):
                frame[column] = frame[column].astype(object).where(frame[column].notna(), "")
            elif pd.api.types.is_integer_dtype(frame[column].dtype):
                frame[column] = frame[column].astype("float64")
        labels: dict[str, str | None] = {c: self.labels.get(c, "")[:255] for c in frame.columns}
        value_labels = {
            c: {float(k): v for k, v in vl.items()}
            for c, vl in self.value_labels.items()
            if c in frame.columns
        }
        measure = {c: m for c, m in self.measure.items() if c in frame.columns}
        pyreadstat.write_sav(
            frame,
            str(self._temp),
            column_labels=labels,
            variable_value_labels=value_labels or None,
            variable_measure=measure or None,
        )

    def _write_xlsx(self) -> None:
        from openpyxl import Workbook

        frame = neutralise_text(self._whole())
        book = Workbook(write_only=True)
        sheet = book.create_sheet(self.sheet_name)
        sheet.append([str(c) for c in frame.columns])
        columns = [
            frame[c].astype(object).where(frame[c].notna(), None).tolist() for c in frame.columns
        ]
        for row in zip(*columns, strict=True):  # columns of one frame: equal lengths
            sheet.append([None if isinstance(v, float) and np.isnan(v) else v for v in row])
        if self.labels:
            variables = book.create_sheet("variables")
            variables.append(["variable", "label"])
            for column in frame.columns:
                variables.append([str(column), self.labels.get(column, "")])
        book.save(self._temp)


def write_table(frame: pd.DataFrame, path: str | Path, **options) -> Path:
    """Write a whole table atomically (see :class:`TableWriter` for the options)."""
    with TableWriter(path, **options) as writer:
        writer.write(frame)
    return Path(path)


def write_problems(problems: list[Problem] | pd.DataFrame, path: str | Path) -> Path:
    """Write the problem list (.csv by default, or .xlsx/.parquet by extension), atomically."""
    frame = problems if isinstance(problems, pd.DataFrame) else problems_frame(problems)
    frame = frame.copy()
    for column in ("file", "column", "value", "rule", "severity", "message"):
        frame[column] = frame[column].astype(object)
    return write_table(frame, path, sheet_name="problems")


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (signal 0 probes without sending)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_parts(folder: str | Path) -> list[Path]:
    """Remove the temporary files and folders that a killed run left in ``folder``.

    Only entries named as this module names them and carrying the id of a process that no
    longer runs are removed (``.<name>.<pid>.<random>.part``, ``.mhdq-parts-<pid>-...``);
    those of a run still going are left alone. Returns what was removed.
    """
    removed: list[Path] = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _STALE.match(entry.name)
        if not match:
            continue
        pid = match.group(1) or match.group(2)
        if pid is None or process_alive(int(pid)):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


@contextmanager
def output_lock(target: str | Path) -> Iterator[Path]:
    """Hold ``.<target name>.lock`` beside ``target`` for the duration of a run.

    A second run writing the same output is refused with a clear message instead of both
    writing at once. A lock left by a process that no longer runs (killed) is taken over.

    Raises
    ------
    UsageError
        When another running process holds the lock.
    """
    target = Path(target)
    lock = target.with_name(f".{target.name}.lock")
    for _ in range(2):
        try:
            handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                holder = int(lock.read_text(encoding="ascii").strip() or "0")
            except (OSError, ValueError):
                holder = 0
            if holder and process_alive(holder):
                raise UsageError(
                    f"{target}: another mhdq run (process {holder}) is writing this output; "
                    f"wait for it to finish or choose another output name (lock file {lock})"
                ) from None
            lock.unlink(missing_ok=True)  # left by a killed run
            continue
        except OSError as exc:
            raise UsageError(f"{target}: cannot write in {lock.parent} ({exc.strerror})") from None
        with os.fdopen(handle, "w", encoding="ascii") as file:
            file.write(str(os.getpid()))
        break
    else:
        raise UsageError(f"{target}: cannot take the lock file {lock}")
    try:
        yield lock
    finally:
        lock.unlink(missing_ok=True)
