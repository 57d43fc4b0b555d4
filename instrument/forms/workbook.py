"""The questionnaire workbook: one .xlsx to print, hand out, and type answers into.

Sheets (names are localised for Norwegian; readers find them through ``_mhdq``):

``About``
    Title, version, purpose, instructions, a consent placeholder and how to return the file.
``Questionnaire``
    The items section by section with their response labels, set up to print on A4 (fit to
    width, header rows repeated on every page), then the background questions.
``Data entry``
    Row 1 holds the variable names: ``respondent_id``, one column per item, then the background
    questions (a multiple-choice question as one 0/1 column per choice, ``{question}_{code}``;
    ``year_month`` as text ``YYYY-MM``; ``date`` as an Excel date). Answers start in row 2. The
    header row and the ID column are frozen. Every answer cell of the first
    :data:`~instrument.forms.DATA_ROWS` rows carries a data validation that *blocks* invalid
    entries (error style "stop") and whose input prompt lists the allowed codes with their labels.
``Codebook``
    variable, label, type, codes and labels, keyed (1, or -1 for reverse keyed), scale.
``Scoring key``
    Each scale, its items, which are reversed, and its scoring rule.
``_lists`` (hidden, only when needed)
    Code lists too long for an in-cell validation list (Excel's limit is 255 characters).
``_mhdq`` (hidden)
    Key/value rows, column A the key and column B the value, from row 1, no header. This is the
    contract with :mod:`instrument.read`:

    ================  ============================================================
    key               value
    ================  ============================================================
    instrument        short name of the instrument (e.g. ``MHDQ``)
    name              full name
    version           the specification's version
    fingerprint       :attr:`Instrument.fingerprint` of the specification used
    language          language code of the texts (``en``, ``nb``, ...)
    group             value of the ``{group}`` parameter (empty when the default)
    data_sheet        name of the data-entry sheet
    header_row        ``1`` (row of the variable names)
    first_data_row    ``2``
    data_rows         number of rows prepared with validation
    generator         ``mhdq <version>``
    format            ``1`` (version of this layout)
    ================  ============================================================

Validation in a spreadsheet is a convenience for the person typing, not a guarantee (it can be
pasted over); :mod:`instrument.read` re-checks every value.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from instrument.forms import (
    DATA_ROWS,
    DataColumn,
    background_parts,
    built_form,
    choice_column,
    condition_text,
    consent_text,
    data_columns,
    fixed_label,
    item_conditions_text,
    question_number,
    scale_labels,
    sections,
    text_of,
    ui,
)
from instrument.forms.print_layout import lay_out_for_print
from instrument.io.security import neutralise
from instrument.spec import BackgroundQuestion, Condition, Instrument, ResponseScale

#: Version of the sheet layout, written as ``format`` in ``_mhdq``.
LAYOUT_VERSION = 1
META_SHEET = "_mhdq"
LISTS_SHEET = "_lists"
HEADER_ROW = 1
FIRST_DATA_ROW = 2
#: Longest answer accepted in a free-text cell.
TEXT_LIMIT = 2000
#: Dates accepted when a date question declares no range (as years).
DATE_YEARS = (1900, 2100)

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_HEADING = Font(bold=True, size=12)
#: Statements printed on the same page as their part's heading (a part starts on the current
#: page when its heading and these fit, else on the next).
KEEP_WITH_HEADING = 3
_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_SHADE = PatternFill("solid", fgColor="DDEBF7")
_WRAP = Alignment(wrap_text=True, vertical="top")
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


def generator() -> str:
    """``mhdq <version>`` of the installed package."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"mhdq {version('mhdq')}"
    except PackageNotFoundError:
        return "mhdq 0+unknown"


