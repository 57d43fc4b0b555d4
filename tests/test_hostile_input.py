"""Hostile and broken input: every reader either raises one clean DataError naming the file, or
returns a ResponseTable whose rows add up. Plus crafted attacks on workbooks (zip bombs, member
count, absurd sheet dimensions, far cell references, XML entity expansion), refused before any
parser allocates for them.

All files are synthetic, generated here. Caps are small so nothing can hang.
"""

from __future__ import annotations

import io
import re
import resource
import string
import struct
import zipfile
from datetime import timedelta
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyreadstat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from instrument.errors import DataError
from instrument.io.safety import ReadLimits, check_workbook
from instrument.read import detect_platform, iter_response_chunks, read_responses
from instrument.responses import ResponseTable
from instrument.spec import load_instrument

EXPORTS = Path(__file__).parent / "data" / "exports"
MINI = load_instrument(EXPORTS / "mini.yaml")
SMALL = ReadLimits(
    max_unzipped_bytes=5_000_000,
    max_members=200,
    max_rows=5_000,
    max_cols=200,
    max_cells=200_000,
    max_field_chars=10_000,
)
#: A marker planted in cells: it must never appear in an error message.
SECRET = "Zq7SECRET"
HYPOTHESIS = settings(
    max_examples=40,
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def no_cell_values(message: str) -> None:
    """Messages may quote column names (a damaged file's header can hold anything), never cells."""
    unquoted = re.sub(r"'[^']*'", "", message.replace(str(Path.cwd()), ""))
    assert SECRET not in unquoted, message


def outcome(path: Path, **kwargs) -> ResponseTable | DataError:
    """Read, and check the contract: a clean DataError naming the file, or consistent rows."""
    try:
        table = read_responses(path, MINI, limits=SMALL, **kwargs)
    except DataError as error:
        message = str(error)
        assert str(path) in message, message
        no_cell_values(message)
        return error
    assert isinstance(table, ResponseTable)
    assert len(table.items) == len(table.meta) == len(table.background)
    assert table.meta["source_row"].is_monotonic_increasing
    assert table.meta["respondent_id"].notna().all()
    for problem in table.problems:
        no_cell_values(problem.message)
    return table


def chunked_outcome(path: Path) -> None:
    try:
        chunks = list(iter_response_chunks(path, MINI, chunk_rows=3, limits=SMALL))
    except DataError as error:
        assert str(path) in str(error)
        return
    for chunk in chunks:
        assert len(chunk.items) == len(chunk.meta) == len(chunk.background)


# ------------------------------------------------------------------------------------------
# Valid files to break
# ------------------------------------------------------------------------------------------
def valid_csv(path: Path) -> Path:
    path.write_text(
        "respondent_id;fit_1;fit_2;fit_3;comment\r\n"
        + "".join(f'P{i};{i % 5 + 1};"{(i + 2) % 5 + 1}";;"{SECRET} {i}"\r\n' for i in range(30))
    )
    return path


def valid_xlsx(path: Path) -> Path:
    book = openpyxl.Workbook()
    book.active.append(["respondent_id", "fit_1", "fit_2", "comment"])
    for i in range(30):
        book.active.append([f"P{i}", i % 5 + 1, None, f"{SECRET} {i}"])
    meta = book.create_sheet("_mhdq")
    for key, value in [("instrument", "mini"), ("version", "1.2"), ("data_sheet", "Sheet")]:
        meta.append([key, value])
    book.save(path)
    return path


def valid_parquet(path: Path) -> Path:
    pq.write_table(
        pa.table(
            {
                "fit_1": [float(i % 5 + 1) for i in range(30)],
                "comment": [f"{SECRET} {i}" for i in range(30)],
            }
        ),
        path,
        row_group_size=10,
    )
    return path


def valid_sav(path: Path) -> Path:
    frame = pd.DataFrame(
        {
            "fit_1": [float(i % 5 + 1) for i in range(30)],
            "comment": [f"{SECRET}{i}" for i in range(30)],
        }
    )
    pyreadstat.write_sav(
        frame,
        str(path),
        variable_value_labels={"fit_1": {1: "Strongly disagree", 5: "Strongly agree"}},
    )
    return path


VALID = {".csv": valid_csv, ".xlsx": valid_xlsx, ".parquet": valid_parquet, ".sav": valid_sav}


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    folder = tmp_path_factory.mktemp("valid")
    return {suffix: make(folder / f"valid{suffix}").read_bytes() for suffix, make in VALID.items()}


def test_valid_originals_read(originals, tmp_path):
    for suffix, data in originals.items():
        path = tmp_path / f"ok{suffix}"
        path.write_bytes(data)
        assert isinstance(outcome(path), ResponseTable), suffix


@HYPOTHESIS
@given(suffix=st.sampled_from(sorted(VALID)), fraction=st.floats(0, 1, exclude_max=True))
def test_truncated_files(originals, tmp_path_factory, suffix, fraction):
    data = originals[suffix]
    path = tmp_path_factory.mktemp("cut") / f"cut{suffix}"
    path.write_bytes(data[: int(len(data) * fraction)])
    outcome(path)


@HYPOTHESIS
@given(
    suffix=st.sampled_from(sorted(VALID)),
    position=st.floats(0, 1, exclude_max=True),
    garbage=st.binary(min_size=1, max_size=64),
)
def test_corrupted_files(originals, tmp_path_factory, suffix, position, garbage):
    data = bytearray(originals[suffix])
    at = int(len(data) * position)
    data[at : at + len(garbage)] = garbage
    path = tmp_path_factory.mktemp("bad") / f"bad{suffix}"
    path.write_bytes(bytes(data))
    outcome(path)


@HYPOTHESIS
@given(
    fraction=st.floats(0, 1, exclude_max=True),
    garbage=st.binary(max_size=32),
    truncate=st.booleans(),
)
def test_damaged_workbooks_through_openpyxl(
    originals, tmp_path_factory, monkeypatch, fraction, garbage, truncate
):
    """The openpyxl fallback (used when calamine's XML parser rejects a file) is held to the same contract."""
    import python_calamine

    def rejecting(path):
        raise python_calamine.XmlError("synthetic: use the fallback")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", rejecting)
    data = bytearray(originals[".xlsx"])
    at = int(len(data) * fraction)
    data = data[:at] if truncate else data[:at] + garbage + data[at + len(garbage) :]
    path = tmp_path_factory.mktemp("viaopenpyxl") / "damaged.xlsx"
    path.write_bytes(bytes(data))
    outcome(path)


@HYPOTHESIS
@given(
    suffix=st.sampled_from([".csv", ".tsv", ".txt", ".xlsx", ".xls", ".sav", ".parquet", ".dat"]),
    data=st.binary(max_size=2048),
)
def test_random_bytes(tmp_path_factory, suffix, data):
    path = tmp_path_factory.mktemp("random") / f"random{suffix}"
    path.write_bytes(data)
    outcome(path)
    try:
        detect_platform(path, limits=SMALL)
    except DataError as error:
        assert str(path) in str(error)


@HYPOTHESIS
@given(
    prefix=st.sampled_from(
        [
            b"PK\x03\x04",
            b"PAR1",
            b"$FL2",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
            b"\xff\xfe",
            b"\xef\xbb\xbf",
        ]
    ),
    data=st.binary(max_size=1024),
)
def test_random_bytes_after_a_magic_number(tmp_path_factory, prefix, data):
    path = tmp_path_factory.mktemp("magic") / "magic.dat"
    path.write_bytes(prefix + data)
    outcome(path)


CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            "1",
            "5",
            " 3 ",
            "-9",
            "9",
            "0",
            "1e309",
            "-1e309",
            "99999999999999999999999",
            "1.5",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "Infinity",
            "NA",
            "#N/A",
            "NULL",
            "Agree",
            "helt enig",
            "=cmd|' /C calc'!A0",
            "+SUM(A1)",
            "@x",
            "-2+3",
            '"',
            '""',
            ";",
            ",",
            "\t",
            "\n",
            "\r\n",
            "1 3",
            "0x10",
            "1_000",
            "٣",
            "１",
            "\u202e5",
            "\x00",
            SECRET,
        ]
    ),
    st.text(max_size=20),
)
HEADER = st.lists(
    st.sampled_from(
        [
            "respondent_id",
            "fit_1",
            "FIT_2",
            "grp/fit_3",
            "ppl_1",
            "groups",
            "groups___1",
            "gender",
            "age",
            "comment",
            "_uuid",
            "_submission_time",
            "record_id",
            "IPAddress",
            "",
            "x",
            "fit_1",
            "ResponseId",
            "start",
            "end",
        ]
    ),
    min_size=1,
    max_size=8,
)


