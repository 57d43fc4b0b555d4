"""The content-validity rating workbook for experts, and the reader for returned workbooks.

Each expert gets the same workbook. Sheet ``Instructions`` explains the task and the 4-point
relevance scale; sheet ``Ratings`` has the expert's name or ID in cell ``B1`` and, from row 4, one
row per item grouped by facet: item id, facet, the facet's definition, the item text, a relevance
cell (1-4, validated: other entries are blocked) and a comment cell. The sheet is protected
without a password so that only the name, relevance and comment cells can be edited (this guards
against accidents, not against intent: the reader checks everything again). A hidden ``_mhdq``
sheet records, as key/value rows, ``form`` = ``cvi``, the instrument, its fingerprint, the
language and where the cells are (``ratings_sheet``, ``expert_cell``, ``header_row``,
``first_data_row``, ``n_items``; item id in column A, relevance in E, comment in F).

:func:`read_cvi_forms` reads returned workbooks (read-only, through defusedxml) and collects every
problem as a :class:`~instrument.problems.Problem` with file, row and column.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.worksheet.datavalidation import DataValidation

from instrument.forms import check_group, text_of
from instrument.forms.workbook import generator
from instrument.io.security import assert_defusedxml, neutralise
from instrument.problems import Problem, shorten
from instrument.spec import Instrument

RATINGS = (1, 2, 3, 4)
HEADER_ROW = 3
FIRST_DATA_ROW = 4
EXPERT_CELL = "B1"
COLUMNS = {"item": 1, "facet": 2, "definition": 3, "text": 4, "relevance": 5, "comment": 6}
MAX_FILE_BYTES = 20_000_000
#: Rows read from a returned form's rating sheet (far more than any instrument has items).
MAX_ITEMS = 5_000

_UI = {
    "en": {
        "instructions_sheet": "Instructions",
        "ratings_sheet": "Ratings",
        "title": "Content validity rating: {name}",
        "expert": "Expert name or ID",
        "task": (
            "Thank you for reviewing this questionnaire. For each statement, judge how relevant it is to "
            "the definition of its facet (shown beside it), and enter a number from 1 to 4 in the column "
            "'Relevance'. Judge relevance only, not wording; use the comment column for suggestions on "
            "wording, or if a statement fits another facet better. Please rate every statement."
        ),
        "scale": "Relevance scale",
        "labels": (
            "1 = not relevant",
            "2 = somewhat relevant",
            "3 = quite relevant",
            "4 = highly relevant",
        ),
        "expert_hint": "Write your name or an ID in cell B1 of the sheet '{sheet}'.",
        "return": "Save the file (.xlsx, keep its name and sheets) and return it to the study team.",
        "headers": (
            "Item",
            "Facet",
            "Definition of the facet",
            "Statement",
            "Relevance (1-4)",
            "Comment",
        ),
        "prompt_title": "Relevance",
        "error_title": "Not allowed",
        "error": "Enter a whole number from 1 to 4.",
        "expert_error": "Enter a name or ID (at most 100 characters).",
        "comment_error": "Comments are limited to 2000 characters.",
        "comment_prompt": "Optional: suggestions or concerns about this statement.",
    },
    "nb": {
        "instructions_sheet": "Instruksjon",
        "ratings_sheet": "Vurdering",
        "title": "Vurdering av innholdsvaliditet: {name}",
        "expert": "Ekspertens navn eller ID",
        "task": (
            "Takk for at du vurderer dette spørreskjemaet. Vurder for hver påstand hvor relevant den er for "
            "definisjonen av fasetten (vist ved siden av), og skriv et tall fra 1 til 4 i kolonnen "
            "«Relevans». Vurder bare relevans, ikke ordlyd; bruk kommentarkolonnen til forslag om ordlyd, "
            "eller hvis en påstand passer bedre i en annen fasett. Vurder alle påstandene."
        ),
        "scale": "Relevansskala",
        "labels": (
            "1 = ikke relevant",
            "2 = litt relevant",
            "3 = ganske relevant",
            "4 = svært relevant",
        ),
        "expert_hint": "Skriv navnet ditt eller en ID i celle B1 i arket «{sheet}».",
        "return": "Lagre filen (.xlsx, behold navn og ark) og send den tilbake til prosjektgruppen.",
        "headers": (
            "Ledd",
            "Fasett",
            "Definisjon av fasetten",
            "Påstand",
            "Relevans (1-4)",
            "Kommentar",
        ),
        "prompt_title": "Relevans",
        "error_title": "Ikke tillatt",
        "error": "Skriv et heltall fra 1 til 4.",
        "expert_error": "Skriv et navn eller en ID (høyst 100 tegn).",
        "comment_error": "Kommentarer kan ha høyst 2000 tegn.",
        "comment_prompt": "Valgfritt: forslag eller innvendinger til påstanden.",
    },
}


def _ui(lang: str) -> dict:
    return _UI.get(lang, _UI["en"])


def write_cvi_form(
    instrument: Instrument, path: str | Path, *, lang: str | None = None, group: str | None = None
) -> Path:
    """Write the expert rating workbook for the content-validity review.

    Parameters
    ----------
    instrument : Instrument
        The specification; every item is listed under its facet with the facet's definition
        (its label when it has no definition).
    path : str or Path
        The .xlsx file to write.
    lang : str, optional
        Language of the texts; default the instrument's default.
    group : str, optional
        Value of the ``{group}`` parameter.

    Returns
    -------
    Path
        ``path``.
    """
    lang = instrument.check_language(lang)
    check_group(instrument, group)
    text = _ui(lang)
    path = Path(path)
    wb = Workbook()
    about = wb.active
    about.title = text["instructions_sheet"]
    ratings_name = text["ratings_sheet"]
    lines = [
        (text["title"].format(name=instrument.metadata.name), Font(bold=True, size=14)),
        (text["task"], None),
        (text["expert_hint"].format(sheet=ratings_name), Font(bold=True)),
        (text["scale"], Font(bold=True)),
        *[(label, None) for label in text["labels"]],
        (text["return"], None),
        (
            f"{instrument.metadata.short_name} {instrument.version} \u00b7 "
            f"{instrument.fingerprint} \u00b7 {generator()}",
            None,
        ),
    ]
    about.column_dimensions["A"].width = 110
    for n, (line, font) in enumerate(lines, 1):
        cell = about.cell(row=n, column=1, value=neutralise(line))
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if font is not None:
            cell.font = font

    ws = wb.create_sheet(ratings_name)
    editable = Protection(locked=False)
    shade = PatternFill("solid", fgColor="FFF2CC")
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    ws["A1"] = text["expert"]
    ws["A1"].font = Font(bold=True)
    ws[EXPERT_CELL].fill = shade
    ws[EXPERT_CELL].border = box
    ws[EXPERT_CELL].protection = editable
    for col, header in enumerate(text["headers"], 1):
        cell = ws.cell(row=HEADER_ROW, column=col, value=header)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    row = FIRST_DATA_ROW
    for scale in instrument.leaf_scales:
        definition = text_of(instrument, scale.definition, lang, group) or text_of(
            instrument, scale.label, lang, group
        )
        for item_id in instrument.scale_items(scale.id):
            item = instrument.item(item_id)
            values = [
                item.id,
                text_of(instrument, scale.label, lang, group),
                definition,
                text_of(instrument, item.text, lang, group),
            ]
            for col, value in enumerate(values, 1):
                cell = ws.cell(row=row, column=col, value=neutralise(value))
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            for key in ("relevance", "comment"):
                cell = ws.cell(row=row, column=COLUMNS[key])
                cell.protection = editable
                cell.fill = shade
                cell.border = box
                cell.alignment = Alignment(
                    wrap_text=True,
                    vertical="top",
                    horizontal="center" if key == "relevance" else None,
                )
            row += 1
    last = row - 1
    widths = {"A": 10, "B": 22, "C": 45, "D": 50, "E": 12, "F": 40}
    for letter, width in widths.items():
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = ws.cell(row=FIRST_DATA_ROW, column=2)

    def validation(**kwargs) -> DataValidation:
        dv = DataValidation(
            allow_blank=True,
            showErrorMessage=True,
            errorStyle="stop",
            showInputMessage=True,
            errorTitle=text["error_title"],
            **kwargs,
        )
        ws.add_data_validation(dv)
        return dv

    relevance = validation(
        type="whole",
        operator="between",
        formula1="1",
        formula2="4",
        promptTitle=text["prompt_title"],
        prompt="; ".join(text["labels"]),
        error=text["error"],
    )
    relevance.add(f"E{FIRST_DATA_ROW}:E{last}")
    comment = validation(
        type="textLength",
        operator="lessThanOrEqual",
        formula1="2000",
        prompt=text["comment_prompt"],
        error=text["comment_error"],
    )
    comment.add(f"F{FIRST_DATA_ROW}:F{last}")
    expert = validation(
        type="textLength",
        operator="between",
        formula1="1",
        formula2="100",
        prompt=text["expert"],
        error=text["expert_error"],
    )
    expert.add(EXPERT_CELL)
    ws.protection.sheet = True
    ws.protection.formatColumns = False  # experts may widen columns and rows to read
    ws.protection.formatRows = False
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"

    meta = wb.create_sheet("_mhdq")
    fields: tuple[tuple[str, str | int], ...] = (
        ("form", "cvi"),
        ("instrument", instrument.metadata.short_name),
        ("version", instrument.version),
        ("fingerprint", instrument.fingerprint),
        ("language", lang),
        ("ratings_sheet", ratings_name),
        ("expert_cell", EXPERT_CELL),
        ("header_row", HEADER_ROW),
        ("first_data_row", FIRST_DATA_ROW),
        ("n_items", last - FIRST_DATA_ROW + 1),
        ("generator", generator()),
    )
    for key, entry in fields:
        meta.append([key, neutralise(entry)])
    meta.sheet_state = "hidden"
    wb.active = 1
    wb.save(path)
    return path


# --------------------------------------------------------------------------------------------
# Reading returned forms
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CviRatings:
    """Ratings read from returned CVI workbooks.

    Attributes
    ----------
    ratings : DataFrame
        Items (index ``item``, in form order) by experts (columns, one per file), ratings 1-4 as
        floats, NaN where not rated or invalid.
    comments : DataFrame
        Columns ``expert, item, comment`` for every non-empty comment.
    problems : tuple of Problem
        Everything wrong, with file, row and column (``error``: the value was not used).
    declared : dict
        ``_mhdq`` key/value pairs of each file, keyed by file name.
    files : dict
        Expert id -> file it came from.
    """

    ratings: pd.DataFrame
    comments: pd.DataFrame
    problems: tuple[Problem, ...]
    declared: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.problems)


def _as_rating(value: object) -> int | None:
    """A rating as int, or None when it is not one of 1-4 (numbers like 3.0 and text like "3" pass)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and float(value).is_integer() and int(value) in RATINGS:
        return int(value)
    if isinstance(value, str) and value.strip() in {"1", "2", "3", "4"}:
        return int(value.strip())
    return None


