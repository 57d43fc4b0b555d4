"""REDCap data dictionary (CSV) for one language.

The file has REDCap's 18 columns in REDCap's order (:data:`HEADERS`). ``record_id`` (text) is the
first field; an introduction (``descriptive``) follows; the items are ``radio`` fields, required,
with the codes and labels of their response scale (``1, Strongly disagree | 2, Disagree | ...``)
and one matrix group per facet, so REDCap shows each facet as a Likert grid under its section
header; the background questions become ``radio`` (single choice), ``checkbox`` (multiple choice),
``text`` validated as ``integer`` (with min/max) or ``date_ymd``, ``text`` with a ``YYYY-MM``
field note for year-month questions, and ``notes`` for free text. Conditions become branching
logic such as ``[attended] = '1'`` (``[q(1)] = '1'`` for a checkbox). Sensitive questions are
not flagged as identifiers (they do not identify anyone); their Field Annotation says that they
hold sensitive health data.

REDCap accepts only lower-case variable names, so item and question ids are written in lower
case (ids are unique ignoring case). REDCap exports checkbox answers as ``{question}___{code}``.

References
----------
REDCap data dictionary: columns A-R as REDCap's "Download the current Data Dictionary" writes them.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from instrument.forms import (
    background_parts,
    check_group,
    consent_text,
    scale_labels,
    sections,
    text_of,
    ui,
)
from instrument.io.security import neutralise
from instrument.spec import BackgroundQuestion, Condition, Instrument

#: The data dictionary's header row, exactly as REDCap writes it.
HEADERS = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
_SAFE = re.compile(r"[^a-z0-9_]")
SENSITIVE_NOTE = "Sensitive health information: restrict access and exports."


def redcap_name(ident: str) -> str:
    """A REDCap variable, form or matrix name: lower case letters, digits and underscores.

    Examples
    --------
    >>> redcap_name("A1"), redcap_name("MHDQ v2")
    ('a1', 'mhdq_v2')
    """
    name = _SAFE.sub("_", ident.lower()).strip("_") or "x"
    return name if name[0].isalpha() else f"v_{name}"


def branching_logic(instrument: Instrument, conditions: tuple[Condition, ...]) -> str:
    """REDCap branching logic for conditions that must all hold (``[q] = '1'``; a checkbox
    choice is ``[q(1)] = '1'``).

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> v2 = load_instrument("mhdq-0.2.0")
    >>> branching_logic(v2, v2.item_conditions("ne_so1"))
    "[sponsor_ever] = '1'"
    """
    parts = []
    for condition in conditions:
        target = instrument.background_question(condition.question)
        name = redcap_name(target.id)
        if target.type == "multiple_choice":
            alternatives = [f"[{name}({v})] = '1'" for v in condition.values]
        else:
            alternatives = [f"[{name}] = '{v}'" for v in condition.values]
        joined = " or ".join(alternatives)
        parts.append(joined if len(alternatives) == 1 or len(conditions) == 1 else f"({joined})")
    return " and ".join(parts)


def _label(text: str) -> str:
    """Field text: REDCap renders labels as HTML, so angle brackets are escaped; untrusted text neutralised."""
    return str(neutralise(text.replace("<", "&lt;").replace(">", "&gt;")))


def _choices(pairs: list[tuple[int, str]]) -> str:
    """``1, Label | 2, Label``; a ``|`` inside a label would start a new choice, so it becomes ``/``."""
    clean = (
        re.sub(
            r"\s+", " ", label.replace("|", "/").replace("<", "&lt;").replace(">", "&gt;")
        ).strip()
        for _, label in pairs
    )
    return " | ".join(f"{code}, {label}" for (code, _), label in zip(pairs, clean, strict=True))


def dictionary_rows(
    instrument: Instrument, *, lang: str | None = None, group: str | None = None
) -> list[dict[str, str]]:
    """The rows of the data dictionary as mappings from :data:`HEADERS` to text."""
    lang = instrument.check_language(lang)
    check_group(instrument, group)
    form = redcap_name(instrument.metadata.short_name)
    if "record_id" in {redcap_name(i) for i in instrument.item_ids + instrument.background_ids}:
        raise ValueError(
            "instrument: an item or question is named record_id, which REDCap reserves for the record ID"
        )
    rows: list[dict[str, str]] = []

    def add(**fields: str) -> None:
        row = dict.fromkeys(HEADERS, "")
        row["Form Name"] = form
        row.update(fields)
        rows.append(row)

    add(
        **{
            "Variable / Field Name": "record_id",
            "Field Type": "text",
            "Field Label": ui(lang, "respondent_id"),
        }
    )
    taken = {redcap_name(i) for i in instrument.item_ids + instrument.background_ids}

    def descriptive(stem: str, text: str) -> None:
        name = next(n for n in (stem, f"{stem}_text", f"mhdq_{stem}") if n not in taken)
        taken.add(name)
        add(
            **{
                "Variable / Field Name": name,
                "Field Type": "descriptive",
                "Field Label": _label(text),
            }
        )

    if instrument.consent.get("start"):
        descriptive("consent_start", consent_text(instrument, "start", lang, group))
    instructions = text_of(instrument, instrument.instructions, lang, group)
    if instructions:
        descriptive("intro", instructions)
    questions = {q.id: q for q in instrument.background}
    before, after = background_parts(instrument)
    header = ui(lang, "before_items")
    for question in before:
        fields = _background_fields(instrument, question, questions, lang, group)
        fields["Section Header"] = _label(header)
        header = ""
        add(**fields)
    secs = sections(instrument)
    interleaved = instrument.order == "interleaved"
    used_matrices: dict[str, int] = {}
    for section in secs:
        header = ui(lang, "part", n=section.number, total=len(secs))
        previous = None
        for item in section.items:
            rs = instrument.response_scales[item.response_scale]
            # Interleaved items change facet at every row: group them by response scale only.
            block = (rs.id,) if interleaved else (item.scale, rs.id)
            if block != previous:
                base = redcap_name(f"m_{rs.id}" if interleaved else item.scale)
                used_matrices[base] = used_matrices.get(base, 0) + 1
                current_matrix = (
                    base if used_matrices[base] == 1 else f"{base}_{used_matrices[base]}"
                )
            previous = block
            add(
                **{
                    "Variable / Field Name": redcap_name(item.id),
                    "Section Header": _label(header),
                    "Field Type": "radio",
                    "Field Label": _label(text_of(instrument, item.text, lang, group)),
                    "Choices, Calculations, OR Slider Labels": _choices(scale_labels(rs, lang)),
                    "Required Field?": "y",
                    "Matrix Group Name": current_matrix,
                    "Branching Logic (Show field only if...)": branching_logic(
                        instrument, instrument.item_conditions(item.id)
                    ),
                }
            )
            header = ""
    header = ui(lang, "background")
    for question in after:
        fields = _background_fields(instrument, question, questions, lang, group)
        fields["Section Header"] = _label(header)
        header = ""
        add(**fields)
    if instrument.consent.get("end"):
        descriptive("consent_end", consent_text(instrument, "end", lang, group))
    return rows


def _background_fields(
    instrument: Instrument, question: BackgroundQuestion, questions, lang: str, group
) -> dict[str, str]:
    fields = {
        "Variable / Field Name": redcap_name(question.id),
        "Field Label": _label(text_of(instrument, question.label, lang, group)),
        "Required Field?": "y" if question.required else "",
    }
    notes = [text_of(instrument, question.hint, lang, group)] if question.hint else []
    if question.type in ("single_choice", "multiple_choice"):
        fields["Field Type"] = "radio" if question.type == "single_choice" else "checkbox"
        fields["Choices, Calculations, OR Slider Labels"] = _choices(
            [(c.code, text_of(instrument, c.label, lang, group)) for c in question.choices]
        )
    elif question.type == "integer":
        fields["Field Type"] = "text"
        fields["Text Validation Type OR Show Slider Number"] = "integer"
        if question.minimum is not None:
            fields["Text Validation Min"] = str(question.minimum)
            fields["Text Validation Max"] = str(question.maximum)
    elif question.type == "date":
        fields["Field Type"] = "text"
        fields["Text Validation Type OR Show Slider Number"] = "date_ymd"
        if question.minimum is not None:
            fields["Text Validation Min"] = f"{question.minimum:04d}-01-01"
            fields["Text Validation Max"] = f"{question.maximum:04d}-12-31"
    elif question.type == "year_month":
        # REDCap has no year-month validation type: free text with the format in the note.
        fields["Field Type"] = "text"
        notes.append(ui(lang, "year_month"))
    else:
        fields["Field Type"] = "notes"
    if notes:
        fields["Field Note"] = _label(" ".join(notes))
    if question.relevant is not None:
        fields["Branching Logic (Show field only if...)"] = branching_logic(
            instrument, (question.relevant,)
        )
    annotations = []
    if question.fixed is not None:
        # Filled in by the form (wave form answered, group): preset and read-only.
        value = str(question.fixed).replace("'", "\u2019").replace('"', "\u201d")
        annotations.append(f"@DEFAULT='{value}' @READONLY")
    if question.sensitive:
        annotations.append(SENSITIVE_NOTE)
    if annotations:
        fields["Field Annotation"] = " ".join(annotations)
    return fields


def write_redcap(
    instrument: Instrument, path: str | Path, *, lang: str | None = None, group: str | None = None
) -> Path:
    """Write the REDCap data dictionary (UTF-8 CSV) for ``lang``.

    Parameters
    ----------
    instrument : Instrument
        The specification.
    path : str or Path
        The .csv file to write.
    lang : str, optional
        Language of the labels; default the instrument's default.
    group : str, optional
        Value of the ``{group}`` parameter.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import csv, tempfile
    >>> from instrument.spec import load_instrument
    >>> bfi = load_instrument("examples/bfi.yaml")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = write_redcap(bfi, Path(tmp) / "bfi-en-redcap.csv")
    ...     rows = list(csv.reader(out.open(encoding="utf-8")))
    >>> rows[1][:4], rows[3][5][:40]
    (['record_id', 'bfi', '', 'text'], '1, Very Inaccurate | 2, Moderately Inacc')
    """
    path = Path(path)
    rows = dictionary_rows(instrument, lang=lang, group=group)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADERS, quoting=csv.QUOTE_MINIMAL)
        writer.writeheader()
        writer.writerows(rows)
    return path