@HYPOTHESIS
@given(
    header=HEADER,
    rows=st.lists(st.lists(CELLS, max_size=10), max_size=12),
    delimiter=st.sampled_from([",", ";", "\t"]),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]),
    quote=st.booleans(),
)
def test_generated_csv(tmp_path_factory, header, rows, delimiter, newline, encoding, quote):
    def line(cells):
        if quote:
            return delimiter.join('"' + c.replace('"', '""') + '"' for c in cells)
        return delimiter.join(cells)

    text = newline.join(line(r) for r in [header, *rows]) + newline
    path = tmp_path_factory.mktemp("gen") / "generated.csv"
    path.write_bytes(text.encode(encoding, errors="replace"))
    result = outcome(path)
    chunked_outcome(path)
    if isinstance(result, ResponseTable) and header.count("fit_1") == 1 and "fit_1" in result.items:
        # numbers stay numbers: never a string for a cell that parses as one
        for value in result.items["fit_1"]:
            assert not (isinstance(value, str) and value.strip() in {"1", "5", "-9"})


@HYPOTHESIS
@given(
    header=HEADER,
    rows=st.lists(
        st.lists(
            st.one_of(CELLS, st.floats(), st.integers(-(2**70), 2**70), st.booleans(), st.none()),
            max_size=8,
        ),
        max_size=10,
    ),
)
def test_generated_workbook(tmp_path_factory, header, rows):
    book = openpyxl.Workbook()
    sheet = book.active
    cleaned = openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE
    for row in [header, *rows]:
        values = []
        for value in row:
            if isinstance(value, str):
                value = cleaned.sub("", value)
            if isinstance(value, int) and abs(value) > 2**53:
                value = float(value)
            values.append(value)
        sheet.append(values)
    path = tmp_path_factory.mktemp("book") / "generated.xlsx"
    book.save(path)
    outcome(path)