def write_workbook(
    instrument: Instrument,
    path: str | Path,
    *,
    lang: str | None = None,
    group: str | None = None,
    rows: int = DATA_ROWS,
) -> Path:
    """Write the questionnaire workbook.

    Parameters
    ----------
    instrument : Instrument
        The specification.
    path : str or Path
        The .xlsx file to write (its folder must exist).
    lang : str, optional
        Language of the texts; default the instrument's default language.
    group : str, optional
        Value of the ``{group}`` parameter; default the specification's default.
    rows : int, default 5000
        Respondent rows prepared with data validation in the data-entry sheet.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile, openpyxl
    >>> from instrument.spec import load_instrument
    >>> bfi = load_instrument("examples/bfi.yaml")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = write_workbook(bfi, Path(tmp) / "bfi-en.xlsx")
    ...     wb = openpyxl.load_workbook(out)
    ...     [c.value for c in wb["Data entry"][1][:3]]
    ['respondent_id', 'A1', 'A2']
    """
    lang = instrument.check_language(lang)
    if rows < 1:
        raise ValueError(f"rows: must be at least 1 (got {rows})")
    path = Path(path)
    names = {
        key: ui(lang, f"sheet_{key}")
        for key in ("about", "questionnaire", "data", "codebook", "scoring")
    }
    wb = Workbook()
    about = wb.active
    about.title = names["about"]
    _about_sheet(about, instrument, lang, group, names["data"])
    keep = _questionnaire_sheet(wb.create_sheet(names["questionnaire"]), instrument, lang, group)
    _data_sheet(wb, wb.create_sheet(names["data"]), instrument, lang, group, rows)
    _codebook_sheet(wb.create_sheet(names["codebook"]), instrument, lang, group)
    _scoring_sheet(wb.create_sheet(names["scoring"]), instrument, lang)
    lay_out_for_print(
        wb,
        about=names["about"],
        questionnaire=names["questionnaire"],
        data=names["data"],
        codebook=names["codebook"],
        scoring=names["scoring"],
        header_row=HEADER_ROW,
        keep_together=keep,
    )
    meta = wb.create_sheet(META_SHEET)
    for key, value in metadata_rows(
        instrument, lang=lang, group=group, data_sheet=names["data"], rows=rows
    ):
        meta.append([key, neutralise(value)])
    meta.sheet_state = "hidden"
    wb.active = 0
    wb.save(path)
    return path


def metadata_rows(
    instrument: Instrument, *, lang: str, group: str | None, data_sheet: str, rows: int = DATA_ROWS
) -> list[tuple[str, object]]:
    """The key/value rows of the hidden ``_mhdq`` sheet (see the module docstring)."""
    return [
        ("instrument", instrument.metadata.short_name),
        ("name", instrument.metadata.name),
        ("version", instrument.version),
        ("fingerprint", instrument.fingerprint),
        ("language", lang),
        ("group", group or ""),
        ("data_sheet", data_sheet),
        ("header_row", HEADER_ROW),
        ("first_data_row", FIRST_DATA_ROW),
        ("data_rows", rows),
        ("generator", generator()),
        ("format", LAYOUT_VERSION),
        ("form", built_form(instrument)),
    ]


# --------------------------------------------------------------------------------------------
def _put(ws: Worksheet, row: int, column: int, value: object, **style) -> None:
    """Write one cell; text is neutralised (it may come from a user's specification)."""
    cell = ws.cell(row=row, column=column, value=neutralise(value))
    for name, setting in style.items():
        setattr(cell, name, setting)


