"""A printable questionnaire as one self-contained HTML file.

No scripts, no external files: the CSS is inline, with a print stylesheet (``@page { size: A4 }``)
that starts every section on a new page and keeps each item on one page. Each item has a row of
response boxes under the scale's labels; background questions follow with boxes, blanks or lines.
Every text is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import html
from pathlib import Path

from instrument.forms import (
    background_parts,
    check_group,
    condition_text,
    consent_text,
    fixed_label,
    item_conditions_text,
    question_number,
    scale_labels,
    sections,
    text_of,
    ui,
)
from instrument.spec import BackgroundQuestion, Instrument

_CSS = """
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; font-size: 11pt; margin: 2em; color: #000; }
h1 { font-size: 16pt; margin-bottom: 0.3em; }
h2 { font-size: 13pt; border-bottom: 1px solid #444; margin-top: 1.2em; }
p.meta { font-size: 9pt; color: #333; }
.idline { margin: 1em 0; font-weight: bold; }
table.items { width: 100%; border-collapse: collapse; }
table.items th, table.items td { border: 1px solid #888; padding: 4px; vertical-align: middle; }
table.items th { background: #eef; font-size: 9pt; font-weight: normal; }
table.items td.no { width: 2.5em; text-align: right; }
table.items td.box { width: 5.5em; text-align: center; font-size: 9pt; }
table.items tr { page-break-inside: avoid; break-inside: avoid; }
.square { display: inline-block; width: 0.9em; height: 0.9em; border: 1.5px solid #000; vertical-align: middle; }
.question { margin: 0.8em 0; page-break-inside: avoid; break-inside: avoid; }
.question .label { font-weight: bold; }
.question .note, .items .note { font-style: italic; font-size: 9.5pt; }
.consent { border: 1px solid #444; padding: 0.5em; font-size: 10pt; }
.question ul { list-style: none; padding-left: 1em; margin: 0.3em 0; }
.blank { display: inline-block; border-bottom: 1px solid #000; min-width: 8em; }
.line { border-bottom: 1px solid #000; height: 1.6em; }
section { margin-bottom: 1.5em; }
@page { size: A4; margin: 15mm; }
@media print {
  body { margin: 0; }
  section.part { page-break-before: always; break-before: page; }
  section.part:first-of-type { page-break-before: auto; break-before: auto; }
}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def render_html_form(
    instrument: Instrument, *, lang: str | None = None, group: str | None = None
) -> str:
    """The printable form as an HTML document (a string).

    Parameters
    ----------
    instrument : Instrument
        The specification.
    lang : str, optional
        Language; default the instrument's default.
    group : str, optional
        Value of the ``{group}`` parameter.

    Returns
    -------
    str
        A complete HTML5 document.
    """
    lang = instrument.check_language(lang)
    check_group(instrument, group)
    meta = instrument.metadata
    numbers = question_number(instrument)
    secs = sections(instrument)
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{_e(lang)}">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{_e(meta.name)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{_e(meta.name)}</h1>",
        f'<p class="meta">{_e(ui(lang, "version"))} {_e(meta.version)} &middot; {_e(instrument.fingerprint)}</p>',
        f'<p class="idline">{_e(ui(lang, "respondent_id"))}: <span class="blank"></span></p>',
    ]
    start = consent_text(instrument, "start", lang, group)
    if start:
        out.append(f'<p class="consent" id="consent-start">{_e(start)}</p>')
    instructions = text_of(instrument, instrument.instructions, lang, group)
    if instructions:
        out += [f'<p class="instructions">{_e(part)}</p>' for part in instructions.split("\n\n")]
    out.append(f"<p>{_e(ui(lang, 'circle'))}</p>")
    out.append("</header>")
    before, after = background_parts(instrument)
    if before:
        out.append('<section class="part" id="before-items">')
        out.append(f"<h2>{_e(ui(lang, 'before_items'))}</h2>")
        for question in before:
            out += _question_html(instrument, question, numbers[question.id], lang, group)
        out.append("</section>")
    for section in secs:
        out.append(f'<section class="part" id="part-{section.number}">')
        out.append(f"<h2>{_e(ui(lang, 'part', n=section.number, total=len(secs)))}</h2>")
        current = None
        for item in section.items:
            rs = instrument.response_scales[item.response_scale]
            pairs = scale_labels(rs, lang)
            if rs.id != current:
                if current is not None:
                    out.append("</tbody></table>")
                out.append('<table class="items"><thead><tr>')
                out.append(f"<th>{_e(ui(lang, 'number'))}</th><th>{_e(ui(lang, 'statement'))}</th>")
                out += [f"<th>{_e(code)}<br>{_e(label)}</th>" for code, label in pairs]
                out.append("</tr></thead><tbody>")
                current = rs.id
            out.append(f'<tr id="{_e(item.id)}"><td class="no">{numbers[item.id]}</td>')
            only_if = item_conditions_text(instrument, item, lang, group)
            note = f'<br><span class="note">{_e(only_if)}</span>' if only_if else ""
            out.append(f"<td>{_e(text_of(instrument, item.text, lang, group))}{note}</td>")
            out += [
                f'<td class="box"><span class="square"></span> {_e(code)}</td>' for code, _ in pairs
            ]
            out.append("</tr>")
        out.append("</tbody></table>")
        out.append("</section>")
    if after:
        out.append('<section class="part" id="background">')
        out.append(f"<h2>{_e(ui(lang, 'background'))}</h2>")
        for question in after:
            out += _question_html(instrument, question, numbers[question.id], lang, group)
        out.append("</section>")
    end = consent_text(instrument, "end", lang, group)
    if end:
        out.append(f'<p class="consent" id="consent-end">{_e(end)}</p>')
    else:
        out.append(f"<p>{_e(ui(lang, 'thanks'))}</p>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


def _question_html(
    instrument: Instrument, question: BackgroundQuestion, number: int, lang: str, group
) -> list[str]:
    out = [f'<div class="question" id="{_e(question.id)}">']
    out.append(
        f'<p class="label">{number}. {_e(text_of(instrument, question.label, lang, group))}</p>'
    )
    if question.fixed is not None:
        value = fixed_label(instrument, question, lang, group)
        out.append(
            f'<p><strong>{_e(value)}</strong> <span class="note">{_e(ui(lang, "fixed"))}</span></p>'
        )
        out.append("</div>")
        return out
    condition = condition_text(instrument, question, lang, group)
    if condition:
        out.append(f'<p class="note">{_e(condition)}</p>')
    if question.hint:
        out.append(f'<p class="note">{_e(text_of(instrument, question.hint, lang, group))}</p>')
    if question.type in ("single_choice", "multiple_choice"):
        out.append(
            f'<p class="note">{_e(ui(lang, "tick_one" if question.type == "single_choice" else "tick_all"))}</p>'
        )
        out.append("<ul>")
        out += [
            f'<li><span class="square"></span> {_e(text_of(instrument, c.label, lang, group))}</li>'
            for c in question.choices
        ]
        out.append("</ul>")
    elif question.type == "integer":
        rule = ui(lang, "integer")
        if question.minimum is not None:
            rule += " " + ui(lang, "range", min=question.minimum, max=question.maximum)
        out.append(f'<p>{_e(rule)}: <span class="blank"></span></p>')
    elif question.type in ("date", "year_month"):
        out.append(f'<p>{_e(ui(lang, question.type))}: <span class="blank"></span></p>')
    else:
        out.append(f"<p>{_e(ui(lang, 'text'))}:</p>")
        out += ['<div class="line"></div>'] * 3
    out.append("</div>")
    return out


def write_html_form(
    instrument: Instrument, path: str | Path, *, lang: str | None = None, group: str | None = None
) -> Path:
    """Write the printable HTML form (UTF-8) to ``path`` and return ``path``.

    Examples
    --------
    >>> import tempfile
    >>> from instrument.spec import load_instrument
    >>> bfi = load_instrument("examples/bfi.yaml")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     text = write_html_form(bfi, Path(tmp) / "bfi-en.html").read_text(encoding="utf-8")
    >>> "@page { size: A4" in text and "Am indifferent to the feelings of others." in text
    True
    """
    path = Path(path)
    path.write_text(render_html_form(instrument, lang=lang, group=group), encoding="utf-8")
    return path