def test_empty_and_header_only_everywhere(tmp_path):
    for name, data in [
        ("e.csv", b""),
        ("e.xlsx", b""),
        ("e.sav", b""),
        ("e.parquet", b""),
        ("h.csv", b"fit_1;fit_2\r\n"),
        ("blank.csv", b"\r\n\r\n"),
        ("bom.csv", b"\xef\xbb\xbf"),
    ]:
        path = tmp_path / name
        path.write_bytes(data)
        result = outcome(path)
        if name == "h.csv":
            assert isinstance(result, ResponseTable) and len(result.items) == 0
        else:
            assert isinstance(result, DataError)
    book = openpyxl.Workbook()
    book.active.append(["fit_1", "fit_2"])
    book.save(tmp_path / "h.xlsx")
    assert len(outcome(tmp_path / "h.xlsx").items) == 0
    pq.write_table(pa.table({"fit_1": pa.array([], type=pa.float64())}), tmp_path / "h.parquet")
    assert len(outcome(tmp_path / "h.parquet").items) == 0
    pyreadstat.write_sav(
        pd.DataFrame({"fit_1": pd.Series([], dtype="float64")}), str(tmp_path / "h.sav")
    )
    assert len(outcome(tmp_path / "h.sav").items) == 0
    (tmp_path / "h.tsv").write_bytes(b"fit_1\tfit_2\n")
    assert len(outcome(tmp_path / "h.tsv").items) == 0


# ------------------------------------------------------------------------------------------
# Crafted workbooks
# ------------------------------------------------------------------------------------------
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def crafted(path: Path, replace: dict[str, bytes], extra: dict[str, bytes] | None = None) -> Path:
    """A real openpyxl workbook with some parts replaced or added."""
    book = openpyxl.Workbook()
    book.active.append(["fit_1"])
    book.active.append([1])
    buffer = io.BytesIO()
    book.save(buffer)
    with (
        zipfile.ZipFile(buffer) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, replace.get(info.filename, source.read(info.filename)))
        for name, data in (extra or {}).items():
            target.writestr(name, data)
    return path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def refused(path: Path, match: str, limits: ReadLimits = SMALL) -> str:
    before = peak_rss_mb()
    with pytest.raises(DataError, match=match) as caught:
        read_responses(path, MINI, limits=limits)
    # refused before anything large was allocated (peak memory is monotonic; generous bound)
    assert peak_rss_mb() - before < 300
    assert str(path) in str(caught.value)
    return str(caught.value)