def _about_sheet(
    ws: Worksheet, instrument: Instrument, lang: str, group: str | None, data_sheet: str
) -> None:
    meta = instrument.metadata
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 90
    _put(ws, 1, 1, meta.name, font=_TITLE)
    rows = [
        (ui(lang, "version"), meta.version),
        (ui(lang, "purpose"), text_of(instrument, meta.description, lang, group)),
        (ui(lang, "instructions"), text_of(instrument, instrument.instructions, lang, group)),
        (
            ui(lang, "consent"),
            consent_text(instrument, "start", lang, group) or ui(lang, "consent_text"),
        ),
        (ui(lang, "return"), ui(lang, "return_text", sheet=data_sheet)),
        (ui(lang, "citation"), meta.citation),
        (ui(lang, "licence"), meta.licence),
        (ui(lang, "fingerprint"), instrument.fingerprint),
        (ui(lang, "generated"), generator()),
    ]
    for n, (key, value) in enumerate(rows, 3):
        _put(ws, n, 1, key, font=_BOLD, alignment=_WRAP)
        _put(ws, n, 2, value, alignment=_WRAP)
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _questionnaire_sheet(
    ws: Worksheet, instrument: Instrument, lang: str, group: str | None
) -> dict[int, int]:
    """The paper form: header rows repeated on every printed page, then section by section.

    Returns the rows that must print on one page with the rows after them (``{first: last}``):
    a heading with the first rows of its part, a response-label row with the next statement, a
    background question with its answer lines.
    """
    keep: dict[int, int] = {}
    secs = sections(instrument)
    scales_used = list(dict.fromkeys(item.response_scale for s in secs for item in s.items))
    common = instrument.response_scales[scales_used[0]] if len(scales_used) == 1 else None
    width = 2 + max(len(scale_labels(rs, lang)) for rs in instrument.response_scales.values())
    ws.column_dimensions["A"].width = 6
    ws.column_dimensions["B"].width = 58
    for col in range(3, width + 1):
        ws.column_dimensions[get_column_letter(col)].width = 12
    _put(ws, 1, 1, instrument.metadata.name, font=_TITLE)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    _put(ws, 2, 1, f"{ui(lang, 'respondent_id')}: ______________", font=_BOLD)
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    row = 3
    if common is not None:
        _label_row(ws, row, common, lang)
        ws.print_title_rows = "1:3"
        row += 1
    else:
        ws.print_title_rows = "1:2"
    start = consent_text(instrument, "start", lang, group)
    if start:
        _put(ws, row, 1, start, alignment=_WRAP)
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
        ws.row_dimensions[row].height = 75
        row += 1
    instructions = text_of(instrument, instrument.instructions, lang, group).replace("\n\n", " ")
    _put(ws, row, 1, " ".join(x for x in (instructions, ui(lang, "circle")) if x), alignment=_WRAP)
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
    ws.row_dimensions[row].height = 45
    row += 2
    numbers = question_number(instrument)
    before, after = background_parts(instrument)
    if before:
        _put(ws, row, 1, ui(lang, "before_items"), font=_HEADING)
        heading = row
        row += 1
        row = _questions_block(ws, row, instrument, before, numbers, lang, group, keep)
        keep[heading] = keep.get(heading + 1, heading + 1)  # with its first question
    for section in secs:
        _put(ws, row, 1, ui(lang, "part", n=section.number, total=len(secs)), font=_HEADING)
        heading = row
        row += 1
        current: str | None = common.id if common is not None else None
        for statements, item in enumerate(section.items, 1):
            rs = instrument.response_scales[item.response_scale]
            if rs.id != current:
                _label_row(ws, row, rs, lang)
                keep[row] = row + 1
                current = rs.id
                row += 1
            if statements <= KEEP_WITH_HEADING:
                keep[heading] = row
            _put(ws, row, 1, numbers[item.id], alignment=_WRAP)
            text = text_of(instrument, item.text, lang, group)
            only_if = item_conditions_text(instrument, item, lang, group)
            _put(ws, row, 2, f"{text}\n{only_if}" if only_if else text, alignment=_WRAP)
            for col, (code, _label) in enumerate(scale_labels(rs, lang), 3):
                _put(ws, row, col, f"\u2610 {code}", alignment=_CENTER, border=_BOX)
            row += 1
        row += 1
    if after:
        _put(ws, row, 1, ui(lang, "background"), font=_HEADING)
        heading = row
        row += 1
        row = _questions_block(ws, row, instrument, after, numbers, lang, group, keep)
        keep[heading] = keep.get(heading + 1, heading + 1)
    end = consent_text(instrument, "end", lang, group)
    _put(ws, row, 1, end or ui(lang, "thanks"), alignment=_WRAP)
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.gridLines = False
    return keep


