"""XLSForm for ODK Collect, Enketo and KoboToolbox.

The form has the three XLSForm sheets:

``survey``
    An introduction note, one ``field-list`` group per section (theme) holding its items as
    ``select_one <scale>`` with ``appearance`` ``likert`` and ``required`` ``yes``, then a group of
    background questions: ``select_one``/``select_multiple`` for choices, ``integer`` with a range
    ``constraint``, ``date``, ``date`` with ``appearance`` ``month-year`` for year-month questions,
    and ``text``; conditions become ``relevant`` expressions such as ``${attended} = '1'``.
``choices``
    One list per response scale (codes as choice names, so exports hold the codes) and one per
    choice question.
``settings``
    ``form_id``, ``form_title``, ``version`` (the specification's version and fingerprint),
    ``default_language``.

Every language of the specification gets its own ``label::Name (code)`` column (also ``hint::`` and
``constraint_message::``); the language chosen with ``lang`` becomes the default. Variable names
are the item and question ids. Checked with ``pyxform.xls2xform.convert``.

References
----------
XLSForm specification, https://xlsform.org (sheets, multiple languages, appearance, relevant).
"""

from __future__ import annotations

import re
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from instrument.forms import (
    background_parts,
    built_form,
    check_group,
    consent_text,
    scale_labels,
    sections,
    text_of,
    ui,
)
from instrument.io.security import neutralise
from instrument.spec import BackgroundQuestion, Condition, Instrument

_SAFE = re.compile(r"[^A-Za-z0-9_]")


def language_column(name: str, code: str) -> str:
    """The XLSForm language suffix, e.g. ``English (en)``; brackets and colons are dropped from the name.

    Examples
    --------
    >>> language_column("Norsk bokmål", "nb")
    'Norsk bokmål (nb)'
    """
    clean = re.sub(r"[():]", "", name).strip() or code
    return f"{clean} ({code})"


def form_version(instrument: Instrument) -> str:
    """The ``settings.version``: the specification's version and the first 8 characters of its fingerprint.

    The fingerprint part changes whenever the wording changes, so KoboToolbox and ODK Central
    see a new form version even if the version number was not raised.
    """
    version = re.sub(r"[^0-9A-Za-z._-]", "_", instrument.version)
    return f"{version}-{instrument.fingerprint[:8]}"


def relevant_expression(instrument: Instrument, conditions: tuple[Condition, ...]) -> str:
    """XLSForm ``relevant`` for conditions that must all hold.

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> v2 = load_instrument("mhdq-0.2.0")
    >>> relevant_expression(v2, v2.item_conditions("mf_st9"))
    "${group_kind} = '1'"
    """
    parts = []
    for condition in conditions:
        target = instrument.background_question(condition.question)
        if target.type == "multiple_choice":
            alternatives = [f"selected(${{{target.id}}}, '{v}')" for v in condition.values]
        else:
            alternatives = [f"${{{target.id}}} = '{v}'" for v in condition.values]
        joined = " or ".join(alternatives)
        parts.append(joined if len(alternatives) == 1 or len(conditions) == 1 else f"({joined})")
    return " and ".join(parts)


def _list_name(prefix: str, ident: str) -> str:
    return f"{prefix}_{_SAFE.sub('_', ident)}"


