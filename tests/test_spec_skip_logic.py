"""Specification fields added for item bank 0.2.0: group kinds and ``applies_to``, item skip
logic (``relevant``), question placement, wave forms, consent text, attention checks, item
order and withdrawn ids. Each field is checked both ways: a valid use loads, a wrong one is a
SpecError naming the field path."""

from __future__ import annotations

import copy

import pytest

from instrument.errors import SpecError
from instrument.spec import Condition, load_instrument

BASE = {
    "metadata": {"name": "Skip test", "short_name": "SKIP", "version": "1.0"},
    "languages": [{"code": "en", "name": "English", "default": True}],
    "parameters": {
        "group": {"default": {"en": "the group"}},
        "recall": {"default": {"en": "3 months"}},
    },
    "order": "interleaved",
    "response_scales": {"agree": {"points": 3, "labels": {"en": ["No", "Maybe", "Yes"]}}},
    "scales": [
        {"id": "total", "label": {"en": "Total"}},
        {"id": "a", "parent": "total", "label": {"en": "A"}},
        {"id": "b", "parent": "total", "label": {"en": "B"}},
    ],
    "group_kinds": {"question": "kind", "kinds": {"twelve_step": 1, "other": 2}},
    "wave_forms": {
        "question": "wave",
        "forms": {
            "baseline": {"code": 1, "label": {"en": "Baseline"}},
            "followup": {
                "code": 2,
                "recall": True,
                "label": {"en": "Follow-up"},
                "instructions": {"en": "Think about the past {recall}."},
                "stem": {"en": "In the past {recall}:"},
            },
        },
    },
    "consent": {"start": {"en": "Voluntary."}, "end": {"en": "Thank you."}},
    "items": [
        {"id": "a1", "scale": "a", "text": {"en": "A one."}},
        {
            "id": "a2",
            "scale": "a",
            "text": {"en": "A two."},
            "applies_to": ["twelve_step"],
            "relevant": {"question": "sponsor", "values": [1]},
        },
        {
            "id": "b1",
            "scale": "b",
            "keyed": "-",
            "text": {"en": "B one."},
            "wave_text": {"followup": {"en": "B one lately."}},
        },
        {"id": "b2", "scale": "b", "text": {"en": "B two."}, "addition": "beyond the source"},
    ],
    "background": [
        {
            "id": "wave",
            "type": "single_choice",
            "placement": "before_items",
            "label": {"en": "Form"},
            "choices": [{"code": 1, "label": {"en": "B"}}, {"code": 2, "label": {"en": "F"}}],
        },
        {
            "id": "kind",
            "type": "single_choice",
            "placement": "before_items",
            "label": {"en": "Kind"},
            "choices": [{"code": 1, "label": {"en": "12"}}, {"code": 2, "label": {"en": "O"}}],
        },
        {
            "id": "sponsor",
            "type": "single_choice",
            "placement": "before_items",
            "label": {"en": "Sponsor?"},
            "choices": [{"code": 1, "label": {"en": "Yes"}}, {"code": 0, "label": {"en": "No"}}],
        },
        {
            "id": "check",
            "type": "single_choice",
            "expected": 2,
            "label": {"en": "Choose 2"},
            "choices": [{"code": 1, "label": {"en": "1"}}, {"code": 2, "label": {"en": "2"}}],
        },
        {"id": "age", "type": "integer", "forms": ["baseline"], "label": {"en": "Age"}},
    ],
    "withdrawn": [{"id": "a0", "reason": "double-barrelled", "replaced_by": ["a1"]}],
}


def spec(**changes):
    data = copy.deepcopy(BASE)
    data.update(changes)
    return data


def problems(data) -> str:
    with pytest.raises(SpecError) as info:
        load_instrument(data)
    return str(info.value)


def test_valid_spec_loads_every_new_field():
    inst = load_instrument(spec())
    assert inst.order == "interleaved"
    assert inst.item_conditions("a1") == ()
    assert inst.item_conditions("a2") == (Condition("kind", (1,)), Condition("sponsor", (1,)))
    assert inst.item("b2").addition == "beyond the source"
    assert inst.wave_question == "wave" and inst.wave_forms["followup"].code == 2
    assert inst.item_text("b1", form="followup") == "B one lately."
    assert inst.item_text("b1", form="baseline") == "B one."
    assert inst.render(inst.instructions_for("followup"), recall="6 weeks") == (
        "Think about the past 6 weeks."
    )
    assert inst.background_question("age").shown_in("followup") is False
    assert inst.background_question("age").shown_in("baseline") is True
    assert [q.id for q in inst.attention_checks] == ["check"]
    assert inst.consent["end"]["en"] == "Thank you."
    assert inst.withdrawn[0].replaced_by == ("a1",)


def test_unknown_group_kind():
    data = spec()
    data["items"][1]["applies_to"] = ["smart"]
    assert "items[1].applies_to" in problems(data)


def test_applies_to_needs_group_kinds():
    data = spec()
    del data["group_kinds"]
    assert "declare group_kinds" in problems(data)


def test_skip_logic_question_must_come_before_the_items():
    data = spec()
    data["background"][2]["placement"] = "after_items"
    text = problems(data)
    assert "items[1].relevant.question" in text and "before_items" in text


def test_skip_logic_values_must_be_choice_codes():
    data = spec()
    data["items"][1]["relevant"] = {"question": "sponsor", "values": [7]}
    assert "items[1].relevant.values" in problems(data)


def test_unknown_wave_form_in_wave_text_and_forms():
    data = spec()
    data["items"][2]["wave_text"] = {"week4": {"en": "x"}}
    data["background"][4]["forms"] = ["week4"]
    text = problems(data)
    assert "items[2].wave_text.week4" in text and "background[4].forms" in text
    with pytest.raises(ValueError, match="allowed: baseline, followup"):
        load_instrument(spec()).check_form("week4")


def test_recall_form_needs_recall_parameter():
    data = spec()
    del data["parameters"]["recall"]
    text = problems(data)
    assert "wave_forms.forms.followup.recall" in text


def test_attention_check_expected_must_be_a_choice():
    data = spec()
    data["background"][3]["expected"] = 5
    assert "background[3].expected" in problems(data)


def test_bad_order_and_placement():
    data = spec(order="random")
    data["background"][0]["placement"] = "middle"
    text = problems(data)
    assert "order" in text and "background[0].placement" in text


def test_withdrawn_id_may_not_be_reused():
    data = spec()
    data["withdrawn"] = [{"id": "a1", "reason": "reworded"}]
    assert "withdrawn[0].id" in problems(data)


def test_embedded_versions():
    assert load_instrument("mhdq-0.1.0").version == "0.1.0"
    assert load_instrument("mhdq-0.2.0").version == "0.2.0"