def _questions_block(
    ws: Worksheet,
    row: int,
    instrument: Instrument,
    questions,
    numbers,
    lang: str,
    group,
    keep: dict[int, int],
) -> int:
    """Print background questions from ``row``; return the next free row.

    Each question's rows are added to ``keep`` (printed on one page).
    """
    for question in questions:
        first = row
        _put(ws, row, 1, numbers[question.id], alignment=_WRAP)
        _put(
            ws,
            row,
            2,
            text_of(instrument, question.label, lang, group),
            alignment=_WRAP,
            font=_BOLD,
        )
        row += 1
        for line in _answer_lines(instrument, question, lang, group):
            _put(ws, row, 2, line, alignment=_WRAP)
            row += 1
        keep[first] = row - 1
        row += 1
    return row


def _label_row(ws: Worksheet, row: int, rs: ResponseScale, lang: str) -> None:
    _put(ws, row, 1, ui(lang, "number"), font=_BOLD, alignment=_CENTER)
    _put(ws, row, 2, ui(lang, "statement"), font=_BOLD, alignment=_WRAP)
    for col, (code, label) in enumerate(scale_labels(rs, lang), 3):
        _put(
            ws,
            row,
            col,
            f"{code} = {label}",
            font=_BOLD,
            alignment=_CENTER,
            fill=_SHADE,
            border=_BOX,
        )
    ws.row_dimensions[row].height = 45


def _answer_lines(
    instrument: Instrument, question: BackgroundQuestion, lang: str, group: str | None
) -> list[str]:
    """How a background question is answered on paper, one line per printed row."""
    if question.fixed is not None:
        return [f"{fixed_label(instrument, question, lang, group)} {ui(lang, 'fixed')}"]
    lines = []
    condition = condition_text(instrument, question, lang, group)
    if condition:
        lines.append(condition)
    hint = text_of(instrument, question.hint, lang, group)
    if hint:
        lines.append(hint)
    if question.type in ("single_choice", "multiple_choice"):
        lines.append(ui(lang, "tick_one" if question.type == "single_choice" else "tick_all"))
        lines += [f"\u2610 {text_of(instrument, c.label, lang, group)}" for c in question.choices]
    elif question.type == "integer":
        rule = ui(lang, "integer")
        if question.minimum is not None:
            rule += " " + ui(lang, "range", min=question.minimum, max=question.maximum)
        lines.append(f"{rule}: ________")
    elif question.type == "date":
        lines.append(f"{ui(lang, 'date')}: ____-__-__")
    elif question.type == "year_month":
        lines.append(f"{ui(lang, 'year_month')}: ____-__")
    else:
        lines.append(f"{ui(lang, 'text')}:")
        lines += ["_" * 80] * 3
    return lines


# --------------------------------------------------------------------------------------------
# Data entry
# --------------------------------------------------------------------------------------------
def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _codes_prompt(pairs: list[tuple[int, str]], lang: str) -> str:
    """ "1 = Strongly disagree; ...; 9 = Not applicable", shortened to Excel's 255 characters."""
    full = "; ".join(f"{code} = {label}" for code, label in pairs)
    full += ". " + ui(lang, "blank_ok")
    if len(full) <= 255:
        return full
    first, last = pairs[0], pairs[-1]
    short = f"{first[0]} = {first[1]} \u2026 {last[0]} = {last[1]}"
    return _shorten(short, 255)


