"""Bounds on untrusted workbook and data files, checked before any parser sees them.

An ``.xlsx``/``.xlsm``/``.ods`` file is a ZIP archive of XML parts. defusedxml (used by openpyxl)
stops entity-expansion attacks inside one XML document, but nothing in the ZIP layer stops a
small file from inflating to gigabytes (a "zip bomb"), and a single far cell reference such as
``XFD1048576`` makes dense readers (calamine, pandas) allocate the whole rectangle. So every
workbook is first walked here, member by member, decompressing with a running byte cap (the sizes
in ZIP headers can be forged, so they are never trusted) and scanning each worksheet for its
``<dimension ref=...>`` and the largest cell reference it actually uses.

:class:`ReadLimits` holds every bound; readers take one as ``limits=``. Breaking a bound raises
:class:`~instrument.errors.DataError` naming the file and the bound, never any cell content.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from xml.parsers import expat

import numpy as np

from instrument.errors import DataError

#: Excel's own sheet size (rows, columns).
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLS = 16_384

_CHUNK = 1 << 20
_SHARED_STRINGS = "xl/sharedstrings.xml"
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_DTD_UTF16 = tuple(
    re.compile(re.escape(word.encode(codec)), re.IGNORECASE)
    for word in ("<!DOCTYPE", "<!ENTITY")
    for codec in ("utf-16-le", "utf-16-be")
)
_A1 = re.compile(r"^\$?([A-Za-z]{1,8})\$?([0-9]{1,12})$")


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """Bounds applied to every file before and while it is read.

    Attributes
    ----------
    max_file_bytes : int, default 2 GiB
        Largest file accepted at all (any format).
    max_unzipped_bytes : int, default 200 MB
        Largest total decompressed size of all members of a workbook (ZIP) file.
    max_members : int, default 10,000
        Most members a workbook archive may have.
    max_ratio : float, default 200
        Largest compression ratio of one member once it has inflated past 1 MB
        (ordinary spreadsheet XML compresses 5-30 times; bombs 1,000 times and more).
    max_rows : int, default 1,048,576
        Most rows a sheet or data file may declare or use (Excel's own limit by default).
    max_cols : int, default 16,384
        Most columns a sheet or data file may declare or use.
    max_cells : int, default 50,000,000
        Most cells (rows x columns) a sheet, SPSS or Parquet file may declare; a dense reader
        allocates every one of them.
    max_field_chars : int, default 131,072
        Longest text of one CSV field (Python's ``csv`` default limit).
    max_text_bytes : int, default 1,000,000,000
        Most text the cells of one sheet may expand to through the shared-string table (a
        million cells pointing at one 30,000-character string are 30 GB of text once read).
    max_cells_per_byte : int, default 20
        Most cells (rows x columns, declared or used) a worksheet may span per byte of the
        workbook file, once past ``small_sheet_cells``: a dense reader allocates every cell of
        the span (about 70 bytes each), so without it a 128 KB file inside the other bounds
        made 3.6 GB of work. Genuine sheets span 0.2 to 2 cells per byte of ``.xlsx``.
    small_sheet_cells : int, default 1,000,000
        Cells a worksheet may span whatever the file's size (``max_cells_per_byte`` starts
        past it). The whole workbook's decompressed size is likewise bounded by ``max_ratio``
        times the file's size once past 1 MB.
    """

    max_file_bytes: int = 2 * 1024**3
    max_unzipped_bytes: int = 200_000_000
    max_members: int = 10_000
    max_ratio: float = 200.0
    max_rows: int = EXCEL_MAX_ROWS
    max_cols: int = EXCEL_MAX_COLS
    max_cells: int = 50_000_000
    max_field_chars: int = 131_072
    max_text_bytes: int = 1_000_000_000
    max_cells_per_byte: int = 20
    small_sheet_cells: int = 1_000_000

    def __post_init__(self) -> None:
        for name in (
            "max_file_bytes",
            "max_unzipped_bytes",
            "max_members",
            "max_rows",
            "max_cols",
            "max_cells",
            "max_field_chars",
            "max_text_bytes",
            "max_cells_per_byte",
            "small_sheet_cells",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ReadLimits.{name}: must be a positive integer, got {value!r}")
        if not self.max_ratio > 1:
            raise ValueError(
                f"ReadLimits.max_ratio: must be greater than 1, got {self.max_ratio!r}"
            )

    def check_shape(self, source: str, rows: int, cols: int, what: str = "the data") -> None:
        """Raise :class:`DataError` when ``rows`` x ``cols`` breaks a bound."""
        if rows > self.max_rows or cols > self.max_cols or rows * cols > self.max_cells:
            raise DataError(
                f"{source}: {what} declares {rows:,} rows x {cols:,} columns, more than allowed "
                f"({self.max_rows:,} rows, {self.max_cols:,} columns, {self.max_cells:,} cells in all); "
                "the file is damaged or crafted, or too large for this reader (use CSV or Parquet, "
                "or raise the limits)"
            )


DEFAULT_LIMITS = ReadLimits()


def check_file_size(path: str | Path, limits: ReadLimits = DEFAULT_LIMITS) -> int:
    """Size of ``path`` in bytes; :class:`DataError` when it is missing, not a file or too large."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        raise DataError(f"{path}: file not found or not readable") from None
    if not path.is_file():
        raise DataError(f"{path}: not a regular file")
    if size > limits.max_file_bytes:
        raise DataError(f"{path}: {size:,} bytes, more than the {limits.max_file_bytes:,} allowed")
    return size


def column_number(letters: str) -> int:
    """1-based column number of spreadsheet column letters.

    Examples
    --------
    >>> column_number("A"), column_number("AK"), column_number("XFD")
    (1, 37, 16384)
    """
    number = 0
    for char in letters.upper():
        number = number * 26 + (ord(char) - 64)
    return number


def parse_dimension(ref: str) -> tuple[int, int]:
    """Last row and column of a ``<dimension ref=...>`` such as ``A1:AK5001`` (or ``A1``).

    Examples
    --------
    >>> parse_dimension("A1:AK5001")
    (5001, 37)
    >>> parse_dimension("B3")
    (3, 2)
    """
    last = ref.split(":")[-1].strip()
    match = _A1.match(last)
    if not match:
        raise ValueError(f"not a cell reference: {ref[:20]!r}")
    return int(match.group(2)), column_number(match.group(1))


@dataclass(frozen=True, slots=True)
class SheetExtent:
    """What the scan found in one worksheet part: declared and actually used extent."""

    member: str
    declared_rows: int
    declared_cols: int
    used_rows: int
    used_cols: int


def check_workbook(path: str | Path, limits: ReadLimits = DEFAULT_LIMITS) -> dict[str, SheetExtent]:
    """Refuse a workbook archive that breaks any of ``limits``, before any parser opens it.

    Walks every member of the ZIP with its own inflater and a running byte cap (so forged
    header sizes do not matter), refuses XML parts with a DTD (entity declarations, the
    "billion laughs" attack; spreadsheet files never need one), and for each worksheet part
    checks the declared ``<dimension>`` and the largest row and column it references.

    Parameters
    ----------
    path : str or Path
        The ``.xlsx``, ``.xlsm`` or ``.ods`` file.
    limits : ReadLimits, default ReadLimits()
        The bounds.

    Returns
    -------
    dict of str to SheetExtent
        One entry per worksheet part (``xl/worksheets/sheet1.xml``, ...).

    Raises
    ------
    DataError
        Naming the file and the bound it breaks.
    """
    path = Path(path)
    name = str(path)
    size = check_file_size(path, limits)
    try:
        archive = zipfile.ZipFile(path)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        OSError,
        ValueError,
        EOFError,
    ):
        raise DataError(
            f"{name}: not a readable workbook (not a valid ZIP archive; damaged, truncated or not a spreadsheet)"
        ) from None
    extents: dict[str, SheetExtent] = {}
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_members:
            raise DataError(
                f"{name}: the workbook archive has {len(infos):,} parts, more than the {limits.max_members:,} allowed"
            )
        total = 0
        # The shared-string table first, so each sheet can be charged for the text it points at.
        infos.sort(key=lambda info: info.filename.lower() != _SHARED_STRINGS)
        strings = np.zeros(0, dtype=np.int64)
        with open(path, "rb") as raw:
            for info in infos:
                if info.is_dir():
                    continue
                scanner = _PartScanner(info.filename, strings)
                total = _inflate(raw, info, name, size, total, limits, scanner)
                scanner.close(name)
                if scanner.is_strings:
                    strings = scanner.string_sizes()
                if scanner.shared_text > limits.max_text_bytes:
                    raise DataError(
                        f"{name}: worksheet part {info.filename} points at {scanner.shared_text:,} bytes of "
                        f"shared text, more than the {limits.max_text_bytes:,} allowed; refused as a possible "
                        "text bomb (raise the limit for genuine large files)"
                    )
                extent = scanner.extent()
                if extent is not None:
                    _check_extent(name, extent, limits)
                    _check_span_per_byte(name, extent, size, limits)
                    extents[info.filename] = extent
    return extents


