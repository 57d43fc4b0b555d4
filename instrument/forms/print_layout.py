"""The workbook on paper: row heights from wrapped text, print areas, orientation, repeated headers.

openpyxl does not fit row heights to wrapped text, and a spreadsheet application prints a row at
the height stored in the file, so long statements overlap the rows below unless the height is
set. :func:`wrapped_lines` estimates how many lines a text takes in a column of a given width (in
Excel's width unit, about one average character of the default font), word by word;
:func:`lay_out_for_print` sets every row's height from it and each sheet's page setup.
"""

from __future__ import annotations

import math

from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

#: Points per line of 11-point text (the default font) and the padding of a row.
LINE_HEIGHT = 15.0
ROW_PADDING = 3.0
#: Characters of text per unit of column width: a little under one, so that wider-than-average
#: letters (Norwegian æ, ø, å; capitals) still fit. Bold and larger fonts scale it down.
CHARS_PER_WIDTH = 0.85
DEFAULT_WIDTH = 8.43


def wrapped_lines(text: str, width: float, *, font_size: float = 11.0, bold: bool = False) -> int:
    """Lines ``text`` takes when wrapped at word boundaries in a column ``width`` wide.

    Examples
    --------
    >>> wrapped_lines("short", 20)
    1
    >>> wrapped_lines("one two three four five six seven eight nine ten", 12)  # 9 a line
    6
    """
    scale = (11.0 / font_size) * (0.9 if bold else 1.0)
    per_line = max(1, int(width * CHARS_PER_WIDTH * scale) - 1)
    lines = 0
    for paragraph in str(text).split("\n"):
        used, count = 0, 1
        for word in paragraph.split():
            length = len(word)
            while length > per_line:  # a word longer than the line breaks anywhere
                count += 1 if used else 0
                length -= per_line
                used = 0
            if used == 0:
                used = length
            elif used + 1 + length <= per_line:
                used += 1 + length
            else:
                count += 1
                used = length
        lines += count
    return lines


def _cell_width(ws: Worksheet, row: int, column: int) -> float:
    """The width a cell's text wraps in: its column's, or the merged range's."""
    for merged in ws.merged_cells.ranges:
        if merged.min_row <= row <= merged.max_row and merged.min_col == column:
            return sum(
                ws.column_dimensions[get_column_letter(c)].width or DEFAULT_WIDTH
                for c in range(merged.min_col, merged.max_col + 1)
            )
    return ws.column_dimensions[get_column_letter(column)].width or DEFAULT_WIDTH


def needed_height(ws: Worksheet, row: int) -> float:
    """Points row ``row`` needs so that none of its text is clipped."""
    lines = 1
    size = 11.0
    for cell in ws[row]:
        if not isinstance(cell.value, str) or not cell.value:
            continue
        if cell.alignment is None or not cell.alignment.wrap_text:
            continue  # unwrapped text runs on into the empty cells beside it
        font_size = float(cell.font.sz or 11.0) if cell.font is not None else 11.0
        bold = bool(cell.font is not None and cell.font.b)
        n = wrapped_lines(
            cell.value, _cell_width(ws, row, cell.column), font_size=font_size, bold=bold
        )
        if n > lines or font_size > size:
            lines, size = max(lines, n), max(size, font_size)
    return lines * LINE_HEIGHT * size / 11.0 + ROW_PADDING


def fit_row_heights(ws: Worksheet, *, last_row: int | None = None) -> None:
    """Set each row's height from its wrapped text (never lower than a height already set)."""
    for row in range(1, (last_row or ws.max_row) + 1):
        needed = needed_height(ws, row)
        current = ws.row_dimensions[row].height
        if needed > LINE_HEIGHT + ROW_PADDING or current is not None:
            ws.row_dimensions[row].height = max(needed, current or 0.0)


def page_setup(
    ws: Worksheet,
    *,
    landscape: bool,
    pages_wide: int = 1,
    title_rows: str | None = None,
    title_columns: str | None = None,
    area: str | None = None,
) -> None:
    """A4, fitted to ``pages_wide`` pages across (as many down as needed), headers repeated."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = pages_wide
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.print_options.gridLines = False
    if title_rows:
        ws.print_title_rows = title_rows
    if title_columns:
        ws.print_title_cols = title_columns
    if area:
        ws.print_area = area


def break_before(ws: Worksheet, rows: list[int]) -> None:
    """Page breaks before the given rows (a new part starts on a new page)."""
    for row in rows:
        if row > 1:
            ws.row_breaks.append(Break(id=row - 1))


def lay_out_for_print(
    wb: Workbook,
    *,
    about: str,
    questionnaire: str,
    data: str,
    codebook: str,
    scoring: str,
    header_row: int,
    print_rows: int = 30,
    part_rows: list[int] | None = None,
) -> None:
    """Page setup of every sheet a researcher prints, and row heights from their text.

    About and Questionnaire print on A4 in portrait, one page wide (the questionnaire is the
    hand-out; its header rows repeat and each part starts on a new page); Data entry prints its
    header and ``print_rows`` empty rows in landscape, the header row and id column repeated;
    Codebook and Scoring key print in landscape one page wide with their header row repeated.
    """
    fit_row_heights(wb[about])
    page_setup(wb[about], landscape=False)
    q = wb[questionnaire]
    fit_row_heights(q)
    page_setup(q, landscape=False, title_rows=q.print_title_rows)
    if part_rows:
        break_before(q, part_rows[1:])
    d = wb[data]
    last_column = get_column_letter(d.max_column)
    width = sum(
        d.column_dimensions[get_column_letter(c)].width or DEFAULT_WIDTH
        for c in range(1, d.max_column + 1)
    )
    fit_row_heights(d, last_row=header_row)
    page_setup(
        d,
        landscape=True,
        pages_wide=max(1, math.ceil(width / 270)),
        title_rows=f"{header_row}:{header_row}",
        title_columns="A:A",
        area=f"A1:{last_column}{header_row + print_rows}",
    )
    d.print_options.gridLines = True  # the empty rows print as a grid to write answers in
    for name in (codebook, scoring):
        ws = wb[name]
        fit_row_heights(ws)
        page_setup(
            ws,
            landscape=True,
            title_rows="1:1",
            area=f"A1:{get_column_letter(ws.max_column)}{ws.max_row}",
        )
