"""MHDQ item bank 0.2.0 (instrument/banks/mhdq-0.2.0.yaml) and docs/content-validity.md.

What is checked comes from the source study and from issue 13, not from the bank: the passages
are looked up in the paper's text (tests/data/vederhus2020.txt, CC BY 4.0), the Table 3 codes and
themes are those printed in the paper (tests/test_mhdq_bank.py), and the review points of the
issue (withdrawn ids, skip logic, response formats, reverse keying, Norwegian terms) are asserted
item by item.

After editing the bank, regenerate the tables of docs/content-validity.md with::

    .venv/bin/python -m tests.test_mhdq_bank_v2 --write-doc
"""

from __future__ import annotations

import re
import sys
import unicodedata
from pathlib import Path

import pytest

from instrument.spec import RESERVED_NAMES, VARIABLE_NAME, Instrument, load_instrument
from tests.test_mhdq_bank import FACET_SCALES, PSEUDONYMS, TABLE3_CODES, THEME_SCALES

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "content-validity.md"
PAPER = ROOT / "tests" / "data" / "vederhus2020.txt"
BEGIN = "<!-- BEGIN GENERATED: .venv/bin/python -m tests.test_mhdq_bank_v2 --write-doc -->"
END = "<!-- END GENERATED -->"
PROBLEM_FACETS = ("strategy", "explanatory", "social", "second_rate", "stuck")
#: Respondent labels beyond the pseudonyms: Table 3's own wording, and the PAL respondents'
#: complaints the paper quotes in its discussion.
SOURCES = PSEUDONYMS | {"table3", "PAL"}


@pytest.fixture(scope="module")
def v2() -> Instrument:
    return load_instrument("mhdq-0.2.0")


@pytest.fixture(scope="module")
def v1() -> Instrument:
    return load_instrument("mhdq-0.1.0")