def _check_extent(name: str, extent: SheetExtent, limits: ReadLimits) -> None:
    for label, rows, cols in (
        ("declares", extent.declared_rows, extent.declared_cols),
        ("uses cells up to", extent.used_rows, extent.used_cols),
    ):
        if rows > EXCEL_MAX_ROWS or cols > EXCEL_MAX_COLS:
            raise DataError(
                f"{name}: worksheet part {extent.member} {label} row {rows:,}, column {cols:,}, beyond "
                f"Excel's {EXCEL_MAX_ROWS:,} rows x {EXCEL_MAX_COLS:,} columns; the file is damaged or crafted"
            )
        if rows > limits.max_rows or cols > limits.max_cols or rows * cols > limits.max_cells:
            raise DataError(
                f"{name}: worksheet part {extent.member} {label} row {rows:,}, column {cols:,}: more than "
                f"allowed ({limits.max_rows:,} rows, {limits.max_cols:,} columns, {limits.max_cells:,} cells); "
                "save the data as CSV or raise the limits"
            )


def _check_span_per_byte(name: str, extent: SheetExtent, size: int, limits: ReadLimits) -> None:
    """Refuse a sheet spanning more cells than its file's bytes can honestly hold (issue 10,
    case 8: amplification per input byte)."""
    allowed = max(limits.small_sheet_cells, limits.max_cells_per_byte * size)
    for label, rows, cols in (
        ("declares", extent.declared_rows, extent.declared_cols),
        ("uses cells up to", extent.used_rows, extent.used_cols),
    ):
        if rows * cols > allowed:
            raise DataError(
                f"{name}: worksheet part {extent.member} {label} row {rows:,}, column {cols:,} "
                f"({rows * cols:,} cells) from a file of {size:,} bytes: more than "
                f"{limits.max_cells_per_byte:,} cells per byte of the file allowed past "
                f"{limits.small_sheet_cells:,} cells (reading it would allocate every cell); the "
                "sheet is mostly empty space or crafted: save the data as CSV, or raise "
                "ReadLimits.max_cells_per_byte (Python API)"
            )


