"""Generate the hostile-input corpus of issue 10 (SYNTHETIC files, small on disk).

Usage::

    .venv/bin/python tests/hostile_corpus.py OUT_FOLDER

Writes one file per case into ``OUT_FOLDER`` and returns their paths from :func:`make_corpus`.
Every file answers ``tests/data/scoring_spec.yaml``. The cases: CSVs damaged at the start and
late (stray quote, NUL bytes, invalid UTF-8, ragged rows, delimiter mismatch), workbooks with
single- and double-quoted far cell references, an entity ("billion laughs") bomb, a DTD after
5,000 bytes of padding, a zip bomb, a shared-string text bomb, a sheet of a million empty rows,
and formula look-alikes in ids. ``tests/test_hostile_corpus.py`` runs ``mhdq score`` on each
under a memory cap.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

ITEMS = ["a1", "a2", "a3", "a4", "a5", "a6", "b1", "b2", "b3", "b4", "b5", "b6"]
HEADER = ",".join(["respondent_id", *ITEMS])
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def _rows(n: int, start: int = 0) -> list[str]:
    return [f"p{start + i}," + ",".join(str(1 + (i + j) % 5) for j in range(12)) for i in range(n)]


def _csv(path: Path, lines: list[str]) -> Path:
    path.write_text(HEADER + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def _workbook(path: Path, parts: dict[str, bytes], compress: int = zipfile.ZIP_DEFLATED) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["respondent_id", *ITEMS])
    book.active.append(["p1", 1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2])
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w", compress) as target:
        names = [info.filename for info in source.infolist()]
        for name in names:
            target.writestr(name, parts.get(name, source.read(name)))
        for name in parts.keys() - set(names):
            target.writestr(name, parts[name])
    return path


def _far_cell(quote: str) -> bytes:
    q = quote
    return (
        SHEET_HEAD + "<sheetData>"
        f"<row r={q}1{q}><c r={q}A1{q} t={q}inlineStr{q}><is><t>respondent_id</t></is></c></row>"
        f"<row r={q}1048576{q}><c r={q}XFD1048576{q}><v>1</v></c></row></sheetData></worksheet>"
    ).encode()


def make_corpus(folder: str | Path) -> list[Path]:
    """Write every case into ``folder``; return the files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []
    rows = _rows(3_000)
    # damaged CSVs, at the start and late
    for where, index in (("start", 1), ("late", 2_900)):
        quoted = list(rows)
        quoted[index] = quoted[index].replace(",3,", ',"3,', 1)
        made.append(_csv(folder / f"stray_quote_{where}.csv", quoted))
        ragged = list(rows)
        ragged[index] = ",".join(ragged[index].split(",")[:4])
        made.append(_csv(folder / f"short_row_{where}.csv", ragged))
        nul = folder / f"nul_bytes_{where}.csv"
        text = (HEADER + "\n" + "\n".join(rows) + "\n").encode()
        cut = text.index(rows[index].encode())
        nul.write_bytes(text[:cut] + b"\x00\x00" + text[cut:])
        made.append(nul)
        latin = folder / f"not_utf8_{where}.csv"
        latin.write_bytes(text[:cut] + "caf\u00e9,".encode("latin-1") + text[cut:])
        made.append(latin)
    made.append(_csv(folder / "delimiter_mismatch.csv", [r.replace(",", ";") for r in _rows(300)]))
    made.append(
        _csv(
            folder / "formula_ids.csv",
            [
                f"{prefix}{i},1,2,3,4,5,1,2,3,4,5,1,2"
                for i, prefix in enumerate(["=", "\uff1d", "\ufeff=", "\u00a0=", " =", "@", "+"])
            ],
        )
    )
    # hostile workbooks
    for name, quote in (("double", '"'), ("single", "'")):
        made.append(
            _workbook(
                folder / f"far_cell_{name}.xlsx", {"xl/worksheets/sheet1.xml": _far_cell(quote)}
            )
        )
    entities = "".join(
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10 if i else "lol"}">' for i in range(10)
    )
    made.append(
        _workbook(
            folder / "entity_bomb.xlsx",
            {
                "xl/sharedStrings.xml": (
                    f'<?xml version="1.0"?><!DOCTYPE sst [{entities}]>'
                    "<sst><si><t>&l9;</t></si></sst>"
                ).encode()
            },
        )
    )
    made.append(
        _workbook(
            folder / "dtd_after_padding.xlsx",
            {
                "xl/worksheets/sheet1.xml": (
                    '<?xml version="1.0" encoding="UTF-8"?>\n<!--'
                    + " " * 5_000
                    + '--><!DOCTYPE worksheet [<!ENTITY x "x">]>'
                    + SHEET_HEAD.split("\n", 1)[1]
                    + "<sheetData/></worksheet>"
                ).encode()
            },
        )
    )
    made.append(
        _workbook(
            folder / "zip_bomb.xlsx",
            {"xl/media/padding.xml": b"<a>" + b" " * 250_000_000 + b"</a>"},
        )
    )
    strings = (
        '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main"><si><t>' + "x" * 30_000 + "</t></si></sst>"
    ).encode()
    cells = "".join(f"<row r='{r}'><c r='A{r}' t='s'><v>0</v></c></row>" for r in range(2, 40_002))
    made.append(
        _workbook(
            folder / "text_bomb_single_quoted.xlsx",
            {
                "xl/sharedStrings.xml": strings,
                "xl/worksheets/sheet1.xml": (
                    SHEET_HEAD + f"<sheetData>{cells}</sheetData></worksheet>"
                ).encode(),
            },
        )
    )
    made.append(
        _workbook(
            folder / "million_empty_rows.xlsx",
            {
                "xl/worksheets/sheet1.xml": (
                    SHEET_HEAD + "<sheetData>"
                    '<row r="1"><c r="A1" t="inlineStr"><is><t>respondent_id</t></is></c>'
                    '<c r="B1" t="inlineStr"><is><t>a1</t></is></c></row>'
                    '<row r="1048570"><c r="B1048570"><v>1</v></c></row>'
                    "</sheetData></worksheet>"
                ).encode()
            },
        )
    )
    return made


if __name__ == "__main__":
    for path in make_corpus(sys.argv[1] if len(sys.argv) > 1 else "hostile-corpus"):
        print(path)
