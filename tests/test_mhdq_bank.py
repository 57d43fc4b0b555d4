"""MHDQ item bank 0.1.0 (instrument/banks/mhdq.yaml), kept loadable so data collected with it can
still be checked and scored. Bank 0.2.0 and docs/content-validity.md: tests/test_mhdq_bank_v2.py.

The expected structure comes from the source study, not from the bank itself: Vederhus, Høie &
Birkeland (2020), *Addict Sci Clin Pract* 15:18, doi:10.1186/s13722-020-00191-w, Table 3 (codes,
preliminary themes and final themes of "Problematic issues related to TSG participation").

The constants below (Table 3 codes and themes, pseudonyms) are shared with the 0.2.0 tests.
"""

from __future__ import annotations

import re

import pytest

from instrument.spec import RESERVED_NAMES, VARIABLE_NAME, Instrument, load_instrument

# Final themes and their preliminary themes, as printed in Table 3 (apostrophes as printed).
FINAL_THEMES = {
    "The model doesn’t fit": ("Strategy doesn’t fit", "Explanatory model doesn’t fit"),
    "Negative experiences spurred frustration": (
        "Negative experiences in the social environment",
        "Perception of being a second-rate member",
    ),
    "The safe place can become a cage": (
        "Life ought to be more than NA",
        "Perceptions of being “stuck”",
    ),
}

# The 16 codes of Table 3 (the paper's non-breaking hyphen U+2011 written as "-"), each with the
# preliminary theme this bank assigns it to. Table 3 lists the codes of a final theme and then its
# two preliminary themes without pairing them; the assignment follows the order of the table and
# the section of the results text where each code is discussed (see docs/content-validity.md).
TABLE3_CODES = {
    "Difficulty with strategy, e.g., meeting format, sharing, step working": "Strategy doesn’t fit",
    "Double trouble (e.g., trauma and psychiatric co-morbidity) and the need for something more "
    "than or different from NA": "Strategy doesn’t fit",
    "Perceived negative focus (e.g., powerlessness, defects of character, demands of honesty to "
    "show willingness)": "Explanatory model doesn’t fit",
    "Everything is hinged on addiction": "Explanatory model doesn’t fit",
    "NA presented as the only solution to addiction": "Explanatory model doesn’t fit",
    "Negative experiences with sponsor": "Negative experiences in the social environment",
    "Anonymity breaches": "Negative experiences in the social environment",
    "Conformity pressure": "Negative experiences in the social environment",
    "Criticism is not welcomed": "Negative experiences in the social environment",
    "Seasoned members not living as they “teach”": "Negative experiences in the social environment",
    "Not able to live up to success criteria": "Perception of being a second-rate member",
    "Relapse and negative emotions": "Perception of being a second-rate member",
    "Natural course of disengagement": "Life ought to be more than NA",
    "Continued participation has no additional benefits": "Life ought to be more than NA",
    "Participation limits quality of life": "Perceptions of being “stuck”",
    "Ambivalence about breaking out": "Perceptions of being “stuck”",
}

# Bank scale ids for the final and preliminary themes, and the item-id prefix of each facet.
THEME_SCALES = {
    "model": "The model doesn’t fit",
    "frustration": "Negative experiences spurred frustration",
    "cage": "The safe place can become a cage",
}
FACET_SCALES = {
    "strategy": ("Strategy doesn’t fit", "mf_st"),
    "explanatory": ("Explanatory model doesn’t fit", "mf_ex"),
    "social": ("Negative experiences in the social environment", "ne_so"),
    "second_rate": ("Perception of being a second-rate member", "ne_sr"),
    "more_than": ("Life ought to be more than NA", "sc_lm"),
    "stuck": ("Perceptions of being “stuck”", "sc_st"),
}
PSEUDONYMS = {
    "Per",
    "Kari",
    "Hans",
    "Ann",
    "Håkon",
    "Celine",
    "Inge",
    "Oda",
    "John",
    "Arne",
    "text",
}
OTHER_GROUPS = ("SMART Recovery", "Alcoholics Anonymous", "Women for Sobriety", "LifeRing")


@pytest.fixture(scope="module")
def mhdq() -> Instrument:
    return load_instrument("mhdq-0.1.0")


def disengagement_items(instrument: Instrument):
    members = set(instrument.scale_items("total"))
    return [item for item in instrument.items if item.id in members]


# --------------------------------------------------------------------------------------------
# Structure
# --------------------------------------------------------------------------------------------
def test_metadata(mhdq):
    assert mhdq.metadata.short_name == "MHDQ"
    assert mhdq.metadata.version == "0.1.0"
    assert "10.1186/s13722-020-00191-w" in mhdq.metadata.citation
    assert "Vederhus" in mhdq.metadata.citation
    assert mhdq.metadata.licence
    assert set(mhdq.metadata.description) == {"en", "nb"}
    assert set(mhdq.instructions) == {"en", "nb"}
    assert "Think about your time in {group}" in mhdq.instructions["en"]


