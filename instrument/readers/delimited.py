"""Delimited text (CSV, TSV, semicolon CSV; plain, Kobo, REDCap and Qualtrics exports).

The file is first inspected (:func:`inspect_text`): encoding (UTF-8 with or without BOM,
UTF-16 with BOM; cp1252 or latin-1 only as a fallback, reported as a warning), delimiter
(``,``, ``;`` or tab, sniffed from the header line outside quotes), the header row(s) (three
for Qualtrics), whether quoted fields hold line breaks, and whether the body has blank lines.

Clean files are then parsed by pyarrow's multithreaded CSV reader with item columns typed
float64 and every other column typed text, so a million rows need no per-row Python. A column
typed float64 that turns out to hold text is re-read as text and converted column by column.
Files pyarrow cannot parse exactly (blank lines, rows with a different number of fields) go
through Python's :mod:`csv` module, which keeps the row numbers the user sees.
"""

from __future__ import annotations

import codecs
import csv
import io
import queue
import threading
from collections.abc import Collection, Generator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from instrument.errors import DataError
from instrument.io.safety import ReadLimits, check_file_size
from instrument.problems import Problem
from instrument.readers import kobo, qualtrics
from instrument.readers.raw import RawTable

#: Cell texts read as blank (R's ``NA``, Excel's ``#N/A``, ...).
NULL_VALUES = ["", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "#N/A", "#NULL!"]
DELIMITERS = (",", ";", "\t")
_SAMPLE_BYTES = 1 << 20
_SCAN_BYTES = 16 << 20
_BLOCK_BYTES = 4 << 20


@dataclass(frozen=True)
class TextLayout:
    """What :func:`inspect_text` found out about a delimited file."""

    path: str
    encoding: str
    delimiter: str
    header: list[str]
    header_rows: int
    header_lines: int
    multiline: bool
    content_end: int
    platform_hint: str = "csv"
    problems: list[Problem] = field(default_factory=list)


def inspect_text(path: str | Path, limits: ReadLimits) -> TextLayout:
    """Encoding, delimiter, header and shape of a delimited text file.

    Only the first megabyte and the last bytes are looked at; the body's encoding is checked
    by pyarrow as it parses (and by a full scan only when that check fails).

    Raises
    ------
    DataError
        For a file that is not text (binary content), is empty, or whose header breaks a limit.
    """
    path = Path(path)
    name = str(path)
    size = check_file_size(path, limits)
    if size == 0:
        raise DataError(f"{name}: the file is empty (no header row)")
    with open(path, "rb") as handle:
        head = handle.read(_SAMPLE_BYTES)
        content_end = _content_end(handle, size)
    problems: list[Problem] = []
    complete = size <= _SAMPLE_BYTES
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        if b"\x00" in head:
            raise DataError(f"{name}: binary content (NUL bytes); not a CSV or TSV text file")
        encoding = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=complete)
        except UnicodeDecodeError:
            encoding = scan_encoding(path)
            problems.append(encoding_problem(name, encoding))
    text = _decode_head(head, encoding, complete=complete)
    delimiter = _sniff_delimiter(text, tab_preferred=path.suffix.lower() in (".tsv", ".tab"))
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=delimiter,
        quotechar='"',
        doublequote=True,
        strict=False,
    )
    records: list[list[str]] = []
    line_after: list[int] = []
    try:
        for record in reader:
            records.append(record)
            line_after.append(reader.line_num)
            if len(records) == 4:
                break
    except csv.Error:
        raise DataError(
            f"{name}: the header row cannot be parsed as delimited text (a field is too long or quoting is broken)"
        ) from None
    if not records or not any(cell.strip() for cell in records[0]):
        raise DataError(f"{name}: no header row (the first row is empty)")
    if len(records) == 1 and not complete:
        raise DataError(
            f"{name}: the header row is longer than {_SAMPLE_BYTES:,} bytes; not a questionnaire export"
        )
    header = records[0]
    if len(header) > limits.max_cols:
        raise DataError(
            f"{name}: {len(header):,} columns, more than the {limits.max_cols:,} allowed"
        )
    header_rows, hint = 1, "csv"
    if len(records) >= 3 and qualtrics.is_import_id_row(records[2]):
        header_rows, hint = qualtrics.HEADER_ROWS, "qualtrics"
    elif len(records) >= 2 and kobo.looks_like(records[0]) and kobo.is_tag_row(records[1]):
        header_rows = 2
    multiline = any("\n" in cell or "\r" in cell for record in records[:3] for cell in record)
    return TextLayout(
        path=name,
        encoding=encoding,
        delimiter=delimiter,
        header=[h.strip() for h in header],
        header_rows=header_rows,
        header_lines=line_after[header_rows - 1],
        multiline=multiline,
        content_end=content_end,
        platform_hint=hint,
        problems=problems,
    )


