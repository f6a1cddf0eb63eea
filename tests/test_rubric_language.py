"""The rubric language (pure): judgment schemas, form parsing, orientation, validation, hashing."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json

import jsonschema
import pytest
import yaml

from workbench.errors import JudgmentInvalid, RubricInvalid
from workbench.paths import resource_dir
from workbench.rubric import (
    answers_from_form,
    canonical_json,
    content_sha256,
    judgment_schema,
    load_rubric_file,
    parse_rubric,
    to_canonical,
    to_screen,
    validate_judgment,
)

ALL_TYPES = {
    "slug": "all-types",
    "title": "Every question type",
    "version": 3,
    "task_kind": "pairwise",
    "guidelines": "Read both responses.",
    "questions": [
        {
            "id": "helpful",
            "type": "pairwise",
            "prompt": "More helpful?",
            "strength": {"max": 3, "labels": {"1": "slightly"}},
        },
        {"id": "strict", "type": "pairwise", "prompt": "Better, no tie?", "allow_tie": False},
        {"id": "fluency", "type": "likert", "prompt": "Fluency of each", "min": 1, "max": 5, "per_response": True},
        {
            "id": "overall",
            "type": "likert",
            "prompt": "Overall",
            "min": 0,
            "max": 10,
            "anchors": {"0": "bad", "10": "good"},
        },
        {
            "id": "topic",
            "type": "categorical",
            "prompt": "Topic?",
            "options": [{"value": "code", "label": "Code"}, {"value": "other", "label": "Other"}],
        },
        {
            "id": "flags",
            "type": "categorical",
            "prompt": "Problems?",
            "multiple": True,
            "required": False,
            "options": [{"value": "rude", "label": "Rude"}, {"value": "wrong", "label": "Wrong"}],
        },
        {"id": "safe", "type": "binary", "prompt": "Safe?", "labels": {"true": "yes", "false": "no"}},
        {
            "id": "why_tie",
            "type": "text",
            "prompt": "Why a tie?",
            "min_length": 5,
            "max_length": 50,
            "required_when": {"question": "helpful", "equals": "tie"},
        },
        {
            "id": "topic_other",
            "type": "text",
            "prompt": "Which topic?",
            "required_when": {"question": "topic", "equals": "other"},
        },
        {
            "id": "unsafe_why",
            "type": "text",
            "prompt": "Why unsafe?",
            "required_when": {"question": "safe", "equals": False},
        },
        {"id": "note", "type": "text", "prompt": "Anything else?", "required": False},
    ],
}

GOOD = {
    "helpful": {"choice": "A", "strength": 2},
    "strict": {"choice": "B"},
    "fluency": {"A": 1, "B": 5},
    "overall": 7,
    "topic": "code",
    "safe": True,
}


def problems(answers, document=ALL_TYPES) -> list[tuple[str, str]]:
    try:
        validate_judgment(document, answers)
    except JudgmentInvalid as exc:
        assert exc.errors, "JudgmentInvalid without errors"
        return [(e.location, e.message) for e in exc.errors]
    return []


def where(answers, document=ALL_TYPES) -> set[str]:
    return {location for location, _ in problems(answers, document)}


def shipped(slug: str) -> dict:
    return yaml.safe_load((resource_dir("rubrics") / f"{slug}.yaml").read_text(encoding="utf-8"))


# -- judgment schemas ---------------------------------------------------------------------


def test_all_types_document_is_a_valid_rubric():
    assert parse_rubric(ALL_TYPES).slug == "all-types"


def test_judgment_schema_is_valid_json_schema_with_every_type():
    schema = judgment_schema(ALL_TYPES)
    jsonschema.Draft202012Validator.check_schema(schema)
    props = schema["properties"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["helpful", "strict", "fluency", "overall", "topic", "safe"]
    assert props["helpful"]["properties"]["choice"] == {"enum": ["A", "B", "tie"]}
    assert props["helpful"]["properties"]["strength"] == {"type": "integer", "minimum": 1, "maximum": 3}
    assert props["strict"]["properties"]["choice"] == {"enum": ["A", "B"]}
    assert "strength" not in props["strict"]["properties"]
    assert props["fluency"]["required"] == ["A", "B"]
    assert props["fluency"]["properties"]["A"] == {"type": "integer", "minimum": 1, "maximum": 5}
    assert props["overall"] == {"type": "integer", "minimum": 0, "maximum": 10}
    assert props["topic"] == {"enum": ["code", "other"]}
    assert props["flags"] == {"type": "array", "items": {"enum": ["rude", "wrong"]}, "uniqueItems": True, "minItems": 1}
    assert props["safe"] == {"type": "boolean"}
    assert props["why_tie"] == {"type": "string", "minLength": 5, "maxLength": 50}
    assert props["note"] == {"type": "string"}
    assert len(schema["allOf"]) == 3  # one condition per required_when


def test_valid_answers_pass():
    assert problems(GOOD) == []
    assert problems({**GOOD, "flags": ["rude", "wrong"], "note": "fine"}) == []
    assert problems({**GOOD, "overall": 0}) == [] and problems({**GOOD, "overall": 10}) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"helpful": {"choice": "C", "strength": 1}}, {"/helpful/choice"}),
        ({"helpful": {"choice": "A"}}, {"/helpful/strength"}),
        ({"helpful": {"choice": "A", "strength": 4}}, {"/helpful/strength"}),
        ({"helpful": {"choice": "A", "strength": 0}}, {"/helpful/strength"}),
        ({"helpful": {"choice": "tie", "strength": 1}, "why_tie": "no idea"}, {"/helpful/strength"}),
        ({"helpful": {"choice": "A", "strength": 1, "why": "x"}}, {"/helpful"}),
        ({"strict": {"choice": "tie"}}, {"/strict/choice"}),
        ({"strict": {"choice": "A", "strength": 2}}, {"/strict"}),
        ({"fluency": {"A": 3}}, {"/fluency/B"}),
        ({"fluency": {"A": 0, "B": 6}}, {"/fluency/A", "/fluency/B"}),
        ({"fluency": {"A": 3, "B": 3, "C": 3}}, {"/fluency"}),
        ({"fluency": 3}, {"/fluency"}),
        ({"overall": 11}, {"/overall"}),
        ({"overall": -1}, {"/overall"}),
        ({"overall": "7"}, {"/overall"}),
        ({"overall": 6.5}, {"/overall"}),
        ({"overall": True}, {"/overall"}),
        ({"topic": "cooking"}, {"/topic"}),
        ({"flags": []}, {"/flags"}),
        ({"flags": ["rude", "rude"]}, {"/flags"}),
        ({"flags": ["late"]}, {"/flags/0"}),
        ({"flags": "rude"}, {"/flags"}),
        ({"safe": "yes"}, {"/safe"}),
        ({"safe": 1}, {"/safe"}),
        ({"note": 5}, {"/note"}),
        ({"surprise": 1}, {"/"}),
    ],
)
def test_invalid_answers_are_located(change, expected):
    assert where({**GOOD, **change}) == expected


def test_missing_answers_are_reported_per_question():
    found = problems({})
    assert [loc for loc, _ in found] == ["/helpful", "/strict", "/fluency", "/overall", "/topic", "/safe"]
    assert all(message.endswith("is required") for _, message in found)
    without_topic = {k: v for k, v in GOOD.items() if k != "topic"}
    assert problems(without_topic) == [("/topic", "topic is required")]


def test_not_an_object():
    assert where(["A"]) == {"/"}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("A", "/helpful"), (None, "/helpful"), ({"strength": 2}, "/helpful/choice")],
    ids=["string", "null", "strength-without-choice"],
)
def test_malformed_pairwise_answer_reports_only_the_real_problem(answer, expected):
    assert where({**GOOD, "helpful": answer}) == {expected}


@pytest.mark.parametrize(
    ("change", "needed"),
    [
        ({"helpful": {"choice": "tie"}}, "/why_tie"),  # pairwise: on the choice
        ({"topic": "other"}, "/topic_other"),  # categorical
        ({"safe": False}, "/unsafe_why"),  # binary
    ],
)
def test_required_when(change, needed):
    answers = {**GOOD, **change}
    [(location, message)] = problems(answers)
    assert location == needed and message.startswith(f"{needed[1:]} is required when ")
    answer = {"/why_tie": "They are equal.", "/topic_other": "poetry", "/unsafe_why": "dangerous advice"}[needed]
    assert problems({**answers, needed[1:]: answer}) == []


def test_required_when_is_not_triggered_by_other_values():
    assert problems({**GOOD, "helpful": {"choice": "B", "strength": 1}}) == []
    assert problems({**GOOD, "safe": True}) == []


def test_required_when_text_still_checks_its_length():
    answers = {**GOOD, "helpful": {"choice": "tie"}, "why_tie": "meh"}
    assert where(answers) == {"/why_tie"}
    assert where({**answers, "why_tie": "x" * 51}) == {"/why_tie"}
    # Given when not required, it is still checked.
    assert where({**GOOD, "why_tie": "meh"}) == {"/why_tie"}


def test_validation_with_a_cached_validator_gives_the_same_answer():
    sha = content_sha256(ALL_TYPES)
    with pytest.raises(JudgmentInvalid) as info:
        validate_judgment(ALL_TYPES, {**GOOD, "overall": 99}, sha)
    assert [e.location for e in info.value.errors] == ["/overall"]
    validate_judgment(ALL_TYPES, GOOD, sha)


def test_shipped_rubrics_have_judgment_schemas():
    pairwise = shipped("pairwise-helpful-harmless")
    assert judgment_schema(pairwise)["required"] == ["helpful", "harmless"]
    assert problems({"helpful": {"choice": "A", "strength": 2}, "harmless": {"choice": "tie"}}, pairwise) == []
    single = shipped("response-quality")
    assert problems({"accuracy": 1, "coherence": 7, "coverage": 4, "overall": 5}, single) == []
    assert where({"accuracy": 8, "coherence": 0, "coverage": 4}, single) == {"/accuracy", "/coherence", "/overall"}


# -- form parsing -------------------------------------------------------------------------


def test_answers_from_a_complete_form():
    form = {
        "q.helpful.choice": ["B"],
        "q.helpful.strength": ["3"],
        "q.strict.choice": ["A"],
        "q.fluency.A": ["4"],
        "q.fluency.B": ["2"],
        "q.overall": ["10"],
        "q.topic": ["other"],
        "q.flags": ["rude", "wrong"],
        "q.safe": ["false"],
        "q.topic_other": ["  poetry  "],
        "q.unsafe_why": ["bad advice"],
        "csrf_token": ["xyz"],
    }
    answers = answers_from_form(ALL_TYPES, form)
    assert answers == {
        "helpful": {"choice": "B", "strength": 3},
        "strict": {"choice": "A"},
        "fluency": {"A": 4, "B": 2},
        "overall": 10,
        "topic": "other",
        "flags": ["rude", "wrong"],
        "safe": False,
        "topic_other": "poetry",
        "unsafe_why": "bad advice",
    }
    assert problems(answers) == []


def test_blank_fields_are_left_out_and_reported_missing():
    form = {
        "q.helpful.choice": [""],
        "q.helpful.strength": ["2"],
        "q.strict.choice": [],
        "q.fluency.A": [""],
        "q.fluency.B": [""],
        "q.overall": [""],
        "q.topic": [""],
        "q.flags": ["", ""],
        "q.safe": [""],
        "q.note": ["   \n "],
    }
    assert answers_from_form(ALL_TYPES, form) == {}
    assert where(answers_from_form(ALL_TYPES, form)) == {
        "/helpful",
        "/strict",
        "/fluency",
        "/overall",
        "/topic",
        "/safe",
    }


def test_garbage_values_are_kept_so_validation_reports_their_type():
    form = {
        "q.helpful.choice": ["left"],
        "q.helpful.strength": ["very"],
        "q.strict.choice": ["A"],
        "q.fluency.A": ["3"],
        "q.fluency.B": ["x"],
        "q.overall": ["7.5"],
        "q.topic": ["cooking"],
        "q.flags": ["rude", "late"],
        "q.safe": ["yes"],
    }
    answers = answers_from_form(ALL_TYPES, form)
    assert answers == {
        "helpful": {"choice": "left", "strength": "very"},
        "strict": {"choice": "A"},
        "fluency": {"A": 3, "B": "x"},
        "overall": "7.5",
        "topic": "cooking",
        "flags": ["rude", "late"],
        "safe": "yes",
    }
    assert where(answers) == {
        "/helpful/choice",
        "/helpful/strength",
        "/fluency/B",
        "/overall",
        "/topic",
        "/flags/1",
        "/safe",
    }


def test_form_details():
    base = {
        "q.strict.choice": ["A"],
        "q.fluency.A": ["1"],
        "q.fluency.B": ["1"],
        "q.topic": ["code"],
        "q.safe": ["true"],
    }
    # A tie drops a strength left over from an earlier click.
    answers = answers_from_form(
        ALL_TYPES, {**base, "q.helpful.choice": ["tie"], "q.helpful.strength": ["3"], "q.overall": ["0"]}
    )
    assert answers["helpful"] == {"choice": "tie"}
    assert answers["overall"] == 0  # zero is a value, not a blank
    assert answers["safe"] is True
    # Only one side of a per-response scale given: kept, and reported as the missing side.
    answers = answers_from_form(ALL_TYPES, {**base, "q.fluency.B": [""]})
    assert answers["fluency"] == {"A": 1}
    assert "/fluency/B" in where(answers)
    # The first non-blank value of a repeated field wins.
    assert answers_from_form(ALL_TYPES, {**base, "q.overall": ["", "4", "9"]})["overall"] == 4
    # A strength without a choice is not an answer.
    assert "helpful" not in answers_from_form(ALL_TYPES, {**base, "q.helpful.strength": ["2"]})


# -- orientation --------------------------------------------------------------------------


SCREEN = {**GOOD, "helpful": {"choice": "A", "strength": 3}, "strict": {"choice": "B"}, "fluency": {"A": 5, "B": 2}}


def test_straight_order_changes_nothing():
    assert to_canonical(ALL_TYPES, SCREEN, [0, 1]) == SCREEN
    assert to_screen(ALL_TYPES, SCREEN, [0, 1]) == SCREEN
    assert to_canonical(shipped("response-quality"), {"overall": 3}, [0]) == {"overall": 3}


def test_swapped_order_flips_slots_only():
    canonical = to_canonical(ALL_TYPES, SCREEN, [1, 0])
    assert canonical["helpful"] == {"choice": "B", "strength": 3}
    assert canonical["strict"] == {"choice": "A"}
    assert canonical["fluency"] == {"A": 2, "B": 5}
    assert {k: canonical[k] for k in ("overall", "topic", "safe")} == {"overall": 7, "topic": "code", "safe": True}
    tie = {**SCREEN, "helpful": {"choice": "tie"}}
    assert to_canonical(ALL_TYPES, tie, [1, 0])["helpful"] == {"choice": "tie"}


def test_orientation_does_not_mutate_its_input():
    before = copy.deepcopy(SCREEN)
    to_canonical(ALL_TYPES, SCREEN, [1, 0])
    to_screen(ALL_TYPES, SCREEN, [1, 0])
    assert SCREEN == before


@pytest.mark.parametrize("order", [[0, 1], [1, 0]])
@pytest.mark.parametrize(
    ("helpful", "strict", "fluency"),
    list(
        itertools.product(
            [{"choice": "A", "strength": 1}, {"choice": "B", "strength": 3}, {"choice": "tie"}],
            [{"choice": "A"}, {"choice": "B"}],
            [{"A": 1, "B": 5}, {"A": 4, "B": 4}, {"B": 2}],
        )
    ),
)
def test_round_trip(order, helpful, strict, fluency):
    screen = {**GOOD, "helpful": helpful, "strict": strict, "fluency": fluency}
    canonical = to_canonical(ALL_TYPES, screen, order)
    assert to_screen(ALL_TYPES, canonical, order) == screen
    assert to_canonical(ALL_TYPES, to_screen(ALL_TYPES, screen, order), order) == screen
    if order == [1, 0] and helpful["choice"] != "tie":
        assert canonical["helpful"]["choice"] != helpful["choice"]


# -- rubric validation --------------------------------------------------------------------


def broken(edit) -> dict:
    doc = shipped("response-quality")
    edit(doc)
    return doc


def rubric_problems(doc) -> list[tuple[str, str]]:
    with pytest.raises(RubricInvalid) as info:
        parse_rubric(doc)
    assert info.value.errors
    return [(e.location, e.message) for e in info.value.errors]


def _set(path, value):
    def edit(doc):
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


BROKEN = [
    pytest.param(lambda d: d.pop("guidelines"), "/", '"guidelines" is a required property', id="missing-guidelines"),
    pytest.param(_set(["slug"], "Response Quality"), "/slug", "does not match", id="bad-slug"),
    pytest.param(_set(["task_kind"], "triple"), "/task_kind", "is not one of", id="bad-task-kind"),
    pytest.param(_set(["questions"], []), "/questions", "should be non-empty", id="no-questions"),
    pytest.param(_set(["questions", 2, "id"], "Bad-Id"), "/questions/2/id", "does not match", id="bad-question-id"),
    pytest.param(_set(["questions", 0, "type"], "slider"), "/questions/0/type", "is not one of", id="unknown-type"),
    pytest.param(
        _set(["questions", 0, "min"], "one"), "/questions/0/min", 'is not of type "integer"', id="min-not-int"
    ),
    pytest.param(
        _set(["questions", 1, "colour"], "red"), "/questions/1", '"colour" was unexpected', id="unknown-property"
    ),
    pytest.param(
        _set(["questions", 3, "anchors"], {"x": "bad"}), "/questions/3/anchors", "does not match", id="anchor-key"
    ),
    pytest.param(_set(["questions", 0, "level"], "ratio"), "/questions/0/level", "is not one of", id="bad-level"),
    pytest.param(
        _set(["questions", 0, "min"], 7), "/questions/0/max", "must be greater than min", id="min-not-below-max"
    ),
    pytest.param(
        _set(["questions", 1, "id"], "accuracy"), "/questions/1/id", "duplicate question id", id="duplicate-id"
    ),
    pytest.param(
        _set(["questions", 2, "anchors", "9"], "off"), "/questions/2/anchors/9", "outside 1..7", id="anchor-range"
    ),
    pytest.param(
        _set(["questions", 0, "per_response"], True),
        "/questions/0/per_response",
        "needs task_kind pairwise",
        id="per-response-single",
    ),
    pytest.param(
        _set(["task_kind"], "pairwise"), "/questions", "at least one pairwise question", id="pairwise-without-pairwise"
    ),
    pytest.param(
        lambda d: d["questions"].append({"id": "pick", "type": "pairwise", "prompt": "Which?"}),
        "/questions/4/type",
        "pairwise questions need task_kind pairwise",
        id="pairwise-question-in-single",
    ),
    pytest.param(
        lambda d: d["questions"].insert(
            0, {"id": "why", "type": "text", "prompt": "Why?", "required_when": {"question": "overall", "equals": 1}}
        ),
        "/questions/0/required_when/question",
        "is not an earlier question",
        id="required-when-forward-reference",
    ),
    pytest.param(
        lambda d: d["questions"].append(
            {"id": "why", "type": "text", "prompt": "Why?", "min_length": 10, "max_length": 5}
        ),
        "/questions/4/min_length",
        "greater than max_length",
        id="text-lengths",
    ),
    pytest.param(
        lambda d: d["questions"].append(
            {
                "id": "kind",
                "type": "categorical",
                "prompt": "Kind?",
                "options": [{"value": "a", "label": "A"}, {"value": "a", "label": "B"}],
            }
        ),
        "/questions/4/options",
        "unique",
        id="duplicate-options",
    ),
]


@pytest.mark.parametrize(("edit", "location", "message"), BROKEN)
def test_broken_rubrics_are_located(edit, location, message):
    found = rubric_problems(broken(edit))
    assert any(loc == location and message in msg for loc, msg in found), found


def test_every_problem_is_listed_at_once():
    doc = broken(lambda d: None)
    doc["questions"][0]["id"] = "Bad"
    doc["questions"][3]["max"] = "seven"
    del doc["title"]
    assert {loc for loc, _ in rubric_problems(doc)} == {"/", "/questions/0/id", "/questions/3/max"}


def test_not_a_mapping():
    assert rubric_problems([1, 2]) == [("/", '[1, 2] is not of type "object"')]


def test_missing_required_property_is_reported_without_noise():
    doc = broken(lambda d: d["questions"][0].pop("min"))
    assert rubric_problems(doc) == [("/questions/0", '"min" is a required property')]


def test_load_rubric_file_yaml_json_and_errors(tmp_path):
    doc = shipped("response-quality")
    as_json = tmp_path / "rq.json"
    as_json.write_text(json.dumps(doc), encoding="utf-8")
    from_json = load_rubric_file(as_json)
    from_yaml = load_rubric_file(resource_dir("rubrics") / "response-quality.yaml")
    assert from_json.sha256 == from_yaml.sha256
    bad = tmp_path / "bad.yaml"
    bad.write_text("slug: x\ntitle: [unclosed\n", encoding="utf-8")
    with pytest.raises(RubricInvalid) as info:
        load_rubric_file(bad)
    assert info.value.errors[0].location.startswith("line ")
    with pytest.raises(RubricInvalid):
        load_rubric_file(tmp_path / "missing.yaml")


# -- content hash -------------------------------------------------------------------------


def _reorder(value):
    """The same data with every mapping's keys in reverse order."""
    if isinstance(value, dict):
        return {k: _reorder(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reorder(v) for v in value]
    return value


def test_hash_is_stable_under_key_order():
    doc = copy.deepcopy(ALL_TYPES)
    reordered = _reorder(doc)
    assert list(reordered) != list(doc)
    assert content_sha256(reordered) == content_sha256(doc)
    assert parse_rubric(reordered).sha256 == parse_rubric(doc).sha256


def test_hash_ignores_version_only():
    doc = copy.deepcopy(ALL_TYPES)
    sha = content_sha256(doc)
    assert content_sha256({**doc, "version": 42}) == sha
    assert content_sha256({k: v for k, v in doc.items() if k != "version"}) == sha
    assert "version" not in json.loads(canonical_json(doc))
    assert doc["version"] == 3  # not mutated
    assert content_sha256({**doc, "guidelines": doc["guidelines"] + " "}) != sha
    assert content_sha256({**doc, "questions": list(reversed(doc["questions"]))}) != sha
    changed = copy.deepcopy(doc)
    changed["questions"][3]["max"] = 9
    assert content_sha256(changed) != sha


def test_hash_is_sha256_of_compact_sorted_json():
    doc = {"version": 1, "b": [2, {"y": 1, "x": "é"}], "a": 1}
    text = canonical_json(doc)
    assert text == '{"a":1,"b":[2,{"x":"é","y":1}]}'
    assert content_sha256(doc) == hashlib.sha256(text.encode("utf-8")).hexdigest()
