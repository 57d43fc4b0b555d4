"""The workbook on paper (issue 12 §4-5): LibreOffice prints each sheet on few, whole pages and no
text cell is taller than its row. Each sheet is printed alone (the others removed) to count its
pages."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from instrument.forms.workbook import write_workbook
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
    # (most pages, orientation): the hand-out on A4 portrait, one part per page
    expected = {
        about: (1, "portrait"),
        questionnaire: (6, "portrait"),
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