def bomb_sheet(size: int) -> bytes:
    rows = b'<row r="1"><c r="A1" t="inlineStr"><is><t>fit_1</t></is></c></row>'
    padding = b" " * size  # whitespace between rows is legal XML and compresses about 1000:1
    return SHEET_HEAD.encode() + b"<sheetData>" + rows + padding + b"</sheetData></worksheet>"


def test_zip_bomb_total_size(tmp_path):
    path = crafted(tmp_path / "bomb.xlsx", {"xl/worksheets/sheet1.xml": bomb_sheet(20_000_000)})
    assert path.stat().st_size < 100_000
    refused(
        path,
        r"decompresses to more than 5,000,000 bytes",
        ReadLimits(max_unzipped_bytes=5_000_000, max_ratio=10**6),
    )


def test_zip_bomb_ratio(tmp_path):
    path = crafted(tmp_path / "ratio.xlsx", {"xl/worksheets/sheet1.xml": bomb_sheet(20_000_000)})
    refused(path, r"inflates more than 200 times", ReadLimits(max_unzipped_bytes=10**9))


def test_zip_bomb_with_forged_sizes(tmp_path):
    """Header sizes claim a tiny member: the running byte count does not believe them."""
    path = crafted(tmp_path / "forged.xlsx", {"xl/worksheets/sheet1.xml": bomb_sheet(20_000_000)})
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    # local header: uncompressed size at offset 22; central directory entry: at offset 24
    local = data.find(b"PK\x03\x04")  # first local header
    while local >= 0:
        name_len = struct.unpack("<H", data[local + 26 : local + 28])[0]
        if data[local + 30 : local + 30 + name_len] == name:
            data[local + 22 : local + 26] = struct.pack("<I", 1000)
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while central >= 0:
        name_len = struct.unpack("<H", data[central + 28 : central + 30])[0]
        if data[central + 46 : central + 46 + name_len] == name:
            data[central + 24 : central + 28] = struct.pack("<I", 1000)
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))
    assert zipfile.ZipFile(path).getinfo(name.decode()).file_size == 1000
    refused(
        path,
        r"decompresses to more than|inflates more than",
        ReadLimits(max_unzipped_bytes=5_000_000),
    )


def test_member_count_bomb(tmp_path):
    extra = {f"xl/media/pad{i}.bin": b"" for i in range(10_050)}
    path = crafted(tmp_path / "members.xlsx", {}, extra)
    refused(path, r"parts, more than the 10,000 allowed", ReadLimits())


