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
    """Page breaks before the given rows."""
    for row in rows:
        if row > 1:
            ws.row_breaks.append(Break(id=row - 1))


def column_points(width: float) -> float:
    """Printed width in points of a column ``width`` characters wide (Excel's conversion at the
    default font: 7 pixels a character plus 5 of padding, 96 pixels an inch)."""
    return (7 * width + 5) * 72 / 96


def page_breaks(
    heights: dict[int, float],
    *,
    last_row: int,
    capacity: float,
    title_rows: int = 0,
    keep_together: dict[int, int] | None = None,
) -> list[int]:
    """The rows each new page starts at, filling pages and keeping groups of rows together.

    Parameters
    ----------
    heights : dict
        Height in points of each row (rows not given: :data:`LINE_HEIGHT`).
    last_row : int
        The last row printed.
    capacity : float
        Points of rows a page holds (at print scale 100%).
    title_rows : int, default 0
        Rows 1..title_rows repeat at the top of every page.
    keep_together : dict, optional
        ``{first: last}``: rows first..last print on one page (a heading with the first rows of
        its part, a question with its answer lines); a group taller than a page is split.

    Returns
    -------
    list of int
        Rows that start a new page (for :func:`break_before`).

    Examples
    --------
    >>> page_breaks({r: 10.0 for r in range(1, 11)}, last_row=10, capacity=40)
    [5, 9]
    >>> page_breaks({r: 10.0 for r in range(1, 11)}, last_row=10, capacity=40,
    ...             keep_together={4: 6})  # row 4 would be the last on page 1: it moves on
    [4, 8]
    """
    keep = keep_together or {}

    def height(row: int) -> float:
        return heights.get(row, LINE_HEIGHT)

    repeated = sum(height(r) for r in range(1, title_rows + 1))
    breaks: list[int] = []
    used = 0.0
    page_start = 1
    for row in range(1, last_row + 1):
        group = sum(height(r) for r in range(row, min(keep.get(row, row), last_row) + 1))
        fits = used + group <= capacity or (
            used + height(row) <= capacity and repeated + group > capacity  # taller than a page
        )
        if not fits and row > page_start:
            breaks.append(row)
            page_start = row
            used = repeated
        used += height(row)
    return breaks


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
    keep_together: dict[int, int] | None = None,
) -> None:
    """Page setup of every sheet a researcher prints, and row heights from their text.

    About and Questionnaire print on A4 in portrait, one page wide (the questionnaire is the
    hand-out: its header rows repeat, pages are filled, and page breaks fall only where a page
    is full or where the next group of ``keep_together`` rows -- a part's heading with its first
    statements, a question with its answer lines -- would not fit, so a heading never ends a
    page); Data entry prints its header and ``print_rows`` empty rows in landscape, the header
    row and id column repeated; Codebook and Scoring key print in landscape one page wide with
    their header row repeated.
    """
    fit_row_heights(wb[about])
    page_setup(wb[about], landscape=False)
    q = wb[questionnaire]
    fit_row_heights(q)
    page_setup(q, landscape=False, title_rows=q.print_title_rows)
    _paginate(q, keep_together or {})
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


#: A4 in points, and the share of a page's height the pagination plans to fill: a margin for
#: the spreadsheet application's own rounding of row heights, so that it never needs a page
#: break of its own (which could leave a heading at the foot of a page).
A4_POINTS = (595.0, 842.0)
PAGE_FILL = 0.92


def _paginate(ws: Worksheet, keep_together: dict[int, int]) -> None:
    """Page breaks by :func:`page_breaks` at the scale that fits the sheet's width."""
    columns = range(1, ws.max_column + 1)
    sheet_width = sum(
        column_points(ws.column_dimensions[get_column_letter(c)].width or DEFAULT_WIDTH)
        for c in columns
    )
    portrait = ws.page_setup.orientation != "landscape"
    paper_w, paper_h = A4_POINTS if portrait else A4_POINTS[::-1]
    margins = ws.page_margins
    printable_w = paper_w - 72 * (margins.left + margins.right)
    printable_h = paper_h - 72 * (margins.top + margins.bottom)
    # The application fits the width itself, with its own font's metrics: a font wider than
    # Calibri (a substitute where Calibri and Carlito are missing) gives a smaller scale, so more
    # rows on a page than planned here -- pages less full, but never a break of its own.
    scale = min(100.0, 100 * printable_w / sheet_width)
    title = ws.print_title_rows
    title_rows = int(str(title).split(":")[-1].lstrip("$")) if title else 0
    heights = {
        r: float(ws.row_dimensions[r].height or LINE_HEIGHT) for r in range(1, ws.max_row + 1)
    }
    breaks = page_breaks(
        heights,
        last_row=ws.max_row,
        capacity=printable_h * PAGE_FILL * 100 / scale,
        title_rows=title_rows,
        keep_together=keep_together,
    )
    break_before(ws, breaks)
