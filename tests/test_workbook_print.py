"""The workbook on paper (issue 12 §4-5): LibreOffice prints each sheet on few, whole pages and no
text cell is taller than its row; the questionnaire hand-out fills its pages (a part starts on the
current page when its heading and first statements fit, a heading never ends a page). Each sheet
is printed alone (the others removed) to count its pages."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from instrument.forms.print_layout import page_breaks
from instrument.forms.workbook import KEEP_WITH_HEADING, write_workbook
from instrument.spec import load_instrument

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def sheet_pdf(xlsx: Path, name: str, work: Path) -> Path:
    wb = openpyxl.load_workbook(xlsx)
    for ws in list(wb.worksheets):
        if ws.title != name:
            wb.remove(ws)
    one = work / f"{xlsx.stem}-{len(list(work.iterdir()))}.xlsx"
    wb.save(one)
    subprocess.run(
        [SOFFICE, "--headless", "--convert-to", "pdf", "--outdir", str(work), str(one)],
        capture_output=True,
        timeout=300,
        env={**os.environ, "HOME": str(work)},
    )
    pdf = one.with_suffix(".pdf")
    assert pdf.exists(), f"LibreOffice did not convert {name}"
    return pdf


def _lines(text: str, width: float) -> int:
    # deliberately cruder than the writer's estimate: characters per line = the column width
    per_line = max(1, int(width) - 2)
    return sum(max(1, math.ceil(len(part) / per_line)) for part in text.split("\n"))


def _width(ws, cell) -> float:
    for merged in ws.merged_cells.ranges:
        if merged.min_row == cell.row and merged.min_col == cell.column:
            return sum(
                ws.column_dimensions[get_column_letter(c)].width or 8.43
                for c in range(merged.min_col, merged.max_col + 1)
            )
    return ws.column_dimensions[get_column_letter(cell.column)].width or 8.43


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_no_text_cell_is_taller_than_its_row(lang, tmp_path):
    path = write_workbook(load_instrument(), tmp_path / f"mhdq-{lang}.xlsx", lang=lang)
    wb = openpyxl.load_workbook(path)
    clipped = []
    for ws in wb.worksheets[:2]:  # About and Questionnaire: the sheets read as text
        for row in ws.iter_rows():
            for cell in row:
                if not isinstance(cell.value, str) or not cell.value.strip():
                    continue
                if not cell.alignment.wrap_text:
                    continue  # unwrapped text runs on into the empty cells beside it
                size = float(cell.font.sz or 11)
                needed = _lines(cell.value, _width(ws, cell)) * 13.5 * size / 11
                height = ws.row_dimensions[cell.row].height or 15.0
                if height < needed:
                    clipped.append(f"{ws.title}!{cell.coordinate} ({height:.0f} < {needed:.0f} pt)")
    assert not clipped, clipped[:10]


@pytest.mark.slow
@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
@pytest.mark.parametrize("lang", ["en", "nb"])
def test_each_sheet_prints_on_few_whole_pages(lang, tmp_path):
    import pypdf

    path = write_workbook(load_instrument(), tmp_path / f"mhdq-{lang}.xlsx", lang=lang)
    sheets = [
        ws.title for ws in openpyxl.load_workbook(path).worksheets if ws.sheet_state == "visible"
    ]
    about, questionnaire, data, codebook, scoring = sheets
    # (most pages, orientation): the hand-out on A4 portrait, pages filled (5 with a page per part)
    expected = {
        about: (1, "portrait"),
        questionnaire: (4, "portrait"),
        data: (3, "landscape"),
        codebook: (4, "landscape"),
        scoring: (2, "landscape"),
    }
    for name, (most, orientation) in expected.items():
        pages = pypdf.PdfReader(sheet_pdf(path, name, tmp_path)).pages
        assert 1 <= len(pages) <= most, f"{name}: {len(pages)} pages"
        for page in pages:
            w, h = float(page.mediabox.width), float(page.mediabox.height)
            assert round(min(w, h)) == 595 and round(max(w, h)) == 842  # A4 in points
            assert (w < h) == (orientation == "portrait"), f"{name}: {orientation} expected"


HEADING = re.compile(r"^(Part|Del) \d+ (of|av) \d+$")


def test_page_breaks_fill_pages_and_keep_groups_together():
    heights = {r: 10.0 for r in range(1, 21)}
    # rows 1-2 repeat on every page: 20 points of each 50-point page
    assert page_breaks(heights, last_row=20, capacity=50, title_rows=2) == [6, 9, 12, 15, 18]
    # a group of three that would start in the last row of a page moves to the next page
    assert page_breaks(heights, last_row=12, capacity=50, keep_together={5: 7}) == [5, 10]
    # a group taller than a page is split where the page is full rather than looping
    assert page_breaks(heights, last_row=12, capacity=50, keep_together={1: 12}) == [6, 11]


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_breaks_only_where_a_page_is_full_and_never_after_a_heading(lang, tmp_path):
    path = write_workbook(load_instrument(), tmp_path / f"mhdq-{lang}.xlsx", lang=lang)
    ws = openpyxl.load_workbook(path).worksheets[1]
    breaks = [b.id + 1 for b in ws.row_breaks.brk]  # rows starting a new page
    headings = [c.row for c in ws["A"] if isinstance(c.value, str) and HEADING.match(c.value)]
    assert len(headings) == 4 and len(breaks) < len(headings)  # was a page per part
    assert any(h not in breaks for h in headings[1:])  # a part starts on the current page
    for h in headings:
        # the heading, a label row (if any) and its first statements sit on one page
        assert not any(h < b <= h + 1 + KEEP_WITH_HEADING for b in breaks), (h, breaks)


def _text_lines(page) -> list[tuple[float, str]]:
    """(height above the page's foot, text) of each text run on a PDF page."""
    lines: list[tuple[float, str]] = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            lines.append((y, text.strip()))

    page.extract_text(visitor_text=visit)
    return lines


@pytest.mark.slow
@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
@pytest.mark.parametrize("lang", ["en", "nb"])
def test_printed_hand_out_has_no_half_empty_pages(lang, tmp_path):
    import pypdf

    path = write_workbook(load_instrument(), tmp_path / f"mhdq-{lang}.xlsx", lang=lang)
    name = openpyxl.load_workbook(path).worksheets[1].title
    pages = pypdf.PdfReader(sheet_pdf(path, name, tmp_path)).pages
    assert len(pages) <= 4  # 5 when each part started a new page
    for k, page in enumerate(pages, 1):
        lines = _text_lines(page)
        height = float(page.mediabox.height)
        lowest = min(y for y, _ in lines)
        filled = (height - lowest) / height
        if k < len(pages):  # all but the form's last page at least 40% full
            assert filled >= 0.40, f"page {k}: {filled:.0%} full"
        for y, text in lines:
            if HEADING.match(text):  # statements (answer boxes) follow on its page
                below = [t for yy, t in lines if yy < y - 1 and t.startswith("\u2610")]
                assert len(below) >= 1, f"page {k}: '{text}' ends the page"