def _content_end(handle, size: int) -> int:
    """Where the file ends without its trailing line breaks: blank lines at the very end are not
    rows, and pyarrow is given the file without them."""
    end = size
    while end > 0:
        start = max(0, end - 4096)
        handle.seek(start)
        block = handle.read(end - start)
        kept = len(block.rstrip(b"\r\n"))
        if kept:
            return start + kept
        end = start
    return 0


def encoding_problem(name: str, encoding: str) -> Problem:
    return Problem(
        name,
        None,
        None,
        None,
        "encoding_fallback",
        "warning",
        f"the file is not valid UTF-8; read as {encoding}. Check accented letters, and "
        "save as 'CSV UTF-8' next time",
    )


def scan_encoding(path: str | Path) -> str:
    """``utf-8`` (``utf-8-sig`` with a BOM) when the whole file decodes, else cp1252, else latin-1."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = cp1252 = True
    with open(path, "rb") as handle:
        bom = handle.read(3) == codecs.BOM_UTF8
        handle.seek(0)
        while chunk := handle.read(_SCAN_BYTES):
            if utf8 and not chunk.isascii():
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            if not utf8 and cp1252:
                try:
                    chunk.decode("cp1252")
                except UnicodeDecodeError:
                    cp1252 = False
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    if utf8:
        return "utf-8-sig" if bom else "utf-8"
    return "cp1252" if cp1252 else "latin-1"


def _decode_head(head: bytes, encoding: str, *, complete: bool) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(head, final=complete)


def _sniff_delimiter(text: str, *, tab_preferred: bool) -> str:
    """The candidate delimiter that occurs most often in the header line, outside quotes."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "\r\n":
            break
        elif not quoted and char in counts:
            counts[char] += 1
    if tab_preferred and counts["\t"]:
        return "\t"
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties go to the earlier: ',' then ';'
    return best if counts[best] else ","


# ------------------------------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------------------------------
def read_delimited(layout: TextLayout, limits: ReadLimits, *, numeric: Collection[int]) -> RawTable:
    """Read the whole file into a :class:`RawTable` (``numeric`` holds the indices of likely item columns)."""
    tables = list(iter_delimited(layout, limits, numeric=numeric, chunk_rows=None))
    if len(tables) == 1:
        return tables[0]
    return _concat(tables, layout)


def iter_delimited(
    layout: TextLayout, limits: ReadLimits, *, numeric: Collection[int], chunk_rows: int | None
) -> Iterator[RawTable]:
    """Yield the file as :class:`RawTable` pieces of at most ``chunk_rows`` records (None: one piece)."""
    emitted = 0
    if layout.encoding != "utf-16":
        text_items = False
        while True:
            try:
                for table in _arrow_chunks(
                    layout, limits, numeric, chunk_rows, text_items, skip=emitted
                ):
                    emitted += len(table)
                    yield table
                return
            except _TypedColumnHeldText:
                if text_items:  # cannot happen: text columns accept any value
                    break
                text_items = True
            except _NotUtf8:
                if not layout.encoding.startswith("utf-8"):
                    break
                encoding = scan_encoding(layout.path)
                if encoding.startswith("utf-8"):
                    break
                layout = replace(
                    layout, encoding=encoding, problems=[encoding_problem(layout.path, encoding)]
                )
            except _ArrowParseFailed:
                break
    yield from _python_chunks(layout, limits, chunk_rows, skip=emitted)


class _TypedColumnHeldText(Exception):
    """A column read as float64 holds text somewhere: re-read it as text."""


class _NotUtf8(Exception):
    """pyarrow found bytes that are not UTF-8."""


class _ArrowParseFailed(Exception):
    """pyarrow cannot parse the file exactly (blank lines, ragged rows, stray quotes): use Python's csv."""


def _column_ids(layout: TextLayout) -> list[str]:
    return [f"c{i}" for i in range(len(layout.header))]