class _PartScanner:
    """Parses the decompressed bytes of one member as they stream past.

    Worksheet and shared-string parts go through expat (a real streaming XML parser, so
    attributes count whatever their quoting or spacing); a DTD or entity declaration anywhere
    in them stops the parse before anything is expanded. Other XML parts are searched for a
    DTD over all their bytes (legacy VML parts are often not well-formed XML).
    """

    def __init__(self, member: str, strings: np.ndarray | None = None):
        self.member = member
        lower = member.lower()
        self.is_xml = lower.endswith((".xml", ".rels", ".vml"))
        self.is_sheet = lower.startswith(
            ("xl/worksheets/", "xl/chartsheets/", "xl/dialogsheets/")
        ) and lower.endswith(".xml")
        self.is_strings = lower == _SHARED_STRINGS
        self.strings = strings if strings is not None else np.zeros(0, dtype=np.int64)
        self.shared_text = 0
        self.base = 0
        self.starts: list[int] = []
        self.tail = b""
        self.declared = (0, 0)
        self.used_rows = 0
        self.used_cols = 0
        self.seen_dimension = False
        self.row = 0
        self.col = 0
        self.shared_cell = False
        self.value: list[str] | None = None
        self.workbook = ""
        self._kinds: dict[str, str] = {}
        self._columns: dict[str, int] = {}
        self.parser = None
        if self.is_sheet or self.is_strings:
            parser = expat.ParserCreate()
            parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
            parser.StartDoctypeDeclHandler = self._refuse_dtd
            parser.EntityDeclHandler = self._refuse_dtd
            parser.ExternalEntityRefHandler = self._refuse_dtd  # type: ignore[assignment]
            parser.buffer_text = True
            if self.is_sheet:
                parser.StartElementHandler = self._sheet_start
                if len(self.strings):  # text of <v> matters only with a shared-string table
                    parser.EndElementHandler = self._sheet_end
                    parser.CharacterDataHandler = self._text
            else:
                parser.StartElementHandler = self._strings_start
            self.parser = parser

    def _refuse_dtd(self, *args) -> None:
        raise DataError(
            f"{self.workbook}: part {self.member} declares a DTD or XML entities, which spreadsheet "
            "files never need (an XML-bomb pattern); refused"
        )

    def feed(self, data: bytes, workbook: str) -> None:
        if not self.is_xml:
            return
        self.workbook = workbook
        if self.parser is None:
            window = self.tail + data
            if _DTD.search(window) or any(p.search(window) for p in _DTD_UTF16):
                self._refuse_dtd()
            self.tail = window[-32:]
            return
        try:
            self.parser.Parse(data, False)
        except expat.ExpatError as exc:
            raise DataError(
                f"{workbook}: worksheet part {self.member} is not well-formed XML "
                f"({expat.ErrorString(exc.code)}, line {exc.lineno}); damaged or crafted"
            ) from None
        self.base += len(data)

    def close(self, workbook: str) -> None:
        """The member ended: finish the parse (an unfinished document is damaged)."""
        if self.parser is None:
            return
        self.workbook = workbook
        try:
            self.parser.Parse(b"", True)
        except expat.ExpatError as exc:
            raise DataError(
                f"{workbook}: worksheet part {self.member} is not well-formed XML "
                f"({expat.ErrorString(exc.code)}); damaged or truncated"
            ) from None
        self.parser = None

    # --- shared strings -----------------------------------------------------------------------
    def _strings_start(self, name: str, attrs: dict) -> None:
        if name.rpartition(":")[2] == "si" and self.parser is not None:
            self.starts.append(self.parser.CurrentByteIndex)

    def string_sizes(self) -> np.ndarray:
        """Bytes of each ``<si>`` entry of the shared-string table (markup included: an upper bound)."""
        bounds = np.array(self.starts + [self.base], dtype=np.int64)
        return np.diff(bounds) if len(bounds) > 1 else np.zeros(0, dtype=np.int64)

    # --- worksheets ---------------------------------------------------------------------------
    def _kind(self, name: str) -> str:
        """The local name of an element (``x:c`` -> ``c``), cached: called for every cell."""
        kind = self._kinds.get(name)
        if kind is None:
            kind = self._kinds[name] = name.rpartition(":")[2]
        return kind

    def _column(self, letters: str) -> int:
        number = self._columns.get(letters)
        if number is None:
            clean = letters.lstrip("$").upper()
            number = column_number(clean) if clean.isascii() and clean.isalpha() else -1
            if len(clean) > 8:
                number = EXCEL_MAX_COLS + 1 if number > 0 else -1
            self._columns[letters] = number
        return number

    def _sheet_start(self, name: str, attrs: dict) -> None:
        kind = self._kinds.get(name) or self._kind(name)
        if kind == "c":
            ref = attrs.get("r")
            placed = False
            if ref:
                ref = ref.strip().replace("$", "")
                letters = ref.rstrip("0123456789")
                digits = ref[len(letters) :]
                if letters and digits and len(digits) <= 12:
                    number = self._column(letters)
                    if number > 0:
                        self.col = number
                        row = int(digits)
                        if row > self.row:
                            self.row = row
                        placed = True
            if not placed:
                self.col += 1
            if self.col > self.used_cols:
                self.used_cols = self.col
            if self.row > self.used_rows:
                self.used_rows = self.row
            self.shared_cell = attrs.get("t") == "s" or attrs.get("t", "").strip() == "s"
        elif kind == "v":
            if self.shared_cell:
                self.value = []
        elif kind == "row":
            r = attrs.get("r", "").strip()
            self.row = int(r) if r.isdigit() and len(r) <= 12 else self.row + 1
            self.col = 0
            if self.row > self.used_rows:
                self.used_rows = self.row
        elif kind == "dimension" and not self.seen_dimension:
            self.seen_dimension = True
            try:
                self.declared = parse_dimension(attrs.get("ref", "")[:64])
            except ValueError:
                raise DataError(
                    f"{self.workbook}: worksheet part {self.member} has an unreadable <dimension> reference"
                ) from None

    def _text(self, data: str) -> None:
        if self.value is not None and len(self.value) < 4:
            self.value.append(data[:24])

    def _sheet_end(self, name: str) -> None:
        if self.value is None:
            return
        kind = self._kinds.get(name) or self._kind(name)
        if kind == "v":
            text = "".join(self.value).strip()
            self.value = None
            if text.isdigit() and len(text) <= 12:
                index = int(text)
                if index < len(self.strings):
                    self.shared_text += int(self.strings[index])

    def extent(self) -> SheetExtent | None:
        if not self.is_sheet:
            return None
        return SheetExtent(
            self.member, self.declared[0], self.declared[1], self.used_rows, self.used_cols
        )