def test_hierarchy_total_three_themes_six_facets(mhdq):
    assert {s.id for s in mhdq.root_scales} == {"total", "meaning"}
    assert mhdq.scale("total").level == "total"
    themes = mhdq.children("total")
    assert {t.id for t in themes} == set(THEME_SCALES)
    assert all(t.level == "theme" and mhdq.depth(t.id) == 1 for t in themes)
    facets = [f for t in themes for f in mhdq.children(t.id)]
    assert all(len(mhdq.children(t.id)) == 2 for t in themes)
    assert {f.id for f in facets} == set(FACET_SCALES)
    assert all(f.level == "facet" and mhdq.depth(f.id) == 2 for f in facets)
    leaves = {s.id for s in mhdq.leaf_scales}
    assert leaves == set(FACET_SCALES) | {"meaning"}
    # the preliminary themes pair with their final theme as in Table 3
    for theme_id, final in THEME_SCALES.items():
        prelim = {FACET_SCALES[f.id][0] for f in mhdq.children(theme_id)}
        assert prelim == set(FINAL_THEMES[final])


def test_every_scale_has_labels_and_definitions_in_both_languages(mhdq):
    for scale in mhdq.scales:
        for lang in ("en", "nb"):
            assert scale.label.get(lang, "").strip(), (scale.id, lang)
            assert scale.definition.get(lang, "").strip(), (scale.id, lang)


def test_scoring_rules(mhdq):
    for scale in mhdq.scales:
        assert scale.scoring.method == "mean"
        assert scale.scoring.min_answered == 0.5
        assert scale.scoring.not_applicable == "exclude"


def test_five_to_seven_items_per_facet(mhdq):
    counts = {facet: len(mhdq.scale_items(facet)) for facet in FACET_SCALES}
    assert all(5 <= n <= 7 for n in counts.values()), counts
    assert 30 <= len(mhdq.scale_items("total")) <= 42
    assert len(mhdq.scale_items("total")) == sum(counts.values())


def test_reverse_keyed_item_in_every_facet(mhdq):
    for facet in FACET_SCALES:
        keys = [mhdq.item(i).keyed for i in mhdq.scale_items(facet)]
        assert -1 in keys, facet
        assert keys.count(1) > keys.count(-1), facet


def test_reverse_keyed_items_are_worded_positively(mhdq):
    # a reverse-keyed item that also carries a negation becomes a double negative
    negation = re.compile(r"\b(not|no|never|nothing|none|nobody)\b|n't|n’t", re.IGNORECASE)
    for item_id in mhdq.reverse_keyed():
        assert not negation.search(mhdq.item(item_id).text["en"]), item_id


def test_item_ids_unique_valid_and_prefixed_by_facet(mhdq):
    ids = mhdq.item_ids + mhdq.background_ids
    assert len({i.lower() for i in ids}) == len(ids)
    for ident in ids:
        assert VARIABLE_NAME.match(ident) and not ident.endswith("_"), ident
        assert ident.lower() not in RESERVED_NAMES, ident
    for facet, (_, prefix) in FACET_SCALES.items():
        assert all(re.fullmatch(prefix + r"\d", i) for i in mhdq.scale_items(facet)), facet
    assert all(re.fullmatch(r"mn\d", i) for i in mhdq.scale_items("meaning"))


# --------------------------------------------------------------------------------------------
# Content: Table 3 coverage and provenance
# --------------------------------------------------------------------------------------------
def test_table3_has_sixteen_codes_over_six_preliminary_themes():
    assert len(TABLE3_CODES) == 16
    assert set(TABLE3_CODES.values()) == {p for pair in FINAL_THEMES.values() for p in pair}


def test_every_table3_code_has_an_item(mhdq):
    covered = {item.source.get("code") for item in disengagement_items(mhdq)}
    missing = [code for code in TABLE3_CODES if code not in covered]
    assert not missing, missing


def test_item_sources_match_table3_and_facet(mhdq):
    for item in disengagement_items(mhdq):
        src = item.source
        assert src["code"] in TABLE3_CODES, (item.id, src["code"])
        prelim, _ = FACET_SCALES[item.scale]
        assert src["preliminary_theme"] == prelim == TABLE3_CODES[src["code"]], item.id
        theme = mhdq.scale(item.scale).parent
        assert src["theme"] == THEME_SCALES[theme], item.id
        assert src["passage"].strip(), item.id
        assert src["respondent"] in PSEUDONYMS, item.id


def test_meaning_scale_is_positive_and_separate(mhdq):
    meaning = mhdq.scale("meaning")
    assert meaning.parent is None
    items = mhdq.scale_items("meaning")
    assert 4 <= len(items) <= 6
    assert all(mhdq.item(i).keyed == 1 for i in items)
    assert not set(items) & set(mhdq.scale_items("total"))
    for i in items:
        assert mhdq.item(i).source["respondent"] in PSEUDONYMS
        assert mhdq.item(i).source["passage"].strip()