def _arrow_options(layout: TextLayout, numeric: Collection[int], text_items: bool):
    ids = _column_ids(layout)
    types = {
        cid: (pa.float64() if index in numeric and not text_items else pa.string())
        for index, cid in enumerate(ids)
    }
    read = pacsv.ReadOptions(
        column_names=ids,
        skip_rows=layout.header_lines,
        block_size=_BLOCK_BYTES,
        encoding="utf8" if layout.encoding.startswith("utf-8") else layout.encoding,
    )
    # A blank line in the body is read as a row of nulls (ignore_empty_lines=False), so row
    # numbers stay those of the file; the matcher then skips it as an empty row, with a record.
    parse = pacsv.ParseOptions(
        delimiter=layout.delimiter,
        quote_char='"',
        double_quote=True,
        newlines_in_values=layout.multiline,
        ignore_empty_lines=False,
    )
    convert = pacsv.ConvertOptions(
        column_types=types,
        null_values=NULL_VALUES,
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        check_utf8=True,
    )
    return read, parse, convert


def _source(layout: TextLayout, *, streaming: bool = False):
    """The file without trailing blank lines: memory-mapped (no copy) for a whole read; for
    streaming, a plain buffered file handle read block by block, so resident memory stays
    bounded by the chunks whatever the file size."""
    if not streaming:
        mapped = pa.memory_map(layout.path, "r")
        return pa.BufferReader(mapped.read_buffer(layout.content_end))
    with open(layout.path, "rb") as handle:
        handle.seek(layout.content_end)
        clean_end = handle.read(3) in (b"", b"\n", b"\r\n", b"\r")
    if clean_end:  # pyarrow's own file reader: at most one line break follows the last row
        return pa.OSFile(layout.path, "r")
    return pa.PythonFile(_Prefix(layout.path, layout.content_end), mode="r")


class _Prefix(io.RawIOBase):
    """The first ``size`` bytes of a file, as a stream (the file without its trailing blank lines)."""

    def __init__(self, path: str | Path, size: int):
        self._handle = open(path, "rb")  # noqa: SIM115 - closed by close(), which pyarrow calls
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")[: self._left]
        count = self._handle.readinto(view) if len(view) else 0
        self._left -= count
        return count

    def close(self) -> None:
        self._handle.close()
        super().close()


def _arrow_chunks(
    layout, limits, numeric, chunk_rows, text_items, *, skip: int
) -> Iterator[RawTable]:
    read, parse, convert = _arrow_options(layout, numeric, text_items)
    first_row = layout.header_rows + 1
    source = _source(layout, streaming=chunk_rows is not None)
    batches: Generator[pa.Table, None, None] | list[pa.Table] = []
    try:
        if chunk_rows is None:
            batches = [
                pacsv.read_csv(
                    source, read_options=read, parse_options=parse, convert_options=convert
                )
            ]
        else:
            batches = _stream_batches(source, read, parse, convert, chunk_rows)
        seen = 0
        for table in batches:
            start, seen = seen, seen + table.num_rows
            if seen <= skip and (table.num_rows or skip):
                continue  # given before a restart (an empty file still yields its one empty piece)
            if start < skip:
                table = table.slice(skip - start)
                start = skip
            problems = list(layout.problems) if start == skip else []
            yield _arrow_raw(
                table, layout, limits, numeric, first_row + start, text_items, problems
            )
    except pa.ArrowInvalid as exc:
        message = str(exc)
        if "UTF8" in message or "UTF-8" in message:
            raise _NotUtf8() from None
        if "conversion error" in message:
            raise _TypedColumnHeldText() from None
        raise _ArrowParseFailed() from None
    except (pa.ArrowException, OSError):
        raise _ArrowParseFailed() from None
    finally:
        if isinstance(batches, Generator):
            batches.close()  # stops the parse-ahead thread before its file is closed
        source.close()


def _stream_batches(source, read, parse, convert, chunk_rows) -> Generator[pa.Table, None, None]:
    reader = pacsv.open_csv(source, read_options=read, parse_options=parse, convert_options=convert)
    pending: list[pa.RecordBatch] = []
    count = 0
    yielded = False
    ahead = _parsed_ahead(reader)
    try:
        for batch in ahead:
            pending.append(batch)
            count += batch.num_rows
            while count >= chunk_rows:
                table = pa.Table.from_batches(pending, schema=reader.schema)
                yield table.slice(0, chunk_rows)
                yielded = True
                rest = table.slice(chunk_rows)
                pending, count = rest.to_batches(), rest.num_rows
    finally:
        ahead.close()
    if count or not yielded:
        yield pa.Table.from_batches(pending, schema=reader.schema)