class _Validations:
    """Collects one DataValidation per distinct rule and adds column ranges to it."""

    def __init__(self, wb: Workbook, ws: Worksheet, lang: str, rows: int):
        self.wb, self.ws, self.lang = wb, ws, lang
        self.first, self.last = FIRST_DATA_ROW, FIRST_DATA_ROW + rows - 1
        self.rules: dict[tuple, DataValidation] = {}
        self.lists: Worksheet | None = None
        self.list_count = 0
        self.letters: dict[str, str] = {}

    def add(self, column: int, key: tuple, make) -> None:
        if key not in self.rules:
            dv = make()
            dv.allow_blank = True
            dv.showErrorMessage = True
            dv.errorStyle = "stop"
            dv.showInputMessage = True
            dv.showDropDown = False  # True would *hide* the arrow in Excel and LibreOffice
            dv.errorTitle = _shorten(ui(self.lang, "error_title"), 32)
            dv.promptTitle = _shorten(ui(self.lang, "prompt_title"), 32)
            self.ws.add_data_validation(dv)
            self.rules[key] = dv
        letter = get_column_letter(column)
        self.rules[key].add(f"{letter}{self.first}:{letter}{self.last}")

    def _error(self, allowed: str) -> str:
        return _shorten(ui(self.lang, "error", allowed=allowed), 225)

    def codes(self, column: int, pairs: list[tuple[int, str]], prompt: str | None = None) -> None:
        codes = [code for code, _ in pairs]
        prompt = _codes_prompt(pairs, self.lang) if prompt is None else _shorten(prompt, 255)

        def make() -> DataValidation:
            literal = '"' + ",".join(str(c) for c in codes) + '"'
            formula = self._list_range(codes) if len(literal) > 255 else literal
            dv = DataValidation(type="list", formula1=formula)
            dv.prompt = prompt
            dv.error = self._error(", ".join(str(c) for c in codes))
            return dv

        self.add(column, ("codes", tuple(codes), prompt), make)

    def conditional_codes(
        self,
        column: int,
        pairs: list[tuple[int, str]],
        conditions: tuple[Condition, ...],
        instrument: Instrument,
        only_if: str,
    ) -> None:
        """An answer code allowed only where the skip logic shows the item: elsewhere the cell
        must stay blank (skipped by design), which the reader records as such."""
        codes = [code for code, _ in pairs]
        cell = f"{get_column_letter(column)}{self.first}"
        tests = []
        for condition in conditions:
            question = instrument.background_question(condition.question)
            if question.type == "multiple_choice":
                refs = [
                    f"{self.letters[choice_column(question.id, v)]}{self.first}=1"
                    for v in condition.values
                ]
            else:
                letter = self.letters[question.id]
                refs = [f"{letter}{self.first}={v}" for v in condition.values]
            tests.append(refs[0] if len(refs) == 1 else f"OR({','.join(refs)})")
        shown = tests[0] if len(tests) == 1 else f"AND({','.join(tests)})"
        allowed = f"OR({','.join(f'{cell}={c}' for c in codes)})"
        prompt = _shorten(f"{only_if} {_codes_prompt(pairs, self.lang)}", 255)
        key = ("conditional", column)

        def make() -> DataValidation:
            # Relative references to the first data row: Excel and LibreOffice shift them per row.
            dv = DataValidation(type="custom", formula1=f"AND({shown},{allowed})")
            dv.prompt = prompt
            dv.error = self._error(_shorten(f"{only_if} {', '.join(map(str, codes))}", 200))
            return dv

        self.add(column, key, make)

    def _list_range(self, codes: list[int]) -> str:
        if self.lists is None:
            self.lists = self.wb.create_sheet(LISTS_SHEET)
            self.lists.sheet_state = "hidden"
        self.list_count += 1
        col = self.list_count
        for n, code in enumerate(codes, 1):
            self.lists.cell(row=n, column=col, value=code)
        letter = get_column_letter(col)
        return f"{quote_sheetname(LISTS_SHEET)}!${letter}$1:${letter}${len(codes)}"

    def whole(self, column: int, low: int, high: int, prompt: str) -> None:
        def make() -> DataValidation:
            dv = DataValidation(
                type="whole", operator="between", formula1=str(low), formula2=str(high)
            )
            dv.prompt = _shorten(prompt, 255)
            dv.error = self._error(prompt)
            return dv

        self.add(column, ("whole", low, high, prompt), make)

    def date(self, column: int, first: dt.date, last: dt.date) -> None:
        prompt = ui(self.lang, "date_range", min=first.isoformat(), max=last.isoformat())

        def make() -> DataValidation:
            dv = DataValidation(
                type="date",
                operator="between",
                # Excel serial numbers (openpyxl handles Excel's 1900 leap-year quirk)
                formula1=str(int(to_excel(first))),
                formula2=str(int(to_excel(last))),
            )
            dv.prompt = f"{ui(self.lang, 'date')}: {prompt}"
            dv.error = self._error(prompt)
            return dv

        self.add(column, ("date", first, last), make)

    def year_month(self, column: int, first_year: int, last_year: int) -> None:
        prompt = ui(self.lang, "ym_range", min=first_year, max=last_year)
        cell = f"{get_column_letter(column)}{self.first}"

        def make() -> DataValidation:
            # Relative reference to the top-left cell: Excel and LibreOffice shift it per cell.
            formula = (
                f'AND(LEN({cell})=7,MID({cell},5,1)="-",VALUE(LEFT({cell},4))>={first_year},'
                f"VALUE(LEFT({cell},4))<={last_year},VALUE(RIGHT({cell},2))>=1,VALUE(RIGHT({cell},2))<=12)"
            )
            dv = DataValidation(type="custom", formula1=formula)
            dv.prompt = prompt
            dv.error = self._error(prompt)
            return dv

        # the formula names the column, so every year-month column gets its own rule
        self.add(column, ("year_month", column), make)

    def text(self, column: int) -> None:
        prompt = ui(self.lang, "text_length", n=TEXT_LIMIT)

        def make() -> DataValidation:
            dv = DataValidation(
                type="textLength", operator="lessThanOrEqual", formula1=str(TEXT_LIMIT)
            )
            dv.prompt = prompt
            dv.error = self._error(prompt)
            return dv

        self.add(column, ("text",), make)

    def unique_id(self, column: int) -> None:
        letter = get_column_letter(column)
        prompt = ui(self.lang, "id_rule")

        def make() -> DataValidation:
            formula = (
                f"COUNTIF(${letter}${self.first}:${letter}${self.last},{letter}{self.first})=1"
            )
            dv = DataValidation(type="custom", formula1=formula)
            dv.prompt = prompt
            dv.error = self._error(prompt)
            return dv

        self.add(column, ("id",), make)


