"""Workbooks: the MHDQ data-entry workbook, Kobo XLS exports and any ``.xlsx``/``.xlsm`` sheet.

Every ZIP-based workbook is first checked by :func:`instrument.io.safety.check_workbook` (zip-bomb,
XML-bomb and sheet-size bounds). Then python-calamine reads it (fast, Rust). openpyxl in
read-only mode (through defusedxml) is used only when calamine's XML parser rejects a part
(:class:`python_calamine.XmlError`), which happens with some non-Excel generators; no other
failure falls back silently.

The MHDQ workbook carries a hidden sheet ``_mhdq`` with key/value rows (column A key, column B
value): ``instrument``, ``name``, ``version``, ``fingerprint``, ``language``, ``group``,
``data_sheet``, ``header_row``, ``first_data_row``, ``generator``. The data sheet it names has
variable names in the header row and one respondent per row below it.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from xml.etree.ElementTree import ParseError

import numpy as np
import python_calamine as calamine

from instrument.errors import DataError
from instrument.io.safety import ReadLimits, check_file_size, check_workbook
from instrument.io.security import assert_defusedxml
from instrument.problems import Problem
from instrument.readers import kobo, qualtrics
from instrument.readers.raw import RawTable

#: Name of the hidden sheet that marks an MHDQ workbook.
MHDQ_SHEET = "_mhdq"
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: What openpyxl raises on a damaged workbook: broken ZIP members, XML that does not parse
#: (defusedxml's refusals are ValueErrors), parts that are missing or of the wrong shape.
_OPENPYXL_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    ParseError,
    KeyError,
    ValueError,
    TypeError,
    IndexError,
    AttributeError,
    OSError,
    EOFError,
    NotImplementedError,  # zipfile: unsupported flags or compression
    RuntimeError,
)  # zipfile: a member marked encrypted


def workbook_sheets(path: str | Path, limits: ReadLimits) -> list[str]:
    """Sheet names of a workbook, after the safety checks."""
    book = _open(Path(path), limits)
    try:
        return list(book.sheet_names)
    finally:
        book.close()


def read_workbook(path: str | Path, limits: ReadLimits, *, sheet: str | None = None) -> RawTable:
    """Read one sheet (the MHDQ data sheet, ``sheet``, or the first worksheet) into a :class:`RawTable`.

    Raises
    ------
    DataError
        When the file breaks a safety bound, cannot be read, or names a sheet it does not have.
    """
    path = Path(path)
    name = str(path)
    book = _open(path, limits)
    try:
        names = list(book.sheet_names)
        declared: dict[str, str] = {}
        header_row, first_data_row = 1, 2
        platform = "xlsx"
        if MHDQ_SHEET in names:
            declared = _key_values(_sheet_rows(book, path, MHDQ_SHEET, limits))
            platform = "mhdq_workbook"
            target = sheet or declared.get("data_sheet") or ""
            if target not in names:
                raise DataError(
                    f"{name}: the MHDQ workbook names data sheet {target!r}, which it does not have; "
                    f"sheets: {', '.join(n for n in names if n != MHDQ_SHEET)}"
                )
            header_row = _small_int(declared, "header_row", 1, name)
            first_data_row = _small_int(declared, "first_data_row", header_row + 1, name)
            if first_data_row <= header_row:
                raise DataError(
                    f"{name}: _mhdq first_data_row ({first_data_row}) must come after header_row ({header_row})"
                )
        elif sheet is not None:
            if sheet not in names:
                raise DataError(f"{name}: no sheet {sheet!r}; sheets: {', '.join(names)}")
            target = sheet
        else:
            target = _first_worksheet(book, names, name)
        rows = _sheet_rows(book, path, target, limits)
        if (
            platform == "xlsx"
            and len(rows) >= 3
            and qualtrics.is_import_id_row([_text(v) for v in rows[2]])
        ):
            platform, first_data_row = "qualtrics", qualtrics.HEADER_ROWS + 1
        elif (
            platform == "xlsx"
            and len(rows) >= 2
            and kobo.looks_like([_text(v) for v in rows[0]])
            and kobo.is_tag_row([_text(v) for v in rows[1]])
        ):
            first_data_row = 3
    finally:
        book.close()
    table = _table_from_rows(rows, name, header_row, first_data_row, sheet_name=target)
    table.platform = platform
    table.declared = declared
    table.spec_version = declared.get("version") if declared else None
    return table


def _open(path: Path, limits: ReadLimits):
    name = str(path)
    check_file_size(path, limits)
    with open(path, "rb") as handle:
        magic = handle.read(8)
    if magic.startswith(ZIP_MAGIC):
        extents = check_workbook(path, limits)
        if not any(member.startswith("xl/worksheets/") for member in extents):
            # .ods and .xlsb keep their cells where the size checks cannot see them.
            raise DataError(
                f"{name}: not an Excel .xlsx/.xlsm workbook (no worksheets found); "
                "save it as .xlsx or CSV"
            )
    elif not magic.startswith(OLE_MAGIC):
        raise DataError(f"{name}: not a workbook (expected an .xlsx, .xlsm, .xls or .ods file)")
    try:
        return calamine.CalamineWorkbook.from_path(name)
    except calamine.PasswordError:
        raise DataError(
            f"{name}: the workbook is password protected; save an unprotected copy"
        ) from None
    except calamine.XmlError:
        if magic.startswith(ZIP_MAGIC):
            return _OpenpyxlBook(path)
        raise DataError(
            f"{name}: not a readable workbook (damaged, truncated or not a spreadsheet)"
        ) from None
    except (calamine.ZipError, calamine.CalamineError):
        raise DataError(
            f"{name}: not a readable workbook (damaged, truncated or not a spreadsheet)"
        ) from None
    except (OSError, ValueError):
        raise DataError(
            f"{name}: not a readable workbook (damaged, truncated or not a spreadsheet)"
        ) from None


class _OpenpyxlBook:
    """Stands in for a calamine workbook whose workbook part calamine's XML parser rejected:
    sheet names from openpyxl, and every sheet read through :func:`_openpyxl_rows`."""

    def __init__(self, path: Path):
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        assert_defusedxml()
        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
        except _OPENPYXL_ERRORS + (InvalidFileException,):
            raise DataError(
                f"{path}: not a readable workbook (damaged, truncated or not a spreadsheet)"
            ) from None
        self.sheet_names = list(book.sheetnames)
        self.worksheets = [ws.title for ws in book.worksheets]
        book.close()

    @property
    def sheets_metadata(self):
        return []

    def get_sheet_by_name(self, name: str):
        raise calamine.XmlError("read with openpyxl")

    def close(self) -> None:
        pass


def _first_worksheet(book, names: list[str], name: str) -> str:
    if isinstance(book, _OpenpyxlBook):
        if book.worksheets:
            return book.worksheets[0]
        raise DataError(f"{name}: the workbook has no worksheet")
    for meta in book.sheets_metadata:
        if str(meta.typ).endswith("WorkSheet"):
            return meta.name
    if names:
        return names[0]
    raise DataError(f"{name}: the workbook has no worksheet")


def _sheet_rows(book, path: Path, sheet: str, limits: ReadLimits) -> list[list]:
    """All rows of a sheet from A1 on; openpyxl only when calamine's XML parser rejects the sheet."""
    try:
        worksheet = book.get_sheet_by_name(sheet)
        rows = worksheet.to_python(skip_empty_area=False)
    except calamine.XmlError:
        return _openpyxl_rows(path, sheet)
    except calamine.PasswordError:
        raise DataError(
            f"{path}: the workbook is password protected; save an unprotected copy"
        ) from None
    except (calamine.CalamineError, OSError, ValueError):
        raise DataError(
            f"{path}: sheet {sheet!r} cannot be read (damaged or truncated workbook)"
        ) from None
    if rows:
        limits.check_shape(str(path), len(rows), max(len(r) for r in rows), what=f"sheet {sheet!r}")
    return rows