# --------------------------------------------------------------------------------------------
# Wording, languages and the {group} parameter
# --------------------------------------------------------------------------------------------
def test_every_item_has_english_and_norwegian_text(mhdq):
    for item in mhdq.items:
        assert item.text.get("en", "").strip(), item.id
        assert item.text.get("nb", "").strip(), item.id
        assert item.text["en"] != item.text["nb"], item.id


def test_norwegian_is_marked_as_forward_translation(mhdq):
    langs = {lang.code: lang for lang in mhdq.languages}
    assert set(langs) == {"en", "nb"}
    assert mhdq.default_language == "en"
    assert "forward translation" in langs["nb"].status
    assert "back-translation" in langs["nb"].status


@pytest.mark.parametrize("group", OTHER_GROUPS)
def test_group_is_substituted_in_every_text(mhdq, group):
    for lang in ("en", "nb"):
        for item in mhdq.items:
            text = mhdq.item_text(item.id, lang, group=group)
            assert "{" not in text and "}" not in text, (item.id, lang)
            if "{group}" in item.text[lang]:
                assert group in text, (item.id, lang)
        for q in mhdq.background:
            assert "{" not in mhdq.render(q.label, lang, group=group), (q.id, lang)
        assert group in mhdq.render(mhdq.instructions, lang, group=group)


def test_default_group_names(mhdq):
    assert "Narcotics Anonymous" in mhdq.item_text("mf_st1")
    assert "Anonyme Narkomane (NA)" in mhdq.item_text("mf_st1", "nb")
    # the group's name is in the instructions, so items may also omit it
    assert sum("{group}" in item.text["en"] for item in mhdq.items) >= 0.8 * len(mhdq.items)


def test_wording_fits_groups_without_steps_or_sponsors(mhdq):
    for item in mhdq.items:
        en = item.text["en"].lower()
        if re.search(r"\bsteps?\b", en):
            assert "steps or program" in en, item.id
        if "sponsor" in en:
            assert "sponsor or mentor" in en, item.id
        # NA jargon for abstinence that other groups do not use
        assert not re.search(r"\bclean\b|\bnewcomer|\bhigher power\b", en), item.id
        assert "NA" not in item.text["en"].replace("{group}", ""), item.id


def test_items_are_short_first_person_statements(mhdq):
    for item in mhdq.items:
        words = item.text["en"].split()
        assert len(words) <= 22, item.id
        assert re.search(r"\b(I|me|my|myself)\b", item.text["en"]), item.id
        assert item.text["en"].endswith("."), item.id


def test_one_agree_scale_with_not_applicable_code(mhdq):
    assert list(mhdq.response_scales) == ["agree5"]
    scale = mhdq.response_scales["agree5"]
    assert scale.codes == (1, 2, 3, 4, 5)
    assert scale.not_applicable == 9
    assert set(scale.not_applicable_label) == {"en", "nb"}
    assert (
        scale.labels["en"][0] == "Strongly disagree" and scale.labels["en"][-1] == "Strongly agree"
    )


# --------------------------------------------------------------------------------------------
# Background module
# --------------------------------------------------------------------------------------------
def test_background_questions(mhdq):
    q = {b.id: b for b in mhdq.background}
    assert {
        "age",
        "gender",
        "use_years",
        "attend_months",
        "meetings_life",
        "sponsor_ever",
        "sponsor_now",
        "steps_worked",
        "other_groups",
        "mental_health",
        "trauma",
        "status",
        "last_meeting",
        "recovery_months",
    } <= set(q)
    assert q["age"].type == "integer" and q["age"].minimum is not None
    assert q["meetings_life"].type == "single_choice" and len(q["meetings_life"].choices) == 5
    assert q["sponsor_now"].relevant.question == "sponsor_ever"
    assert q["sponsor_now"].relevant.values == (1,)
    assert (q["steps_worked"].minimum, q["steps_worked"].maximum) == (0, 12)
    assert q["other_groups"].type == "multiple_choice"
    labels = {c.label["en"] for c in q["other_groups"].choices}
    assert {"SMART Recovery", "Women for Sobriety", "LifeRing", "None"} <= labels
    assert q["last_meeting"].type == "year_month"
    assert q["last_meeting"].relevant.question == "status"
    stopped = [c.code for c in q["status"].choices if "stopped" in c.label["en"]]
    assert q["last_meeting"].relevant.values == tuple(stopped)
    for b in mhdq.background:
        assert set(b.label) == {"en", "nb"}, b.id
        for c in b.choices:
            assert set(c.label) == {"en", "nb"}, (b.id, c.code)


def test_sensitive_questions_are_flagged_and_optional(mhdq):
    q = {b.id: b for b in mhdq.background}
    for qid in ("mental_health", "trauma"):
        assert q[qid].sensitive and not q[qid].required, qid
        assert any(c.label["en"] == "Prefer not to say" for c in q[qid].choices)
    assert not q["age"].sensitive