def write_xlsform(  # noqa: C901 - one branch per question type and XLSForm column
    instrument: Instrument, path: str | Path, *, lang: str | None = None, group: str | None = None
) -> Path:
    """Write the instrument as an XLSForm (.xlsx) for ODK and KoboToolbox.

    Parameters
    ----------
    instrument : Instrument
        The specification.
    path : str or Path
        The .xlsx file to write.
    lang : str, optional
        The form's default language; default the instrument's default. All languages are written.
    group : str, optional
        Value of the ``{group}`` parameter in every language; default each language's default.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile
    >>> from pyxform.xls2xform import convert
    >>> from instrument.spec import load_instrument
    >>> bfi = load_instrument("examples/bfi.yaml")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     result = convert(str(write_xlsform(bfi, Path(tmp) / "bfi-xlsform.xlsx")))
    >>> result.warnings
    []
    """
    lang = instrument.check_language(lang)
    check_group(instrument, group)
    path = Path(path)
    langs = [(language_column(x.name, x.code), x.code) for x in instrument.languages]
    has_hint = any(q.hint for q in instrument.background)
    has_constraint = any(
        q.type in ("integer", "date", "year_month") and q.minimum is not None
        for q in instrument.background
    )
    columns = ["type", "name"] + [f"label::{col}" for col, _ in langs]
    if has_hint:
        columns += [f"hint::{col}" for col, _ in langs]
    columns += ["required", "constraint"]
    if has_constraint:
        columns += [f"constraint_message::{col}" for col, _ in langs]
    columns += ["relevant", "appearance", "calculation"]

    def row(**fields) -> list:
        return [fields.get(c, "") for c in columns]

    def texts(kind: str, per_lang) -> dict[str, str]:
        return {f"{kind}::{col}": per_lang(code) for col, code in langs}

    survey: list[list] = []
    taken = set(instrument.item_ids) | set(instrument.background_ids)
    if instrument.consent.get("start"):
        survey.append(
            row(
                type="note",
                name=_unique("consent_start", taken),
                **texts("label", lambda code: consent_text(instrument, "start", code, group)),
            )
        )
    survey.append(
        row(
            type="note",
            name=_unique("intro", taken),
            **texts(
                "label",
                lambda code: (
                    text_of(instrument, instrument.instructions, code, group)
                    or instrument.metadata.name
                ),
            ),
        )
    )
    questions = {q.id: q for q in instrument.background}
    before, after = background_parts(instrument)
    if before:
        survey.append(
            row(
                type="begin_group",
                name=_unique("grp_before", taken),
                **texts("label", lambda code: ui(code, "before_items")),
            )
        )
        for question in before:
            survey.append(row(**_background_fields(instrument, question, questions, texts, group)))
        survey.append(row(type="end_group"))
    secs = sections(instrument)
    for section in secs:
        name = _unique(f"grp_{section.scale.id}", taken)
        survey.append(
            row(
                type="begin_group",
                name=name,
                appearance="field-list",
                **texts(
                    "label",
                    lambda code, section=section: ui(
                        code, "part", n=section.number, total=len(secs)
                    ),
                ),
            )
        )
        for item in section.items:
            survey.append(
                row(
                    type=f"select_one {_list_name('rs', item.response_scale)}",
                    name=item.id,
                    required="yes",
                    appearance="likert",
                    relevant=relevant_expression(instrument, instrument.item_conditions(item.id)),
                    **texts(
                        "label",
                        lambda code, item=item: text_of(instrument, item.text, code, group),
                    ),
                )
            )
        survey.append(row(type="end_group"))
    if after:
        name = _unique("grp_background", taken)
        survey.append(
            row(
                type="begin_group", name=name, **texts("label", lambda code: ui(code, "background"))
            )
        )
        for question in after:
            survey.append(row(**_background_fields(instrument, question, questions, texts, group)))
        survey.append(row(type="end_group"))
    if instrument.consent.get("end"):
        survey.append(
            row(
                type="note",
                name=_unique("consent_end", taken),
                **texts("label", lambda code: consent_text(instrument, "end", code, group)),
            )
        )

    choices_header = ["list_name", "name"] + [f"label::{col}" for col, _ in langs]
    choices: list[list] = []
    for rs in instrument.response_scales.values():
        per_lang = {code: scale_labels(rs, code) for _, code in langs}
        for n, (value, _label) in enumerate(per_lang[lang]):
            choices.append(
                [_list_name("rs", rs.id), str(value)] + [per_lang[code][n][1] for _, code in langs]
            )
    for question in instrument.background:
        if question.type in ("single_choice", "multiple_choice"):
            for choice in question.choices:
                choices.append(
                    [_list_name("bg", question.id), str(choice.code)]
                    + [text_of(instrument, choice.label, code, group) for _, code in langs]
                )

    default_column = next(col for col, code in langs if code == lang)
    settings_header = ["form_title", "form_id", "version", "default_language", "style"]
    form_id = _SAFE.sub("_", instrument.metadata.short_name.lower())
    title, version = instrument.metadata.name, form_version(instrument)
    wave = built_form(instrument)
    if wave:
        # each wave form is its own form on a server (same items, different instructions)
        form_id, version = f"{form_id}_{wave}", f"{version}-{wave}"
        label = instrument.wave_forms[wave].label
        title = f"{title} ({label.get(lang) or next(iter(label.values()))})"
    settings = [[title, form_id, version, default_column, "pages"]]

    wb = Workbook()
    ws = wb.active
    ws.title = "survey"
    for sheet, header, rows in (
        (ws, columns, survey),
        (wb.create_sheet("choices"), choices_header, choices),
        (wb.create_sheet("settings"), settings_header, settings),
    ):
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for values in rows:
            sheet.append([neutralise(v) if v != "" else None for v in values])
    wb.save(path)
    return path


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate.lower() in {t.lower() for t in taken}:
        n += 1
        candidate = f"{name}_{n}"
    taken.add(candidate)
    return candidate