def _openpyxl_rows(path: Path, sheet: str) -> list[list]:
    """The fallback reader: openpyxl, read-only, through defusedxml."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    assert_defusedxml()
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except _OPENPYXL_ERRORS + (InvalidFileException,):
        raise DataError(
            f"{path}: not a readable workbook (damaged, truncated or not a spreadsheet)"
        ) from None
    try:
        if sheet not in book.sheetnames:
            raise DataError(f"{path}: no sheet {sheet!r}; sheets: {', '.join(book.sheetnames)}")
        return [
            ["" if v is None else v for v in row] for row in book[sheet].iter_rows(values_only=True)
        ]
    except _OPENPYXL_ERRORS:
        raise DataError(
            f"{path}: sheet {sheet!r} cannot be read (damaged or truncated workbook)"
        ) from None
    finally:
        book.close()


def _key_values(rows: list[list]) -> dict[str, str]:
    out: dict[str, str] = {}
    for row in rows:
        if len(row) < 2 or row[0] in ("", None):
            continue
        out[str(row[0]).strip()] = _text(row[1])
    return out


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def _small_int(declared: dict[str, str], key: str, default: int, name: str) -> int:
    text = declared.get(key, "")
    if not text:
        return default
    try:
        value = int(float(text))
    except ValueError:
        raise DataError(f"{name}: _mhdq {key} must be a row number, got {text[:20]!r}") from None
    if not 1 <= value <= 1000:
        raise DataError(f"{name}: _mhdq {key} must be a row number from 1 to 1000, got {value}")
    return value


def _table_from_rows(
    rows: list[list], name: str, header_row: int, first_data_row: int, *, sheet_name: str
) -> RawTable:
    if len(rows) < header_row or not any(_text(v) for v in rows[header_row - 1]):
        raise DataError(
            f"{name}: sheet {sheet_name!r} has no header row (row {header_row} is empty)"
        )
    header = [_text(v) for v in rows[header_row - 1]]
    width = max(i for i, v in enumerate(header) if v) + 1
    header = header[:width]
    body = rows[first_data_row - 1 :]
    # Trailing rows with nothing in them (a workbook prepared for 5,000 answers holds fewer).
    last = len(body)
    while last and not any(
        v not in ("", None) and not (isinstance(v, str) and not v.strip()) for v in body[last - 1]
    ):
        last -= 1
    body = body[:last]
    problems: list[Problem] = []
    matrix = np.full((len(body), width), None, dtype=object)
    beyond = []
    for i, row in enumerate(body):
        cells = row[:width]
        matrix[i, : len(cells)] = cells
        if len(row) > width and any(v not in ("", None) for v in row[width:]):
            beyond.append(first_data_row + i)
    if beyond:
        problems.append(
            Problem(
                name,
                beyond[0],
                None,
                None,
                "unnamed_column",
                "warning",
                f"{len(beyond)} row(s), the first being row {beyond[0]}, have values to the "
                "right of the last named column; those values are not read",
            )
        )
    if body:
        matrix[matrix == ""] = None
    columns = [matrix[:, j].copy() for j in range(width)]
    rows_seen = np.arange(first_data_row, first_data_row + len(body), dtype=np.int64)
    return RawTable(header, columns, rows_seen, problems, "xlsx")