def _parsed_ahead(reader, depth: int = 2) -> Generator[pa.RecordBatch, None, None]:
    """Record batches from a pyarrow CSV reader, parsed in a background thread.

    pyarrow's streaming reader parses a block when asked for it, on the calling thread, without
    the GIL; pulling batches in a thread lets parsing overlap with checking and scoring the
    previous chunk. Only the C++ parse runs in the thread (Python work there would compete for
    the GIL). Errors are re-raised here; at most ``depth`` batches (4 MB of text each) wait.
    """
    done = object()
    batches: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item) -> bool:
        """Queue ``item`` unless the consumer has stopped; False once it has."""
        while not stop.is_set():
            try:
                batches.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def pull() -> None:
        try:
            for batch in reader:
                if not hand_over((True, batch)):
                    return
            hand_over((True, done))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            hand_over((False, exc))

    thread = threading.Thread(target=pull, name="mhdq-csv-parse", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = batches.get()
            if not ok:
                raise item
            if item is done:
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                batches.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)


def _arrow_raw(
    table: pa.Table,
    layout: TextLayout,
    limits: ReadLimits,
    numeric,
    first_row: int,
    text_items: bool,
    problems: list[Problem],
) -> RawTable:
    columns: list = []
    for index, name in enumerate(layout.header):
        column = table.column(index)
        if pa.types.is_string(column.type) and column.num_chunks and len(column):
            longest = pc.max(pc.utf8_length(column)).as_py()
            if longest is not None and longest > limits.max_field_chars:
                row = (
                    first_row
                    + pc.index(
                        pc.greater(pc.utf8_length(column), limits.max_field_chars), True
                    ).as_py()
                )
                raise DataError(
                    f"{layout.path}: row {row}, column {name!r}: a field of {longest:,} characters, more "
                    f"than the {limits.max_field_chars:,} allowed"
                )
            if text_items and index in numeric:
                column = _try_float(column)
        columns.append(column)
    rows = np.arange(first_row, first_row + table.num_rows, dtype=np.int64)
    return RawTable(list(layout.header), columns, rows, problems, layout.platform_hint)


def _try_float(column: pa.ChunkedArray):
    """float64 when every non-blank cell is a number, else the text column unchanged."""
    try:
        return pc.cast(pc.utf8_trim_whitespace(column), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return column


class _Lines:
    """The lines of a text file, keeping those of the record being parsed (to re-check it)."""

    def __init__(self, handle):
        self._handle = handle
        self.current: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._handle)
        self.current.append(line)
        return line


def _unterminated(lines: list[str], delimiter: str) -> bool:
    """Whether a record's text opens a quote that the end of the file never closes."""
    reader = csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True, strict=True)
    try:
        for _ in reader:
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _field_count_problem(
    layout: TextLayout, record: list[str], number: int, lines: int
) -> list[Problem]:
    """``extra_fields`` / ``short_row`` (and ``delimiter_mismatch``) records for one record."""
    width = len(layout.header)
    spans = (
        f"; the row spans {lines} lines (a quote opened and closed elsewhere?)" if lines > 1 else ""
    )
    if len(record) > width and any(cell.strip() for cell in record[width:]):
        return [
            Problem(
                layout.path,
                number,
                None,
                None,
                "extra_fields",
                "error",
                f"{len(record)} fields where the header has {width}; the extra "
                f"fields are ignored (check the delimiter and quoting of this row){spans}",
            )
        ]
    if len(record) >= width:
        return []
    text = layout.delimiter.join(record)
    other = next(
        (d for d in DELIMITERS if d != layout.delimiter and text.count(d) + 1 == width), None
    )
    if other is not None:
        hint = (
            f"; it splits into {width} fields at {other!r}: the header is separated by "
            f"{layout.delimiter!r} but the rows by {other!r} (save the file with one delimiter)"
        )
    else:
        hint = "; the missing fields are read as blank (check the delimiter and quoting)"
    return [
        Problem(
            layout.path,
            number,
            None,
            None,
            "short_row",
            "error",
            f"{len(record)} field(s) where the header has {width}{hint}{spans}",
        )
    ]