def test_huge_declared_dimension(tmp_path):
    sheet = (
        SHEET_HEAD
        + '<dimension ref="A1:XFD1048576"/><sheetData><row r="1"><c r="A1" t="inlineStr">'
        "<is><t>fit_1</t></is></c></row></sheetData></worksheet>"
    ).encode()
    path = crafted(tmp_path / "dimension.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    refused(path, r"declares row 1,048,576, column 16,384", ReadLimits())


def test_dimension_beyond_excel(tmp_path):
    sheet = (SHEET_HEAD + '<dimension ref="A1:A99999999"/><sheetData/></worksheet>').encode()
    path = crafted(tmp_path / "beyond.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    refused(path, r"beyond Excel's", ReadLimits())


def test_far_cell_reference_without_dimension(tmp_path):
    """One cell at XFD1048576 would make a dense reader allocate 17 billion cells."""
    sheet = (
        SHEET_HEAD + '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>fit_1</t></is></c></row>'
        '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>'
    ).encode()
    path = crafted(tmp_path / "far.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    message = refused(path, r"uses cells up to row 1,048,576, column 16,384", ReadLimits())
    assert "far.xlsx" in message


def test_sheet_spanning_more_cells_than_its_bytes_can_hold(tmp_path):
    """Issue 10, case 8: two cells (A1 and AN1000000) span 40 million cells, inside every other
    bound (50 million cells, Excel's sheet size), from a file of a few KB; a dense reader would
    allocate gigabytes for it. Refused by the bound on cells per byte of the file."""
    sheet = (
        SHEET_HEAD + '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>fit_1</t></is></c></row>'
        '<row r="1000000"><c r="AN1000000"><v>1</v></c></row></sheetData></worksheet>'
    ).encode()
    path = crafted(tmp_path / "sparse.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    size = path.stat().st_size
    assert size < 10_000
    message = refused(path, r"uses cells up to row 1,000,000, column 40", ReadLimits())
    assert f"(40,000,000 cells) from a file of {size:,} bytes" in message
    assert "more than 20 cells per byte" in message and "max_cells_per_byte" in message
    # the same sheet with a larger allowance passes the scan (reading it is the caller's risk)
    [extent] = check_workbook(path, ReadLimits(max_cells_per_byte=10**5)).values()
    assert (extent.used_rows, extent.used_cols) == (1_000_000, 40)
    # a declared span is bounded alike
    declared = (
        SHEET_HEAD + '<dimension ref="A1:AN1000000"/><sheetData><row r="1"><c r="A1" '
        't="inlineStr"><is><t>fit_1</t></is></c></row></sheetData></worksheet>'
    ).encode()
    path = crafted(tmp_path / "declared.xlsx", {"xl/worksheets/sheet1.xml": declared})
    refused(path, r"declares row 1,000,000, column 40 \(40,000,000 cells\)", ReadLimits())


def test_sheets_within_the_per_byte_bound_read(tmp_path):
    """A small file may span up to a million cells (ReadLimits.small_sheet_cells)."""
    sheet = (
        SHEET_HEAD + '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>fit_1</t></is></c></row>'
        '<row r="20000"><c r="A20000"><v>1</v></c></row></sheetData></worksheet>'
    ).encode()
    path = crafted(tmp_path / "tall.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    [extent] = check_workbook(path).values()
    assert extent.used_rows == 20_000


def test_parts_inflating_past_the_ratio_together(tmp_path):
    """Each part under 1 MB escapes the per-part ratio; together they inflate over 200 times the
    file's bytes."""
    extra = {f"xl/pad{i}.xml": b" " * 900_000 for i in range(3)}
    path = crafted(tmp_path / "parts.xlsx", {}, extra)
    assert path.stat().st_size < 20_000
    message = refused(path, r"parts inflate to more than 200 times the file's", ReadLimits())
    assert "max_ratio" in message


def test_billion_laughs(tmp_path):
    entities = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    bomb = f'<?xml version="1.0"?><!DOCTYPE sst [{entities}]>'
    sheet = (
        bomb
        + '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&l9;</t></is></c></row></sheetData></worksheet>'
    ).encode()
    path = crafted(tmp_path / "laughs.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    refused(path, r"declares a DTD or XML entities", ReadLimits())
    strings = crafted(
        tmp_path / "laughs2.xlsx", {}, {"xl/sharedStrings2.xml": bomb.encode() + b"<sst/>"}
    )
    refused(strings, r"declares a DTD or XML entities", ReadLimits())


def test_check_workbook_reports_extent(tmp_path):
    book = openpyxl.Workbook()
    book.active["C7"] = 1
    book.save(tmp_path / "extent.xlsx")
    extents = check_workbook(tmp_path / "extent.xlsx")
    [extent] = extents.values()
    assert (extent.declared_rows, extent.declared_cols, extent.used_rows, extent.used_cols) == (
        7,
        3,
        7,
        3,
    )


def test_spss_header_declaring_too_many_rows(tmp_path):
    frame = pd.DataFrame({"fit_1": [1.0] * 50})
    pyreadstat.write_sav(frame, str(tmp_path / "many.sav"))
    refused(tmp_path / "many.sav", r"declares 50 rows", ReadLimits(max_rows=10))


def test_limits_are_validated():
    with pytest.raises(ValueError, match="max_rows"):
        ReadLimits(max_rows=0)
    with pytest.raises(ValueError, match="max_ratio"):
        ReadLimits(max_ratio=1)


def test_unicode_and_formula_cells_are_kept_raw(tmp_path):
    cells = ["=cmd|' /C calc'!A0", "@SUM(1)", "Ærlig 😀", "\u202eevil"]
    path = tmp_path / "text.csv"
    path.write_text("fit_1,comment\n" + "".join(f'1,"{c}"\n' for c in cells), encoding="utf-8")
    table = read_responses(path, MINI)
    assert (
        table.background["comment"].tolist() == cells
    )  # kept raw: writers neutralise (instrument.io.security)


def test_far_reference_hidden_across_chunks(tmp_path):
    """Whitespace inside a tag (legal XML) cannot push a far reference past the scanner."""
    padding = " " * 3_000_000  # spans the scanner's 1 MB windows
    sheet = (
        SHEET_HEAD + '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>fit_1</t></is></c></row>'
        f'<row r="2"><c{padding}r{padding}={padding}"XFD1048576"><v>1</v></c></row></sheetData></worksheet>'
    ).encode()
    path = crafted(tmp_path / "hidden.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    refused(
        path, r"XML tag longer than|uses cells up to row 1,048,576", ReadLimits(max_ratio=10**6)
    )


def test_cells_without_references_are_counted(tmp_path):
    """Cells may omit `r` (readers place them one after another): 3,000 rows and one row of 3,000
    cells make a 3,000 x 3,000 dense sheet, over a 200,000-cell limit, without any far reference."""
    rows = "".join(f"<row><c><v>{i}</v></c></row>" for i in range(3000))
    wide = "<row>" + "<c><v>1</v></c>" * 3000 + "</row>"
    sheet = (
        SHEET_HEAD
        + '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>fit_1</t></is></c></row>'
        + rows
        + wide
        + "</sheetData></worksheet>"
    ).encode()
    path = crafted(tmp_path / "norefs.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    refused(
        path,
        r"uses cells up to row 3,002, column 3,000",
        ReadLimits(max_cells=200_000, max_ratio=10**6),
    )


def test_shared_string_bomb(tmp_path):
    """Ten thousand cells pointing at one 30,000-character shared string: 300 MB of text once read."""
    strings = (
        '<?xml version="1.0" encoding="UTF-8"?><sst '
        'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'count="2" uniqueCount="2"><si><t>fit_1</t></si><si><t>' + "x" * 30_000 + "</t></si></sst>"
    ).encode()
    cells = "".join(f'<row r="{r}"><c r="A{r}" t="s"><v>1</v></c></row>' for r in range(2, 10_002))
    sheet = (
        SHEET_HEAD
        + '<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>'
        + cells
        + "</sheetData></worksheet>"
    ).encode()
    types = crafted(tmp_path / "probe.xlsx", {})
    with zipfile.ZipFile(types) as archive:
        content_types = archive.read("[Content_Types].xml").replace(
            b"</Types>",
            b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        )
    path = crafted(
        tmp_path / "strings.xlsx",
        {"xl/worksheets/sheet1.xml": sheet, "[Content_Types].xml": content_types},
        {"xl/sharedStrings.xml": strings},
    )
    message = refused(
        path,
        r"points at 300,\d{3},\d{3} bytes of shared text",
        ReadLimits(max_text_bytes=100_000_000),
    )
    assert "strings.xlsx" in message
    # the same workbook is fine when the limit allows it: nothing else is wrong with it
    check_workbook(path, ReadLimits(max_text_bytes=10**9))


PARQUET_COLUMNS = st.one_of(
    st.lists(
        st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)), min_size=3, max_size=3
    ),
    st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), min_size=3, max_size=3),
    st.lists(st.one_of(st.none(), CELLS), min_size=3, max_size=3),
    st.lists(st.one_of(st.none(), st.booleans()), min_size=3, max_size=3),
    st.lists(st.one_of(st.none(), st.binary(max_size=8)), min_size=3, max_size=3),
    st.lists(st.one_of(st.none(), st.lists(st.integers(0, 5), max_size=2)), min_size=3, max_size=3),
)


@HYPOTHESIS
@given(
    columns=st.dictionaries(
        st.sampled_from(
            ["respondent_id", "fit_1", "fit_2", "groups", "gender", "age", "comment", "x"]
        ),
        PARQUET_COLUMNS,
        min_size=1,
        max_size=6,
    )
)
def test_generated_parquet(tmp_path_factory, columns):
    path = tmp_path_factory.mktemp("pq") / "generated.parquet"
    pq.write_table(pa.table({name: pa.array(values) for name, values in columns.items()}), path)
    outcome(path)
    chunked_outcome(path)


@HYPOTHESIS
@given(
    columns=st.dictionaries(
        st.sampled_from(["respondent_id", "fit_1", "fit_2", "gender", "age", "comment"]),
        st.one_of(
            st.lists(
                st.one_of(
                    st.floats(allow_nan=True, allow_infinity=False), st.integers(-(10**6), 10**6)
                ),
                min_size=3,
                max_size=3,
            ),
            st.lists(
                st.text(alphabet=string.ascii_letters + "æøå =-+@", max_size=10),
                min_size=3,
                max_size=3,
            ),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_generated_sav(tmp_path_factory, columns):
    path = tmp_path_factory.mktemp("sav") / "generated.sav"
    frame = pd.DataFrame(
        {
            name: [float(v) if not isinstance(v, str) else v for v in values]
            for name, values in columns.items()
        }
    )
    pyreadstat.write_sav(frame, str(path))
    outcome(path)