def _data_sheet(
    wb: Workbook, ws: Worksheet, instrument: Instrument, lang: str, group: str | None, rows: int
) -> None:
    columns = data_columns(instrument)
    questions = {q.id: q for q in instrument.background}
    checks = _Validations(wb, ws, lang, rows)
    checks.letters = {c.name: get_column_letter(n) for n, c in enumerate(columns, 1)}
    for col, column in enumerate(columns, 1):
        cell = ws.cell(row=HEADER_ROW, column=col, value=column.name)  # ids are validated names
        cell.font = _BOLD
        cell.fill = _SHADE
        letter = get_column_letter(col)
        ws.column_dimensions[letter].width = max(10, min(len(column.name) + 3, 24))
        _column_validation(checks, col, column, instrument, questions, lang, group)
        if column.kind == "year_month":
            ws.column_dimensions[letter].number_format = "@"  # keep 2024-03 as text, not a date
        elif column.kind == "date":
            ws.column_dimensions[letter].number_format = "yyyy-mm-dd"
        elif column.kind == "text":
            ws.column_dimensions[letter].width = 40
    ws.freeze_panes = ws.cell(row=FIRST_DATA_ROW, column=2)


def _column_validation(
    checks: _Validations,
    col: int,
    column: DataColumn,
    instrument: Instrument,
    questions,
    lang: str,
    group: str | None,
) -> None:
    if column.kind == "id":
        checks.unique_id(col)
    elif column.kind == "item":
        rs = instrument.response_scale_of(column.question)
        conditions = instrument.item_conditions(column.question)
        pairs = scale_labels(rs, lang, with_missing=True)
        if conditions:
            only_if = item_conditions_text(
                instrument, instrument.item(column.question), lang, group
            )
            checks.conditional_codes(col, pairs, conditions, instrument, only_if)
        else:
            checks.codes(col, pairs)
    elif column.kind == "choice":
        checks.codes(col, [(1, ""), (0, "")], ui(lang, "zero_one"))
    else:
        question = questions[column.question]
        if column.kind == "single_choice":
            pairs = [(c.code, text_of(instrument, c.label, lang, group)) for c in question.choices]
            checks.codes(col, pairs)
        elif column.kind == "integer":
            low = question.minimum if question.minimum is not None else -999_999_999
            high = question.maximum if question.maximum is not None else 999_999_999
            checks.whole(col, low, high, ui(lang, "whole_range", min=low, max=high))
        elif column.kind == "date":
            first = question.minimum if question.minimum is not None else DATE_YEARS[0]
            last = question.maximum if question.maximum is not None else DATE_YEARS[1]
            checks.date(col, dt.date(first, 1, 1), dt.date(last, 12, 31))
        elif column.kind == "year_month":
            first = question.minimum if question.minimum is not None else DATE_YEARS[0]
            last = question.maximum if question.maximum is not None else DATE_YEARS[1]
            checks.year_month(col, first, last)
        else:
            checks.text(col)