def _normalise(text: str) -> str:
    """Lower case, typographic quotes straightened, hyphens and all white space removed (the
    PDF text breaks words across lines with hyphens)."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"[\-\u2010\u2011\u2012\u2013\u2014\s]+", "", text).lower()


# --------------------------------------------------------------------------------------------
# Versions and ids
# --------------------------------------------------------------------------------------------
def test_both_versions_load_and_keep_their_versions(v1, v2):
    assert v1.metadata.version == "0.1.0"
    assert v2.metadata.version == "0.2.0"
    assert v1.fingerprint != v2.fingerprint


def test_every_old_id_is_kept_or_withdrawn_with_a_reason(v1, v2):
    kept = set(v2.item_ids) | set(v2.background_ids)
    withdrawn = {w.id: w for w in v2.withdrawn}
    for ident in v1.item_ids + v1.background_ids:
        assert ident in kept or ident in withdrawn, ident
    for w in v2.withdrawn:
        assert w.id not in kept, w.id  # ids are never reused
        assert len(w.reason) > 20, w.id
        assert all(new in kept for new in w.replaced_by), w.id


def test_issue_13_items_are_withdrawn(v2):
    withdrawn = {w.id for w in v2.withdrawn}
    assert {
        "mf_st1",
        "mf_st3",
        "mf_st5",
        "mf_ex1",
        "mf_ex2",
        "mf_ex4",
        "mf_ex6",
        "ne_so3",
        "ne_so5",
        "ne_sr3",
        "ne_sr5",
        "sc_lm4",
        "sc_lm6",
        "sc_st2",
        "sc_st7",
    } <= withdrawn
    assert {"mf_st4", "mf_ex7", "ne_sr4", "sc_st4"} <= withdrawn  # from 0.1.0


def test_kept_items_keep_wording_key_and_scale(v1, v2):
    """An item whose id survives is the same question: same text, key and facet."""
    for item_id in set(v1.item_ids) & set(v2.item_ids):
        old, new = v1.item(item_id), v2.item(item_id)
        assert old.text == new.text, item_id
        assert old.keyed == new.keyed and old.scale == new.scale, item_id


def test_ids_valid_and_prefixed(v2):
    ids = v2.item_ids + v2.background_ids
    assert len({i.lower() for i in ids}) == len(ids)
    for ident in ids:
        assert VARIABLE_NAME.match(ident) and not ident.endswith("_"), ident
        assert ident.lower() not in RESERVED_NAMES, ident
    for facet, (_, prefix) in FACET_SCALES.items():
        assert all(re.fullmatch(prefix + r"\d+", i) for i in v2.scale_items(facet)), facet


# --------------------------------------------------------------------------------------------
# Scales: the problems total excludes growing away
# --------------------------------------------------------------------------------------------
def test_problems_total_excludes_more_than(v2):
    assert {s.id for s in v2.root_scales} == {"total", "more_than", "first_meetings", "meaning"}
    total = set(v2.scale_items("total"))
    assert total == {i for f in PROBLEM_FACETS for i in v2.scale_items(f)}
    assert not total & set(v2.scale_items("more_than"))
    assert "provisional" in v2.scale("total").label["en"]
    assert "foreløpig" in v2.scale("total").label["nb"]


def test_facet_sizes_and_two_reversed_items_per_facet(v2):
    for facet in (*PROBLEM_FACETS, "more_than"):
        keys = [v2.item(i).keyed for i in v2.scale_items(facet)]
        assert 5 <= len(keys) <= 12, facet
        assert keys.count(-1) >= 2, facet
        assert keys.count(1) > keys.count(-1), facet


def test_reverse_keyed_items_are_worded_positively(v2):
    negation = re.compile(r"\b(not|no|never|nothing|none|nobody)\b|n't|n’t", re.IGNORECASE)
    for item_id in v2.reverse_keyed():
        assert not negation.search(v2.item(item_id).text["en"]), item_id


def test_no_absolute_words(v2):
    for item in v2.items:
        assert not re.search(r"\b(all|always|constantly|every|never)\b", item.text["en"]), item.id
        assert not re.search(r"\b(alltid|hele tiden|alle problemene)\b", item.text["nb"]), item.id


# --------------------------------------------------------------------------------------------
# Provenance: every passage word for word in the paper
# --------------------------------------------------------------------------------------------
def test_every_passage_is_quoted_word_for_word(v2):
    paper = _normalise(PAPER.read_text(encoding="utf-8"))
    for item in v2.items:
        passage = item.source.get("passage", "")
        assert passage.strip(), item.id
        for fragment in passage.split("…"):
            assert _normalise(fragment) in paper, (item.id, fragment)


def test_the_passage_check_can_fail():
    paper = _normalise(PAPER.read_text(encoding="utf-8"))
    assert _normalise("they hinge everything on addiction") in paper
    assert _normalise("they hinge nearly everything on addiction") not in paper


def test_problem_items_trace_to_table3(v2):
    for item_id in v2.scale_items("total") + v2.scale_items("more_than"):
        item = v2.item(item_id)
        src = item.source
        assert src["code"] in TABLE3_CODES, item_id
        prelim, _ = FACET_SCALES[item.scale]
        assert src["preliminary_theme"] == prelim == TABLE3_CODES[src["code"]], item_id
        assert src["respondent"] in SOURCES, item_id
        assert not item.addition, item_id
    facet_theme = {"more_than": "cage"} | {f.id: t for t in THEME_SCALES for f in v2.children(t)}
    for item_id in v2.scale_items("total"):
        item = v2.item(item_id)
        assert item.source["theme"] == THEME_SCALES[facet_theme[item.scale]], item_id


def test_every_table3_code_has_an_item(v2):
    covered = {v2.item(i).source.get("code") for i in v2.scale_items("total")}
    covered |= {v2.item(i).source.get("code") for i in v2.scale_items("more_than")}
    assert set(TABLE3_CODES) <= covered


def test_paper_content_without_an_item_in_010_now_has_one(v2):
    """Issue 13's list: hugging, opioid maintenance, total abstinence, leaving as apostasy or
    "you will relapse", ridicule, status by abstinent time, pressure to speak and do service,
    the Higher Power."""
    wording = {item.id: item.text["en"].lower() for item in v2.items}
    passages = {item.id: item.source["passage"].lower() for item in v2.items}

    def has(word: str, where: dict[str, str]) -> bool:
        return any(word in text for text in where.values())

    assert has("hugging", wording) and has("hugging", passages)
    assert has("opioid maintenance", wording)
    assert has("alcohol included", wording)
    assert has("apostate", passages) and has("relapse if i left", wording)
    assert has("ridicule", wording)
    assert has("abstinent", wording) and has("length of time you had been abstinent", passages)
    assert has("pressure to speak", wording) and has("service work", wording)
    assert has("higher power", wording)


def test_additions_are_marked(v2):
    for item_id in v2.scale_items("first_meetings"):
        assert v2.item(item_id).addition.strip(), item_id
    assert all(
        not v2.item(i).addition for i in v2.item_ids if i not in v2.scale_items("first_meetings")
    )


# --------------------------------------------------------------------------------------------
# Group-neutral wording, skip logic and response formats
# --------------------------------------------------------------------------------------------
def test_group_specific_items_say_so(v2):
    assert v2.group_kinds is not None
    assert set(v2.group_kinds.kinds) == {"twelve_step", "smart", "liferring", "wfs", "other"}
    for item in v2.items:
        en = item.text["en"].lower()
        if re.search(r"\bsteps?\b|\bhigher power\b", en):
            assert item.applies_to == ("twelve_step",), item.id
        assert "steps or program" not in en, item.id
        if "sponsor" in en:
            assert "sponsor or mentor" in en, item.id
            assert item.relevant[0].question == "sponsor_ever", item.id
        assert not re.search(r"\bclean\b|\bnewcomer", en), item.id
        assert "NA" not in item.text["en"].replace("{group}", ""), item.id


def test_relapse_and_comorbidity_items_are_skipped_not_presupposed(v2):
    for item in v2.items:
        en = item.text["en"].lower()
        conditions = {c.question for c in v2.item_conditions(item.id)}
        if re.search(r"\b(a|my) relapse\b", en):
            assert "relapse_ever" in conditions, item.id
        if "mental health" in en:
            assert "mental_health" in conditions, item.id


def test_questions_that_decide_applicability_come_first(v2):
    before = [q.id for q in v2.background if q.placement == "before_items"]
    assert before[:3] == ["wave_form", "group_name", "group_kind"]
    for item_id in v2.item_ids:
        for condition in v2.item_conditions(item_id):
            assert condition.question in before, item_id


def test_not_applicable_only_where_skip_logic_cannot_decide(v2):
    with_na = [i for i in v2.item_ids if v2.response_scale_of(i).not_applicable is not None]
    assert 1 <= len(with_na) <= 4, with_na
    assert set(with_na) == {"mf_st9", "ne_so13"}


def test_events_use_a_frequency_scale(v2):
    often = v2.response_scales["often5"]
    assert often.labels["en"][0] == "Never"
    for item_id in ("ne_so8", "ne_so10", "ne_sr9"):
        assert v2.item(item_id).response_scale == "often5", item_id
        assert v2.item(item_id).text["en"].startswith(("How often", "When")), item_id


def test_items_are_short_and_end_with_a_full_stop_or_question(v2):
    for item in v2.items:
        assert len(item.text["en"].split()) <= 22, item.id
        assert item.text["en"].endswith((".", "?")), item.id
        assert re.search(r"\b(I|me|my)\b", item.text["en"]), item.id


@pytest.mark.parametrize("group", ["SMART Recovery", "LifeRing", "Women for Sobriety"])
def test_group_is_substituted_everywhere(v2, group):
    for lang in ("en", "nb"):
        for item in v2.items:
            assert "{" not in v2.item_text(item.id, lang, group=group), (item.id, lang)
        for q in v2.background:
            assert "{" not in v2.render(q.label, lang, group=group), (q.id, lang)
        for where in ("start", "end"):
            assert "{" not in v2.render(v2.consent[where], lang, group=group)


# --------------------------------------------------------------------------------------------
# Waves, consent, background module
# --------------------------------------------------------------------------------------------
def test_wave_forms(v2):
    assert set(v2.wave_forms) == {"baseline", "followup"}
    assert v2.wave_question == "wave_form"
    follow = v2.wave_forms["followup"]
    assert follow.recall and "{recall}" in follow.instructions["en"]
    text = v2.render(v2.instructions_for("followup"), "en", recall="6 months")
    assert "past 6 months" in text
    assert "whole time" in v2.render(v2.instructions_for("baseline"), "en")
    with pytest.raises(ValueError, match="allowed: baseline, followup"):
        v2.check_form("week4")


def test_consent_and_support_in_both_languages(v2):
    for where in ("start", "end"):
        for lang in ("en", "nb"):
            text = v2.render(v2.consent[where], lang)
            assert "{support}" in v2.consent[where][lang]
            assert len(text) > 60
    assert "113" in v2.render(v2.consent["start"], "nb")
    assert "voluntary" in v2.consent["start"]["en"]


def test_pal_style_baseline_module(v2):
    q = {b.id: b for b in v2.background}
    for qid in (
        "fellowships_ever",
        "fellowships_90d",
        "meetings_90d",
        "involvement_90d",
        "commit_abst1",
        "commit_abst2",
        "commit_abst3",
        "alcohol_days_30",
        "drug_days_30",
        "omt",
        "treatment",
        "spirituality",
        "age",
        "gender",
    ):
        assert qid in q, qid
    for qid in ("fellowships_ever", "fellowships_90d", "involvement_90d"):
        assert q[qid].type == "multiple_choice"
    for qid in ("alcohol_days_30", "drug_days_30", "omt", "treatment", "spirituality"):
        assert q[qid].sensitive and not q[qid].required, qid
    for b in v2.background:
        if b.section == "pal_baseline":
            assert b.resembles, b.id
    labels = {c.label["en"] for c in q["fellowships_ever"].choices}
    assert {"SMART Recovery", "LifeRing", "Women for Sobriety"} <= labels


def test_participation_outcome_types(v2):
    q = v2.background_question("participation")
    labels = " | ".join(c.label["en"] for c in q.choices).lower()
    for phrase in ("still attend", "no longer needed", "switched", "problems", "relapse"):
        assert phrase in labels, phrase
    assert v2.background_question("last_meeting").relevant.values == (2, 3, 4, 5, 6)


def test_attention_check(v2):
    (check,) = v2.attention_checks
    assert check.expected == 2 and not check.required
    assert "Disagree" in check.label["en"]


# --------------------------------------------------------------------------------------------
# Norwegian
# --------------------------------------------------------------------------------------------
def test_norwegian_terms(v2):
    texts = [v2.render(s.label, "nb") + v2.render(s.definition, "nb") for s in v2.scales]
    texts += [item.text["nb"] for item in v2.items]
    joined = " ".join(texts).lower()
    assert "frakobling" not in joined
    assert "dobbel trøbbel" not in joined and "rop-lidelser" in joined
    assert "dømt om du går" not in joined
    assert "frafall" in joined
    for item in v2.items:
        if "recovery" in item.text["en"].lower():
            assert "tilfriskning" in item.text["nb"].lower(), item.id
    langs = {lang.code: lang for lang in v2.languages}
    assert "forward translation" in langs["nb"].status


# --------------------------------------------------------------------------------------------
# docs/content-validity.md
# --------------------------------------------------------------------------------------------
def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _shown_when(instrument: Instrument, item_id: str) -> str:
    parts = []
    item = instrument.item(item_id)
    if item.applies_to:
        parts.append("group kind " + " or ".join(item.applies_to))
    parts += [f"`{c.question}` in {list(c.values)}" for c in item.relevant]
    return "; ".join(parts) or "always"


def render_tables(instrument: Instrument) -> str:
    """The generated part of docs/content-validity.md, from bank 0.2.0."""
    out: list[str] = []
    add = out.append
    add("## Facets and their definitions\n")
    add("These are the definitions shown to content experts in the CVI form.\n")
    add("| Scale | Facet (scale id) | Definition |")
    add("|---|---|---|")
    for theme in instrument.children("total"):
        for facet in instrument.children(theme.id):
            add(
                f"| {_cell(theme.label['en'])} | {_cell(facet.label['en'])} (`{facet.id}`) "
                f"| {_cell(facet.definition['en'])} |"
            )
    for root in ("more_than", "first_meetings", "meaning"):
        scale = instrument.scale(root)
        add(
            f"| separate scale | {_cell(scale.label['en'])} (`{root}`) "
            f"| {_cell(scale.definition['en'])} |"
        )
    add("")
    add("## Items, with the code and passage each rests on\n")
    add(
        "Key: `+` agreeing (or a higher frequency) means more of the scale; `-` reverse keyed. "
        'Respondent "text" means the authors\' own text, "table3" the wording of Table 3, "PAL" '
        "the PAL respondents' complaints the paper quotes. Scale `often5` is a frequency scale "
        '(never … very often); `agree5_na` offers code 9 "does not apply to me". Items are '
        f"presented {instrument.order.replace('_', '-')}.\n"
    )
    add(
        "| Item | Text (en) | Key | Response | Shown when | Table 3 code | Final theme "
        "| Passage (respondent) |"
    )
    add("|---|---|---|---|---|---|---|---|")
    for item_id in instrument.scale_items("total") + instrument.scale_items("more_than"):
        item = instrument.item(item_id)
        s = item.source
        key = "-" if item.keyed < 0 else "+"
        add(
            f"| `{item.id}` | {_cell(item.text['en'])} | {key} | {item.response_scale} "
            f"| {_cell(_shown_when(instrument, item.id))} | {_cell(s['code'])} "
            f"| {_cell(s['theme'])} | “{_cell(s['passage'])}” ({_cell(s['respondent'])}) |"
        )
    add("")
    add("## Coverage of the Table 3 codes\n")
    add("| Table 3 code | Preliminary theme | Items |")
    add("|---|---|---|")
    by_code: dict[str, list[str]] = {}
    for item_id in instrument.scale_items("total") + instrument.scale_items("more_than"):
        by_code.setdefault(instrument.item(item_id).source["code"], []).append(item_id)
    for code, prelim in TABLE3_CODES.items():
        ids = ", ".join(f"`{i}`" for i in by_code.get(code, [])) or "**none**"
        add(f"| {_cell(code)} | {_cell(prelim)} | {ids} |")
    add("")
    add("## Reverse-keyed items\n")
    for facet in (*PROBLEM_FACETS, "more_than"):
        rev = [i for i in instrument.scale_items(facet) if instrument.item(i).keyed < 0]
        label = instrument.scale(facet).label["en"]
        add(f"- {label} (`{facet}`): " + ", ".join(f"`{i}`" for i in rev))
    add("")
    add("## Additions beyond the source study\n")
    add("| Item | Scale | Text (en) | Key | Why added | Passage that motivates it |")
    add("|---|---|---|---|---|---|")
    for item in instrument.items:
        if item.addition:
            key = "-" if item.keyed < 0 else "+"
            add(
                f"| `{item.id}` | `{item.scale}` | {_cell(item.text['en'])} | {key} "
                f"| {_cell(item.addition)} | “{_cell(item.source['passage'])}” |"
            )
    add("")
    meaning = instrument.scale("meaning")
    add(f"## {meaning.label['en']} (`meaning`, discriminant scale)\n")
    add("| Item | Text (en) | Key | Passage (respondent) |")
    add("|---|---|---|---|")
    for item_id in instrument.scale_items("meaning"):
        item = instrument.item(item_id)
        key = "-" if item.keyed < 0 else "+"
        add(
            f"| `{item.id}` | {_cell(item.text['en'])} | {key} "
            f"| “{_cell(item.source['passage'])}” ({_cell(item.source['respondent'])}) |"
        )
    add("")
    add("## Withdrawn ids (never reused)\n")
    add("| Id | Withdrawn in | Reason | Replaced by |")
    add("|---|---|---|---|")
    for w in instrument.withdrawn:
        replaced = ", ".join(f"`{r}`" for r in w.replaced_by) or "—"
        add(f"| `{w.id}` | {w.version} | {_cell(w.reason)} | {replaced} |")
    add("")
    add("## Background questions\n")
    add(
        "Questions placed before the items decide which items are shown. The baseline module in "
        "the style of PAL's measures is written for this instrument; the last column names what "
        "each question resembles (no wording copied).\n"
    )
    add("| Id | Type | Question (en) | Placement | Forms | Shown when | Sensitive | Resembles |")
    add("|---|---|---|---|---|---|---|---|")
    for q in instrument.background:
        shown = f"`{q.relevant.question}` in {list(q.relevant.values)}" if q.relevant else "always"
        forms = ", ".join(q.forms) or "all"
        add(
            f"| `{q.id}` | {q.type} | {_cell(q.label['en'])} | {q.placement.replace('_', ' ')} "
            f"| {forms} | {shown} | {'yes' if q.sensitive else ''} | {_cell(q.resembles)} |"
        )
    add("")
    add("## Languages and translation status\n")
    for lang in instrument.languages:
        status = lang.status or ("source language" if lang.default else "no status recorded")
        add(f"- `{lang.code}` {lang.name}: {status}")
    add("")
    add("## Norwegian (nb) wording, for bilingual reviewers\n")
    add("| Item | Text (en) | Text (nb) |")
    add("|---|---|---|")
    for item in instrument.items:
        add(f"| `{item.id}` | {_cell(item.text['en'])} | {_cell(item.text['nb'])} |")
    add("")
    return "\n".join(out)


def _generated_block(text: str) -> str:
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise AssertionError(f"{DOC}: generated-section markers not found")
    return text[start + len(BEGIN) : end].strip("\n")


def test_content_validity_doc_lists_every_item_and_withdrawn_id(v2):
    text = DOC.read_text(encoding="utf-8")
    assert "version 0.2.0" in text.splitlines()[0]
    for ident in v2.item_ids + tuple(w.id for w in v2.withdrawn):
        assert f"`{ident}`" in text, ident


def test_content_validity_doc_matches_bank(v2):
    text = DOC.read_text(encoding="utf-8")
    assert _generated_block(text) == render_tables(v2).strip("\n"), (
        "docs/content-validity.md is out of date; run: "
        ".venv/bin/python -m tests.test_mhdq_bank_v2 --write-doc"
    )


def write_doc() -> None:
    """Replace the generated part of docs/content-validity.md with tables from bank 0.2.0."""
    text = DOC.read_text(encoding="utf-8")
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{DOC}: add the lines {BEGIN} and {END} first")
    block = render_tables(load_instrument("mhdq-0.2.0"))
    DOC.write_text(
        text[: start + len(BEGIN)] + "\n\n" + block.strip("\n") + "\n\n" + text[end:],
        encoding="utf-8",
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-doc"]:
        write_doc()
    else:
        raise SystemExit("usage: python -m tests.test_mhdq_bank_v2 --write-doc")
