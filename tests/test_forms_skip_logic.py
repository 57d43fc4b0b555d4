"""Forms of item bank 0.2.0: skip logic in every form, interleaved order, wave forms with a
recall period, the group as data, consent and support text at the start and end.

pyxform (the reference XLSForm converter) must convert both languages' forms; REDCap's branching
logic is parsed with a small grammar of REDCap's syntax (``[field] = 'code'``, ``[field(code)]``
for a checkbox choice, ``and``/``or``, parentheses) and every field it names must come earlier in
the dictionary; the workbook's data-entry validation must refuse an answer where the item is
skipped and accept it where it is shown.
"""

from __future__ import annotations

import csv
import re

import openpyxl
import pytest
from pyxform.xls2xform import convert

from instrument.forms import build_forms, interleave, prepare, question_number
from instrument.forms.redcap import branching_logic
from instrument.forms.xlsform import relevant_expression
from instrument.spec import load_instrument

CONDITIONAL = {"mf_st9", "mf_st10", "mf_ex14", "ne_so1", "ne_so2", "ne_sr6", "ne_sr9", "ne_sr12"}


@pytest.fixture(scope="module")
def v2():
    return load_instrument("mhdq-0.2.0")


def test_conditional_items(v2):
    assert {i for i in v2.item_ids if v2.item_conditions(i)} == CONDITIONAL


def test_interleaved_order_mixes_facets(v2):
    order = interleave(v2)
    assert sorted(i.id for i in order) == sorted(v2.item_ids)
    first = [item.scale for item in order[: len(v2.leaf_scales)]]
    assert len(set(first)) == len(v2.leaf_scales)
    same_neighbours = sum(a.scale == b.scale for a, b in zip(order, order[1:], strict=False))
    assert same_neighbours <= 6  # only the tail of the largest facets can repeat


def test_questions_deciding_applicability_are_numbered_first(v2):
    numbers = question_number(v2)
    assert numbers["group_kind"] < min(numbers[i] for i in v2.item_ids)
    assert numbers["participation"] > max(numbers[i] for i in v2.item_ids)


def test_prepare_followup(v2):
    follow = prepare(
        v2, form="followup", recall="6 months", group="LifeRing", group_kind="liferring"
    )
    assert "age" not in follow.background_ids and "participation" in follow.background_ids
    assert follow.background_question("wave_form").fixed == 2
    assert follow.background_question("group_kind").fixed == 3
    assert follow.background_question("group_name").fixed == "LifeRing"
    text = follow.render(follow.instructions, "en", group="LifeRing")
    assert "past 6 months in LifeRing" in text and text.endswith("In the past 6 months:")
    assert follow.fingerprint == v2.fingerprint and follow.item_ids == v2.item_ids
    base = prepare(v2)
    assert base.background_question("wave_form").fixed == 1 and "age" in base.background_ids
    with pytest.raises(ValueError, match="allowed: baseline, followup"):
        prepare(v2, form="weekly")
    with pytest.raises(ValueError, match="allowed: twelve_step"):
        prepare(v2, group_kind="aa")
    with pytest.raises(ValueError, match="recall"):
        prepare(load_instrument("mhdq-0.1.0"), recall="3 months")
    with pytest.raises(ValueError, match="recall"):
        prepare(v2, recall="=HYPERLINK(1)")


# --------------------------------------------------------------------------------------------
# XLSForm
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["en", "nb"])
@pytest.mark.parametrize("form", ["baseline", "followup"])
def test_pyxform_converts_with_skip_logic(v2, tmp_path, lang, form):
    out = build_forms(v2, tmp_path, lang=lang, formats=["xlsform"], form=form, recall="6 months")
    path = out["xlsform"]
    assert path.name == f"mhdq-{lang}-{form}-xlsform.xlsx"
    result = convert(str(path))
    assert result.warnings == []
    xform = result.xform
    for item_id in CONDITIONAL:
        expression = relevant_expression(v2, v2.item_conditions(item_id))
        # pyxform turns ${name} into an XPath to the question
        assert re.search(rf'nodeset="[^"]*/{item_id}"[^>]*relevant="', xform), item_id
        assert expression.split("}")[0].lstrip("${") in xform
    code = v2.wave_forms[form].code
    assert f"calculate=\"'{code}'\"" in xform
    ws = openpyxl.load_workbook(path)["survey"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    names = [r[1] for r in rows]
    assert names.index("group_kind") < names.index("mf_st9")
    assert names[1] == "consent_start" and "consent_end" in names
    settings = openpyxl.load_workbook(path)["settings"]
    form_id = settings["B2"].value
    assert form_id == f"mhdq_{form}" and settings["C2"].value.endswith(f"-{form}")


def test_relevant_expressions(v2):
    assert relevant_expression(v2, v2.item_conditions("ne_sr9")) == "${relapse_ever} = '1'"
    assert relevant_expression(v2, ()) == ""


# --------------------------------------------------------------------------------------------
# REDCap
# --------------------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"\s*(?:(?P<field>\[[a-z][a-z0-9_]*(?:\(\d+\))?\])|(?P<op>=|<>)|(?P<value>'[^']*')"
    r"|(?P<word>and|or)|(?P<paren>[()]))"
)