# --------------------------------------------------------------------------------------------
# Codebook and scoring key
# --------------------------------------------------------------------------------------------
CODEBOOK_COLUMNS = (
    "variable",
    "label",
    "type",
    "codes",
    "keyed",
    "scale",
    "question",
    "sensitive",
    "relevant",
)
SCORING_COLUMNS = (
    "scale",
    "label",
    "level",
    "parent",
    "n_items",
    "items",
    "reverse_keyed",
    "method",
    "min_answered",
    "not_applicable",
    "rule",
)


def _codes_text(pairs: list[tuple[int, str]]) -> str:
    return "; ".join(f"{code} = {label}" for code, label in pairs)


def codebook_rows(instrument: Instrument, *, lang: str, group: str | None = None) -> list[tuple]:
    """One row per data column, with the fields of :data:`CODEBOOK_COLUMNS`."""
    questions = {q.id: q for q in instrument.background}
    out: list[tuple] = []
    for column in data_columns(instrument):
        if column.kind == "id":
            out.append((column.name, ui(lang, "respondent_id"), "text", "", "", "", "", "", ""))
        elif column.kind == "item":
            item = instrument.item(column.question)
            rs = instrument.response_scales[item.response_scale]
            out.append(
                (
                    item.id,
                    text_of(instrument, item.text, lang, group),
                    "likert",
                    _codes_text(scale_labels(rs, lang, with_missing=True)),
                    item.keyed,
                    item.scale,
                    "",
                    "",
                    "",
                )
            )
        else:
            question = questions[column.question]
            relevant = ""
            if question.relevant is not None:
                relevant = f"{question.relevant.question} in ({', '.join(map(str, question.relevant.values))})"
            label = text_of(instrument, question.label, lang, group)
            if column.kind == "choice":
                choice = next(c for c in question.choices if c.code == column.code)
                label = f"{label} \u2013 {text_of(instrument, choice.label, lang, group)}"
                codes, qtype = "1 = ticked; 0 = not ticked", "multiple_choice"
            elif column.kind == "single_choice":
                codes = _codes_text(
                    [(c.code, text_of(instrument, c.label, lang, group)) for c in question.choices]
                )
                qtype = column.kind
            elif question.minimum is not None:
                codes, qtype = f"{question.minimum}\u2013{question.maximum}", column.kind
            else:
                codes, qtype = (
                    {"date": "YYYY-MM-DD", "year_month": "YYYY-MM"}.get(column.kind, ""),
                    column.kind,
                )
            out.append(
                (
                    column.name,
                    label,
                    qtype,
                    codes,
                    "",
                    "",
                    question.id,
                    "yes" if question.sensitive else "",
                    relevant,
                )
            )
    return out


def scoring_rows(instrument: Instrument, *, lang: str) -> list[tuple]:
    """One row per scale, with the fields of :data:`SCORING_COLUMNS`."""
    out = []
    for scale in instrument.scales:
        items = instrument.scale_items(scale.id)
        reversed_items = [i for i in items if instrument.item(i).keyed < 0]
        scales_used = {instrument.item(i).response_scale for i in items}
        parts = [
            ui(lang, "rule_mean")
            if scale.scoring.method == "mean"
            else ui(lang, "rule_sum", n=len(items))
        ]
        if reversed_items and len(scales_used) == 1:
            rs = instrument.response_scales[scales_used.pop()]
            parts.append(ui(lang, "reverse_rule", sum=rs.minimum + rs.maximum))
        parts.append(ui(lang, "rule_min", share=scale.scoring.min_answered))
        parts.append(ui(lang, f"rule_na_{scale.scoring.not_applicable}"))
        out.append(
            (
                scale.id,
                text_of(instrument, scale.label, lang),
                scale.level,
                scale.parent or "",
                len(items),
                ", ".join(items),
                ", ".join(reversed_items),
                scale.scoring.method,
                scale.scoring.min_answered,
                scale.scoring.not_applicable,
                "; ".join(parts),
            )
        )
    return out