def _inflate(
    raw,
    info: zipfile.ZipInfo,
    name: str,
    size: int,
    total: int,
    limits: ReadLimits,
    scanner: _PartScanner,
) -> int:
    """Decompress one member from its local header on, counting bytes; return the new total."""
    if info.flag_bits & 0x1:
        raise DataError(
            f"{name}: the workbook is encrypted (password protected); save an unprotected copy"
        )
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise DataError(
            f"{name}: part {info.filename} uses a compression method spreadsheets do not use; refused"
        )
    if info.header_offset < 0 or info.header_offset + 30 > size:
        raise DataError(
            f"{name}: damaged workbook archive (a part starts beyond the end of the file)"
        )
    raw.seek(info.header_offset)
    header = raw.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise DataError(
            f"{name}: damaged workbook archive (bad local header for part {info.filename})"
        )
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    raw.seek(info.header_offset + 30 + name_len + extra_len)
    # Compressed bytes available: never more than what is left of the file.
    remaining = max(0, min(info.compress_size, size - raw.tell()))
    inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    member_out = 0
    consumed = 0
    budget = limits.max_unzipped_bytes - total
    while remaining > 0:
        block = raw.read(min(_CHUNK, remaining))
        if not block:
            break
        remaining -= len(block)
        consumed += len(block)
        pending = block
        while pending:
            if inflater is None:
                out, pending = pending, b""
            else:
                try:
                    # max_length bounds what one call may produce, so one small block cannot
                    # expand to gigabytes before we count it.
                    out = inflater.decompress(pending, _CHUNK)
                except zlib.error:
                    raise DataError(
                        f"{name}: damaged workbook archive (part {info.filename} does not decompress)"
                    ) from None
                pending = inflater.unconsumed_tail
            member_out += len(out)
            if member_out > budget:
                raise DataError(
                    f"{name}: the workbook decompresses to more than {limits.max_unzipped_bytes:,} bytes "
                    f"(part {info.filename}); refused as a possible zip bomb (raise the limit for genuine large files)"
                )
            if member_out > _CHUNK and member_out > limits.max_ratio * max(
                consumed - len(pending), 1
            ):
                raise DataError(
                    f"{name}: part {info.filename} inflates more than {limits.max_ratio:g} times its compressed "
                    "size; refused as a possible zip bomb"
                )
            if total + member_out > _CHUNK and total + member_out > limits.max_ratio * size:
                raise DataError(
                    f"{name}: the workbook's parts inflate to more than {limits.max_ratio:g} times "
                    f"the file's {size:,} bytes (at part {info.filename}); refused as a possible zip "
                    "bomb (raise ReadLimits.max_ratio in the Python API for genuine files)"
                )
            scanner.feed(out, name)
            if inflater is not None and inflater.eof:
                pending = b""
                remaining = 0
    return total + member_out