def _background_fields(
    instrument: Instrument, question: BackgroundQuestion, questions, texts, group
) -> dict:
    fields: dict = {"name": question.id, "required": "yes" if question.required else ""}
    fields.update(texts("label", lambda code: text_of(instrument, question.label, code, group)))
    if question.fixed is not None:
        # Filled in by the form (the wave form answered, the group): a calculate field, so the
        # value is in the data without being asked. Quotes cannot occur inside the literal.
        value = str(question.fixed).replace("'", "\u2019")
        fields["type"] = "calculate"
        fields["required"] = ""
        fields["calculation"] = f"'{value}'"
        return fields
    if question.hint:
        fields.update(texts("hint", lambda code: text_of(instrument, question.hint, code, group)))
    qtype = question.type
    if qtype == "single_choice":
        fields["type"] = f"select_one {_list_name('bg', question.id)}"
    elif qtype == "multiple_choice":
        fields["type"] = f"select_multiple {_list_name('bg', question.id)}"
    elif qtype == "integer":
        fields["type"] = "integer"
        if question.minimum is not None:
            fields["constraint"] = f". >= {question.minimum} and . <= {question.maximum}"
            fields.update(
                texts(
                    "constraint_message",
                    lambda code: ui(
                        code, "whole_range", min=question.minimum, max=question.maximum
                    ),
                )
            )
    elif qtype in ("date", "year_month"):
        fields["type"] = "date"
        if qtype == "year_month":
            fields["appearance"] = "month-year"
        if question.minimum is not None:
            fields["constraint"] = (
                f". >= date('{question.minimum:04d}-01-01') and . <= date('{question.maximum:04d}-12-31')"
            )
            if qtype == "year_month":
                fields.update(
                    texts(
                        "constraint_message",
                        lambda code: ui(
                            code, "ym_range", min=question.minimum, max=question.maximum
                        ),
                    )
                )
            else:
                fields.update(
                    texts(
                        "constraint_message",
                        lambda code: ui(
                            code,
                            "date_range",
                            min=f"{question.minimum:04d}-01-01",
                            max=f"{question.maximum:04d}-12-31",
                        ),
                    )
                )
    else:
        fields["type"] = "text"
        fields["appearance"] = "multiline"
    if question.relevant is not None:
        target = questions[question.relevant.question]
        if target.type == "multiple_choice":
            parts = [f"selected(${{{target.id}}}, '{v}')" for v in question.relevant.values]
        else:
            parts = [f"${{{target.id}}} = '{v}'" for v in question.relevant.values]
        fields["relevant"] = " or ".join(parts)
    return fields