def _python_chunks(
    layout: TextLayout, limits: ReadLimits, chunk_rows: int | None, *, skip: int
) -> Iterator[RawTable]:
    """The exact path: Python's csv module, one record at a time, counting every record.

    A row with fewer fields than the header is read with the missing fields blank and gets a
    ``short_row`` record (with ``delimiter_mismatch`` once per file when the rows split into
    the header's width at another delimiter); one with more gets ``extra_fields``. A quote
    that is opened and never closed would swallow the rest of the file into one field: the
    file is refused, naming the row where the quote opens.
    """
    width = len(layout.header)
    nulls = frozenset(NULL_VALUES)
    problems = list(layout.problems)
    rows: list[list] = []
    numbers: list[int] = []
    record_number = 0
    emitted = 0
    yielded = False
    mismatch_seen = False
    try:
        with open(layout.path, encoding=layout.encoding, errors="strict", newline="") as handle:
            lines = _Lines(handle)
            reader = csv.reader(
                lines, delimiter=layout.delimiter, quotechar='"', doublequote=True, strict=False
            )
            for _ in range(layout.header_rows):
                next(reader, None)
            record_number = layout.header_rows
            blank_lines: list[int] = []
            line_before = reader.line_num
            for record in reader:
                record_number += 1
                spanned = reader.line_num - line_before
                line_before = reader.line_num
                record_lines, lines.current = lines.current, []
                emitted += (
                    1  # counted as pyarrow counts rows, so a restart skips exactly what it gave
                )
                if spanned > 1 and _unterminated(record_lines, layout.delimiter):
                    raise DataError(
                        f'{layout.path}: row {record_number}: a quote (") opened in this row is '
                        f"never closed, so the remaining {spanned - 1:,} line(s) of the file "
                        "would be read as one field; the file is refused as a whole (fix or "
                        "remove the stray quote)"
                    )
                if emitted <= skip:
                    continue
                if not record:
                    # A blank line inside the data is a row without values, as pyarrow reads it;
                    # blank lines at the end of the file are not rows (pyarrow never sees them).
                    blank_lines.append(record_number)
                    continue
                if max(map(len, record)) > limits.max_field_chars:
                    raise DataError(
                        f"{layout.path}: row {record_number}: a field longer than the "
                        f"{limits.max_field_chars:,} characters allowed"
                    )
                if len(record) != width:
                    found = _field_count_problem(layout, record, record_number, spanned)
                    if found and "splits into" in found[0].message and not mismatch_seen:
                        mismatch_seen = True
                        problems.append(
                            Problem(
                                layout.path,
                                record_number,
                                None,
                                None,
                                "delimiter_mismatch",
                                "error",
                                "the header and the rows use different delimiters "
                                f"(header: {layout.delimiter!r}); see the short_row records",
                            )
                        )
                    problems += found
                cells = [None if cell.strip() in nulls else cell for cell in record[:width]]
                cells.extend([None] * (width - len(cells)))
                pending = [(number, [None] * width) for number in blank_lines] + [
                    (record_number, cells)
                ]
                blank_lines = []
                for number, row in pending:
                    rows.append(row)
                    numbers.append(number)
                    if chunk_rows is not None and len(rows) >= chunk_rows:
                        yield _python_raw(rows, numbers, layout, problems)
                        yielded = True
                        rows, numbers, problems = [], [], []
    except csv.Error:
        raise DataError(
            f"{layout.path}: row {record_number + 1}: cannot be parsed as delimited text (a field longer "
            f"than {csv.field_size_limit():,} characters, or a quote never closed); the file is "
            "refused as a whole"
        ) from None
    except UnicodeDecodeError:
        raise DataError(
            f"{layout.path}: row {record_number + 1}: text that is not valid {layout.encoding}"
        ) from None
    if rows or chunk_rows is None or (skip == 0 and not yielded):
        yield _python_raw(rows, numbers, layout, problems)


def _python_raw(
    rows: list[list], numbers: list[int], layout: TextLayout, problems: list[Problem]
) -> RawTable:
    width = len(layout.header)
    if rows:
        matrix = np.empty((len(rows), width), dtype=object)
        matrix[:] = rows
        columns = [matrix[:, j].copy() for j in range(width)]
    else:
        columns = [np.empty(0, dtype=object) for _ in range(width)]
    return RawTable(
        list(layout.header),
        columns,
        np.asarray(numbers, dtype=np.int64),
        problems,
        layout.platform_hint,
    )


def _concat(tables: list[RawTable], layout: TextLayout) -> RawTable:
    from instrument.readers.raw import as_values

    columns = [
        np.concatenate([as_values(t.columns[j]) for t in tables]) for j in range(len(layout.header))
    ]
    rows = np.concatenate([t.source_rows for t in tables])
    problems = [p for t in tables for p in t.problems]
    return RawTable(list(layout.header), columns, rows, problems, layout.platform_hint)
