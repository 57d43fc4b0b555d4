"""The instrument specification: loading, validation with every problem listed, bfi example."""

import pytest
import yaml

from instrument.errors import SpecError
from instrument.spec import load_instrument

BFI_REVERSED = {"A1", "C4", "C5", "E1", "E2", "O2", "O5"}  # psych's bfi.keys


def minimal(**changes):
    spec = {
        "format": 1,
        "metadata": {"name": "Tiny", "short_name": "T", "version": "1"},
        "languages": [{"code": "en", "name": "English", "default": True}],
        "parameters": {"group": {"default": {"en": "the group"}}},
        "response_scales": {
            "a5": {
                "points": 5,
                "codes": [1, 2, 3, 4, 5],
                "labels": {"en": list("abcde")},
                "not_applicable": {"code": 9, "label": {"en": "n/a"}},
                "missing_codes": [-9],
            }
        },
        "scales": [
            {"id": "total", "label": {"en": "Total"}},
            {"id": "f1", "label": {"en": "F1"}, "parent": "total"},
            {"id": "f2", "label": {"en": "F2"}, "parent": "total"},
        ],
        "items": [
            {"id": "q1", "text": {"en": "I like {group}."}, "scale": "f1", "keyed": "+"},
            {"id": "q2", "text": {"en": "Two"}, "scale": "f1", "keyed": "-"},
            {"id": "q3", "text": {"en": "Three"}, "scale": "f2"},
        ],
    }
    spec.update(changes)
    return spec


def test_bfi_example_describes_psych_bfi():
    bfi = load_instrument("examples/bfi.yaml")
    assert len(bfi.items) == 25
    assert set(bfi.reverse_keyed()) == BFI_REVERSED
    assert [s.id for s in bfi.scales] == [
        "agree",
        "conscientious",
        "extraversion",
        "neuroticism",
        "openness",
    ]
    rs = bfi.response_scale_of("A1")
    assert rs.codes == (1, 2, 3, 4, 5, 6)
    keys = bfi.keys()
    assert keys.loc["C4", "conscientious"] == -1 and keys.loc["N3", "neuroticism"] == 1
    assert keys.loc["N3", "agree"] == 0


def test_hierarchy_and_text_parameters():
    spec = load_instrument(minimal())
    assert spec.scale_items("total") == ("q1", "q2", "q3")
    assert spec.scale_items("f1") == ("q1", "q2")
    assert [s.id for s in spec.leaf_scales] == ["f1", "f2"] and spec.depth("f2") == 1
    assert spec.item_text("q1") == "I like the group."
    assert spec.item_text("q1", group="SMART Recovery") == "I like SMART Recovery."
    assert spec.response_scale_of("q1").allowed_codes() == (1, 2, 3, 4, 5, 9, -9)
    with pytest.raises(ValueError, match="unknown language 'de'.*allowed: en"):
        spec.item_text("q1", "de")


def test_every_problem_is_listed_with_its_path():
    bad = minimal()
    bad["items"][1]["keyed"] = "backwards"
    bad["items"][2]["id"] = "3rd item"
    bad["items"][0]["scale"] = "total"  # not a leaf
    bad["scales"][2]["scoring"] = {"method": "median", "min_answered": 1.5}
    bad["response_scales"]["a5"]["codes"] = [1, 2, 3]
    with pytest.raises(SpecError) as caught:
        load_instrument(bad)
    paths = {p.path for p in caught.value.problems}
    assert {
        "items[1].keyed",
        "items[2].id",
        "items[0].scale",
        "scales[2].scoring.method",
        "scales[2].scoring.min_answered",
        "response_scales.a5.codes",
    } <= paths
    message = str(caught.value)
    assert (
        "items[1].keyed (q2): allowed: '+' (positively keyed) or '-' (reverse keyed) (got 'backwards')"
        in message
    )


def test_reserved_and_duplicate_ids_and_unknown_fields():
    bad = minimal()
    bad["items"][1]["id"] = "if"
    bad["items"][2]["id"] = "Q1"
    bad["items"][0]["colour"] = "red"
    with pytest.raises(SpecError) as caught:
        load_instrument(bad)
    text = str(caught.value)
    assert (
        "reserved word" in text
        and "duplicate id" in text
        and "items[0].colour (q1): unknown field" in text
    )


def test_languages_need_one_default_and_complete_translations():
    bad = minimal(languages=[{"code": "en", "name": "English"}, {"code": "nb", "name": "Norsk"}])
    with pytest.raises(SpecError) as caught:
        load_instrument(bad)
    text = str(caught.value)
    assert "exactly one language must be marked default" in text
    assert "items[0].text.nb (q1): missing translation" in text


def test_background_questions_are_validated():
    bad = minimal(
        background=[
            {"id": "age", "type": "integer", "label": {"en": "Age"}, "range": [120, 16]},
            {
                "id": "status",
                "type": "single_choice",
                "label": {"en": "Status"},
                "choices": [
                    {"code": 1, "label": {"en": "attending"}},
                    {"code": 1, "label": {"en": "stopped"}},
                ],
            },
            {
                "id": "last",
                "type": "year_month",
                "label": {"en": "Last"},
                "relevant": {"question": "status", "values": [3]},
            },
            {"id": "mood", "type": "slider", "label": {"en": "Mood"}, "sensitive": "yes"},
        ]
    )
    with pytest.raises(SpecError) as caught:
        load_instrument(bad)
    paths = {p.path for p in caught.value.problems}
    assert {
        "background[0].range",
        "background[1].choices",
        "background[2].relevant.values",
        "background[3].type",
        "background[3].sensitive",
    } <= paths


def test_file_level_errors_name_the_file(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("metadata: [unclosed\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"(?s)broken\.yaml.*<yaml>: not valid YAML.*line 2"):
        load_instrument(broken)
    with pytest.raises(SpecError, match="file not found"):
        load_instrument(tmp_path / "missing.yaml")
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(SpecError, match="must hold a mapping"):
        load_instrument(listing)


def test_round_trip_through_yaml_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(minimal(), allow_unicode=True), encoding="utf-8")
    spec = load_instrument(path)
    assert spec.source == str(path) and spec.fingerprint == load_instrument(minimal()).fingerprint


def test_embedded_default_loads():
    spec = load_instrument()
    assert spec.metadata.short_name == "MHDQ"
    assert set(spec.language_codes) == {"en", "nb"} and spec.default_language == "en"