def parse_branching(logic: str) -> list[tuple[str, str]]:
    """Tokens of REDCap branching logic; raise ValueError for anything REDCap would reject.

    Grammar: expr := term (('and'|'or') term)*; term := '(' expr ')' | field op value.
    """
    tokens, pos = [], 0
    while pos < len(logic):
        m = _TOKEN.match(logic, pos)
        if not m or m.end() == pos:
            raise ValueError(f"unexpected text at {pos}: {logic[pos:]!r}")
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(logic) and logic[pos] == " ":
            pos += 1

    def term(i: int) -> int:
        if i < len(tokens) and tokens[i] == ("paren", "("):
            i = expr(i + 1)
            if i >= len(tokens) or tokens[i] != ("paren", ")"):
                raise ValueError("unbalanced parenthesis")
            return i + 1
        if [k for k, _ in tokens[i : i + 3]] != ["field", "op", "value"]:
            raise ValueError(f"expected [field] = 'value' at token {i}")
        return i + 3

    def expr(i: int) -> int:
        i = term(i)
        while i < len(tokens) and tokens[i][0] == "word":
            i = term(i + 1)
        return i

    if expr(0) != len(tokens):
        raise ValueError("trailing tokens")
    return tokens


def test_branching_grammar_rejects_bad_logic():
    parse_branching("[a] = '1' and ([b(2)] = '1' or [c] = '0')")
    for bad in ("[a] == '1'", '[a] = "1"', "[a] = '1' and", "([a] = '1'", "[A] = '1'"):
        with pytest.raises(ValueError):
            parse_branching(bad)


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_redcap_branching_logic_is_valid(v2, tmp_path, lang):
    path = build_forms(v2, tmp_path, lang=lang, formats=["redcap"])["redcap"]
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    seen: dict[str, dict] = {}
    n_logic = 0
    for row in rows:
        name = row["Variable / Field Name"]
        logic = row["Branching Logic (Show field only if...)"]
        if logic:
            n_logic += 1
            for kind, value in parse_branching(logic):
                if kind == "field":
                    target = value.strip("[]").split("(")[0]
                    assert target in seen, (name, target)  # only earlier fields
                    choices = seen[target]["Choices, Calculations, OR Slider Labels"]
                    codes = {part.split(",")[0].strip() for part in choices.split("|")}
                    assert codes, (name, target)
                if kind == "value":
                    assert value.strip("'") in codes, (name, value)
        seen[name] = row
    assert n_logic == len(CONDITIONAL) + 3  # items + sponsor_now, steps_worked, last_meeting
    assert branching_logic(v2, v2.item_conditions("mf_ex14")) == "[group_kind] = '1'"
    assert rows[1]["Field Type"] == "descriptive" and rows[1]["Variable / Field Name"] == (
        "consent_start"
    )
    assert rows[-1]["Variable / Field Name"] == "consent_end"
    wave = next(r for r in rows if r["Variable / Field Name"] == "wave_form")
    assert "@DEFAULT='1' @READONLY" in wave["Field Annotation"]


# --------------------------------------------------------------------------------------------
# Workbook and HTML
# --------------------------------------------------------------------------------------------
def _formula_allows(formula: str, row: dict[str, float]) -> bool:
    """Evaluate an AND(...)/OR(...)/cell=value validation formula for one row, as Excel does."""

    def split_args(text: str) -> list[str]:
        parts, depth, start = [], 0, 0
        for k, ch in enumerate(text):
            depth += ch == "("
            depth -= ch == ")"
            if ch == "," and depth == 0:
                parts.append(text[start:k])
                start = k + 1
        return parts + [text[start:]]

    def value(text: str) -> bool:
        text = text.strip()
        for name, combine in (("AND(", all), ("OR(", any)):
            if text.startswith(name) and text.endswith(")"):
                return combine(value(arg) for arg in split_args(text[len(name) : -1]))
        cell, _, code = text.partition("=")
        return cell in row and row[cell] == float(code)

    return value(formula)


def test_workbook_data_entry_leaves_skipped_cells_blank(v2, tmp_path):
    path = build_forms(v2, tmp_path, formats=["xlsx"])["xlsx"]
    wb = openpyxl.load_workbook(path)
    ws = wb["Data entry"]
    header = {c.value: c.column_letter for c in ws[1]}
    rules = {}
    for dv in ws.data_validations.dataValidation:
        for rng in str(dv.sqref).split():
            rules[rng.split(":")[0].rstrip("0123456789")] = dv
    sponsor, item = header["sponsor_ever"], header["ne_so1"]
    dv = rules[item]
    assert dv.type == "custom" and dv.allow_blank and dv.showErrorMessage
    assert _formula_allows(dv.formula1, {f"{sponsor}2": 1, f"{item}2": 4})
    assert not _formula_allows(dv.formula1, {f"{sponsor}2": 0, f"{item}2": 4})
    assert not _formula_allows(dv.formula1, {f"{sponsor}2": 1, f"{item}2": 7})
    unconditional = rules[header["mf_st2"]]
    assert unconditional.type == "list"
    questionnaire = wb["Questionnaire"]
    texts = [c.value for row in questionnaire.iter_rows() for c in row if isinstance(c.value, str)]
    ne_so1 = next(t for t in texts if t.startswith("My sponsor or mentor in Narcotics"))
    assert "Answer only if your answer to question" in ne_so1
    assert any("voluntary" in t for t in texts)
    assert dict(wb["_mhdq"].iter_rows(values_only=True))["form"] == "baseline"


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_html_prints_skip_logic_and_consent(v2, tmp_path, lang):
    path = build_forms(v2, tmp_path, lang=lang, formats=["html"], form="followup")["html"]
    text = path.read_text(encoding="utf-8")
    marker = "Answer only if" if lang == "en" else "Svar bare hvis"
    assert text.count(marker) >= len(CONDITIONAL)
    assert 'id="consent-start"' in text and 'id="consent-end"' in text
    assert text.index('id="before-items"') < text.index('id="mf_st2"')
    assert ("3 months" if lang == "en" else "3 måneder") in text