def _table_sheet(
    ws: Worksheet, header: tuple[str, ...], rows: list[tuple], widths: dict[str, int]
) -> None:
    for col, name in enumerate(header, 1):
        _put(ws, 1, col, name, font=_BOLD, fill=_SHADE)
        ws.column_dimensions[get_column_letter(col)].width = widths.get(name, 14)
    for r, values in enumerate(rows, 2):
        for col, value in enumerate(values, 1):
            _put(ws, r, col, value, alignment=_WRAP)
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"


def _codebook_sheet(ws: Worksheet, instrument: Instrument, lang: str, group: str | None) -> None:
    _table_sheet(
        ws,
        CODEBOOK_COLUMNS,
        codebook_rows(instrument, lang=lang, group=group),
        {"variable": 18, "label": 60, "codes": 50},
    )


def _scoring_sheet(ws: Worksheet, instrument: Instrument, lang: str) -> None:
    _table_sheet(
        ws,
        SCORING_COLUMNS,
        scoring_rows(instrument, lang=lang),
        {"label": 30, "items": 50, "reverse_keyed": 24, "rule": 70},
    )


def fill_data_entry(path: str | Path, frame, *, note: str | None = None) -> Path:
    """Type a table of answers into the Data entry sheet of a workbook from :func:`write_workbook`.

    Columns are matched to the sheet's header by name; columns the sheet does not have (such as a
    ``synthetic`` marker) are appended after the last header column. Dates given as ``YYYY-MM-DD``
    text become Excel dates in ``date`` columns; text is neutralised against formula injection.
    ``note`` (e.g. "SYNTHETIC DATA ...") is written on a first sheet of its own.

    Parameters
    ----------
    path : str or Path
        A workbook written by :func:`write_workbook` (with enough prepared rows).
    frame : DataFrame
        One row per respondent, columns named by variable (``respondent_id``, item ids, ...).
    note : str, optional
        A line shown on a new first sheet, "Note".

    Returns
    -------
    Path
        ``path``.
    """
    import math

    from openpyxl import load_workbook

    path = Path(path)
    wb = load_workbook(path)
    meta = {row[0].value: row[1].value for row in wb[META_SHEET].iter_rows(min_row=1, max_col=2)}
    sheet = wb[str(meta["data_sheet"])]
    first = int(meta["first_data_row"])
    header = [cell.value for cell in sheet[int(meta["header_row"])] if cell.value is not None]
    extra = [c for c in frame.columns if c not in header]
    for offset, name in enumerate(extra, start=len(header) + 1):
        sheet.cell(row=int(meta["header_row"]), column=offset, value=neutralise(str(name)))
    columns = header + extra
    date_columns = {
        name
        for k, name in enumerate(header, start=1)
        if sheet.column_dimensions[get_column_letter(k)].number_format == "yyyy-mm-dd"
    }
    for r, values in enumerate(frame.reindex(columns=columns).itertuples(index=False), start=first):
        for c, (name, value) in enumerate(zip(columns, values, strict=True), start=1):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if name in date_columns and isinstance(value, str):
                value = dt.date.fromisoformat(value)
            sheet.cell(row=r, column=c, value=neutralise(value))
    if note:
        first_sheet = wb.create_sheet("Note", 0)
        first_sheet.cell(row=1, column=1, value=neutralise(note)).font = Font(
            bold=True, color="B3261E"
        )
        first_sheet.column_dimensions["A"].width = 120
        wb.active = 0
    wb.save(path)
    return path