def read_cvi_forms(  # noqa: C901 - one check per cell of a returned form, each a problem record
    paths: Iterable[str | Path], *, instrument: Instrument | None = None
) -> CviRatings:
    """Read returned content-validity workbooks.

    Parameters
    ----------
    paths : iterable of str or Path
        The returned .xlsx files, one per expert.
    instrument : Instrument, optional
        When given, item ids must belong to it and a different fingerprint is reported.

    Returns
    -------
    CviRatings
        The ratings (items x experts), comments and every problem found.
    """
    assert_defusedxml()
    problems: list[Problem] = []
    columns: dict[str, dict[str, float]] = {}
    order: list[str] = []
    comments: list[dict] = []
    declared: dict[str, dict] = {}
    files: dict[str, str] = {}
    known = set(instrument.item_ids) if instrument is not None else None
    for raw_path in paths:
        path = Path(raw_path)
        name = str(path)

        def problem(row, column, value, rule, severity, message, name=name):
            problems.append(
                Problem(
                    name,
                    row,
                    column,
                    None if value is None else shorten(value),
                    rule,
                    severity,
                    message,
                )
            )

        if not path.is_file():
            problem(
                None, None, None, "file_not_found", "error", "file not found or not a regular file"
            )
            continue
        if path.stat().st_size > MAX_FILE_BYTES:
            problem(
                None,
                None,
                None,
                "file_too_large",
                "error",
                f"larger than the {MAX_FILE_BYTES} bytes allowed",
            )
            continue
        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is reported, not raised
            problem(
                None,
                None,
                None,
                "unreadable_file",
                "error",
                f"not a readable .xlsx workbook ({type(exc).__name__})",
            )
            continue
        try:
            if "_mhdq" not in wb.sheetnames:
                problem(
                    None,
                    None,
                    None,
                    "not_a_cvi_form",
                    "error",
                    "no _mhdq sheet: not a content-validity form written by mhdq cvi-form",
                )
                continue
            meta = {
                str(r[0]): r[1]
                for r in wb["_mhdq"].iter_rows(max_row=100, max_col=2, values_only=True)
                if r and r[0] is not None
            }
            declared[path.name] = meta
            if meta.get("form") != "cvi" or meta.get("ratings_sheet") not in wb.sheetnames:
                problem(
                    None,
                    None,
                    None,
                    "not_a_cvi_form",
                    "error",
                    "not a content-validity form written by mhdq cvi-form (form/ratings_sheet missing)",
                )
                continue
            if instrument is not None and meta.get("fingerprint") != instrument.fingerprint:
                problem(
                    None,
                    None,
                    meta.get("fingerprint"),
                    "different_specification",
                    "warning",
                    f"written from a different version of {meta.get('instrument')} than the one given "
                    f"(fingerprint {instrument.fingerprint}); items are matched by id",
                )
            ws = wb[meta["ratings_sheet"]]
            first = meta.get("first_data_row", FIRST_DATA_ROW)
            if isinstance(first, bool) or not isinstance(first, int) or not 2 <= first <= 100:
                problem(
                    None,
                    None,
                    first,
                    "not_a_cvi_form",
                    "error",
                    "_mhdq first_data_row must be a whole number from 2 to 100",
                )
                continue
            # bounded: a form has one row per item, so anything far beyond that is not read
            rows = list(
                ws.iter_rows(
                    min_row=1, max_row=first + MAX_ITEMS, max_col=len(COLUMNS), values_only=True
                )
            )
        finally:
            wb.close()
        expert_value = rows[0][1] if rows and len(rows[0]) > 1 else None
        expert = str(expert_value).strip() if expert_value is not None else ""
        if not expert:
            expert = path.stem
            problem(
                1,
                EXPERT_CELL,
                None,
                "expert_missing",
                "warning",
                f"no expert name or ID in {EXPERT_CELL}; using the file name {expert!r}",
            )
        if expert in columns:
            problem(
                1,
                EXPERT_CELL,
                expert,
                "duplicate_expert",
                "error",
                f"expert {expert!r} also returned {files[expert]}; each expert may return one form",
            )
            continue
        files[expert] = name
        column: dict[str, float] = {}
        seen: dict[str, int] = {}
        for offset, values in enumerate(rows[first - 1 :]):
            row_no = first + offset
            values = tuple(values) + (None,) * (len(COLUMNS) - len(values))
            item = values[COLUMNS["item"] - 1]
            rating = values[COLUMNS["relevance"] - 1]
            comment = values[COLUMNS["comment"] - 1]
            if item is None and rating is None and comment is None:
                continue
            item = str(item).strip() if item is not None else ""
            if not item:
                problem(
                    row_no,
                    "A",
                    None,
                    "item_missing",
                    "error",
                    "a rating or comment without an item id in column A",
                )
                continue
            if known is not None and instrument is not None and item not in known:
                problem(
                    row_no,
                    "A",
                    item,
                    "unknown_item",
                    "error",
                    f"item id not in {instrument.metadata.short_name}; the id column must not be edited",
                )
                continue
            if item in seen:
                problem(
                    row_no, "A", item, "duplicate_item", "error", f"item also in row {seen[item]}"
                )
                continue
            seen[item] = row_no
            if item not in order:
                order.append(item)
            if comment is not None and str(comment).strip():
                comments.append({"expert": expert, "item": item, "comment": str(comment).strip()})
            if rating is None or (isinstance(rating, str) and not rating.strip()):
                problem(
                    row_no,
                    "E",
                    None,
                    "rating_missing",
                    "warning",
                    "not rated; left out of this item's count",
                )
                continue
            value = _as_rating(rating)
            if value is None:
                problem(
                    row_no,
                    "E",
                    rating,
                    "rating_out_of_range",
                    "error",
                    "relevance must be a whole number 1, 2, 3 or 4",
                )
                continue
            column[item] = float(value)
        columns[expert] = column
    ratings = pd.DataFrame(
        {expert: pd.Series(col, dtype="float64") for expert, col in columns.items()},
        index=pd.Index(order, name="item"),
        dtype="float64",
    )
    if not columns:
        ratings = pd.DataFrame(index=pd.Index(order, name="item"), dtype="float64")
    return CviRatings(
        ratings=ratings.reindex(order),
        comments=pd.DataFrame(comments, columns=["expert", "item", "comment"]),
        problems=tuple(problems),
        declared=declared,
        files=files,
    )
