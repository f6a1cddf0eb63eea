"""Typed rubric questions (pure): domain, level, words, sameness, schema, sides and form fields."""

from __future__ import annotations

import jsonschema
import pytest

from workbench.domain import Level
from workbench.errors import NotFound
from workbench.paths import resource_dir
from workbench.rubric import judgment_schema, load_rubric_file, parse_rubric
from workbench.rubric.questions import (
    BinaryQuestion,
    CategoricalQuestion,
    LikertQuestion,
    PairwiseQuestion,
    Questions,
    TextQuestion,
)

DOC = {
    "slug": "typed",
    "title": "Typed questions",
    "task_kind": "pairwise",
    "guidelines": "Read both.",
    "questions": [
        {
            "id": "helpful",
            "type": "pairwise",
            "label": "Helpful",
            "prompt": "Which is more helpful?",
            "help": "Think of the user.",
            "strength": {"max": 3, "labels": {"1": "slightly better", "3": "much better"}},
            "both_bad": True,
            "examples": [{"input": "Two answers", "answer": {"choice": "B", "strength": 3}, "why": "B is right."}],
        },
        {"id": "strict", "type": "pairwise", "prompt": "Better, no tie?", "allow_tie": False},
        {"id": "fluency", "type": "likert", "prompt": "Fluency of each", "min": 1, "max": 5, "per_response": True,
         "anchors": {"1": "broken", "5": "native"}},
        {"id": "overall", "type": "likert", "label": "Overall", "prompt": "Overall", "min": 0, "max": 10,
         "anchors": {"0": "bad", "10": "good"}, "level": "interval"},
        {"id": "topic", "type": "categorical", "prompt": "Topic?",
         "options": [{"value": "code", "label": "Code"}, {"value": "other", "label": "Other"}]},
        {"id": "flags", "type": "categorical", "prompt": "Problems?", "multiple": True, "required": False,
         "options": [{"value": "rude", "label": "Rude"}, {"value": "wrong", "label": "Wrong"}]},
        {"id": "safe", "type": "binary", "label": "Safe", "prompt": "Safe?"},
        {"id": "refused", "type": "binary", "prompt": "Refused?", "labels": {"true": "Refused", "false": "Answered"}},
        {"id": "why", "type": "text", "prompt": "Why?", "min_length": 3, "max_length": 20,
         "required_when": {"question": "helpful", "at_least": 3}},
        {"id": "why_unsafe", "type": "text", "prompt": "What is unsafe?",
         "required_when": {"question": "safe", "equals": False}},
    ],
}  # fmt: skip

QS = Questions.of(parse_rubric(DOC).data)


def fits(question, answer) -> bool:
    return jsonschema.Draft202012Validator(question.schema()).is_valid(answer)


def test_each_type_gets_its_class_in_rubric_order():
    assert [type(q) for q in QS] == [
        PairwiseQuestion, PairwiseQuestion, LikertQuestion, LikertQuestion, CategoricalQuestion,
        CategoricalQuestion, BinaryQuestion, BinaryQuestion, TextQuestion, TextQuestion,
    ]  # fmt: skip
    assert QS.ids == tuple(q["id"] for q in DOC["questions"])
    assert QS.question("overall") is QS[3] and QS.get("nope") is None
    with pytest.raises(NotFound, match="no question 'nope'"):
        QS.question("nope")


def test_public_attributes_carry_what_a_prompt_needs():
    helpful = QS.question("helpful")
    assert (helpful.id, helpful.label, helpful.prompt, helpful.help, helpful.required) == (
        "helpful",
        "Helpful",
        "Which is more helpful?",
        "Think of the user.",
        True,
    )
    assert [(o.value, o.label) for o in helpful.options] == [("A", "A is better"), ("B", "B is better"), ("tie", "Tie")]
    assert [(o.value, o.label) for o in helpful.strengths] == [(1, "slightly better"), (2, "2"), (3, "much better")]
    assert helpful.examples[0].answer == {"choice": "B", "strength": 3} and helpful.examples[0].why == "B is right."
    assert QS.question("strict").label == "strict"  # no label: the id
    assert QS.question("strict").heading == "Better, no tie?"  # no label: a rater reads the prompt
    assert QS.question("overall").anchors == {0: "bad", 10: "good"}
    assert [o.label for o in QS.question("refused").options] == ["Refused", "Answered"]


def test_domains_and_levels():
    assert QS.question("helpful").domain == ("A", "B", "tie") and QS.question("helpful").level is Level.NOMINAL
    assert QS.question("overall").domain == tuple(range(11)) and QS.question("overall").level is Level.INTERVAL
    assert QS.question("fluency").level is Level.ORDINAL
    assert QS.question("topic").domain == ("code", "other") and QS.question("topic").level is Level.NOMINAL
    assert QS.question("safe").domain == (False, True) and QS.question("safe").level is Level.NOMINAL
    assert QS.question("why").level is None and QS.question("why").domain == ()


def test_measures_are_what_agreement_counts():
    assert [(m.key, m.level, m.domain) for m in QS.measures] == [
        ("helpful", Level.NOMINAL, ("A", "B", "tie")),
        ("helpful.strength", Level.ORDINAL, (-3, -2, -1, 0, 1, 2, 3)),
        ("strict", Level.NOMINAL, ("A", "B", "tie")),
        ("strict.strength", Level.ORDINAL, (-1, 0, 1)),
        ("overall", Level.INTERVAL, tuple(range(11))),
        ("topic", Level.NOMINAL, ("code", "other")),
        ("safe", Level.NOMINAL, (False, True)),
        ("refused", Level.NOMINAL, (False, True)),
    ]  # per-response scales, multiple choice and text are not measured
    strength = QS.measure("helpful.strength")
    assert [strength.code({"choice": c, "strength": 2}) for c in ("A", "B")] == [2.0, -2.0]
    assert strength.code({"choice": "tie"}) == 0.0 and strength.code({"choice": "C"}) is None
    assert QS.measure("helpful").code({"choice": "tie"}) == 2.0
    assert QS.measure("overall").code(7) == 7.0 and QS.measure("overall").code(True) is None
    assert QS.measure("topic").code("other") == 1.0 and QS.measure("topic").code("nope") is None
    assert QS.measure(None).key == "helpful"
    with pytest.raises(NotFound, match="choose from helpful, helpful.strength"):
        QS.measure("why")


def test_binary_reads_sqlite_ones_and_zeros_as_yes_and_no():
    safe = QS.question("safe")
    assert [QS.measure("safe").code(v) for v in (True, False, 1, 0)] == [1.0, 0.0, 1.0, 0.0]
    assert QS.measure("safe").code(2) is None and QS.measure("safe").code("yes") is None
    assert safe.same(1, True) and safe.same(0, False) and not safe.same(1, False) and not safe.same(None, False)
    assert (safe.words(1), safe.words(0)) == ("Yes", "No")
    assert safe.form_values(0) == {"q.safe": ["false"]}


def test_pairwise_words_name_the_sides_in_the_terms_asked():
    helpful = QS.question("helpful")
    answer = {"choice": "A", "strength": 3, "both_bad": False}
    assert helpful.words(answer) == "A (first response) is better, strength 3 (much better)"
    assert helpful.words(answer, "screen") == "A (left) is better, strength 3 (much better)"
    assert helpful.words(answer, "plain") == "A is better, strength 3 (much better)"
    assert helpful.words({"choice": "B", "strength": 2}, "screen") == "B (right) is better, strength 2"
    assert helpful.words({"choice": "tie", "both_bad": True}) == "Tie; both responses are bad"
    assert helpful.words(None) == "no answer"


def test_other_words():
    assert QS.question("overall").words(10) == "10 (good)" and QS.question("overall").words(4) == "4"
    assert (
        QS.question("fluency").words({"B": 1, "A": 5})
        == "A (first response): 5 (native); B (second response): 1 (broken)"
    )
    assert QS.question("fluency").words({"A": 5, "B": 1}, "screen") == "A (left): 5 (native); B (right): 1 (broken)"
    assert QS.question("topic").words("code") == "Code"
    assert QS.question("flags").words(["wrong", "rude"]) == "Wrong, Rude" and QS.question("flags").words([]) == "none"
    assert QS.question("refused").words(True) == "Refused" and QS.question("refused").words(False) == "Answered"
    assert QS.question("why").words("Because.") == "Because."


def test_sameness():
    helpful = QS.question("helpful")
    assert helpful.same({"choice": "A", "strength": 1}, {"choice": "A", "strength": 3})  # the degree does not count
    assert not helpful.same({"choice": "A"}, {"choice": "B"}) and not helpful.same({"choice": "A"}, None)
    assert QS.question("flags").same(["rude", "wrong"], ["wrong", "rude"])
    assert not QS.question("flags").same(["rude"], "rude") and not QS.question("flags").same(
        ["rude"], ["rude", "wrong"]
    )
    assert QS.question("overall").same(3, 3) and not QS.question("overall").same(3, 4)
    assert QS.question("fluency").same({"A": 1, "B": 2}, {"B": 2, "A": 1})
    assert QS.question("topic").same("code", "code") and not QS.question("topic").same("code", "other")


@pytest.mark.parametrize(
    ("qid", "good", "bad"),
    [
        ("helpful", [{"choice": "A", "strength": 1}, {"choice": "tie"}, {"choice": "B", "strength": 3, "both_bad": True}],
         [{"choice": "A"}, {"choice": "tie", "strength": 1}, {"choice": "A", "strength": 4}, {"choice": "C"}, "A"]),
        ("strict", [{"choice": "B"}], [{"choice": "tie"}, {"choice": "A", "both_bad": True}, {"choice": "A", "strength": 1}]),
        ("fluency", [{"A": 1, "B": 5}], [{"A": 1}, {"A": 0, "B": 1}, {"A": 1, "B": 2, "C": 3}, 3]),
        ("overall", [0, 10], [-1, 11, 2.5, "5", True]),
        ("topic", ["code", "other"], ["Code", ["code"], None]),
        ("flags", [["rude"], ["rude", "wrong"]], [[], ["rude", "rude"], ["nope"], "rude"]),
        ("safe", [True, False], [1, "yes", None]),
        ("why", ["abc", "x" * 20], ["ab", "x" * 21, 3]),
    ],
)  # fmt: skip
def test_schema_fragments_accept_and_refuse(qid, good, bad):
    question = QS.question(qid)
    jsonschema.Draft202012Validator.check_schema(question.schema())
    assert all(fits(question, a) for a in good)
    assert not any(fits(question, a) for a in bad)
    assert question.problem(good[0]) is None and question.problem(bad[0])


def test_the_judgment_schema_is_assembled_from_the_question_schemas():
    schema = judgment_schema(DOC)
    assert schema["properties"] == {q.id: q.schema() for q in QS}
    assert "why" not in schema["required"] and "flags" not in schema["required"] and "helpful" in schema["required"]
    assert [rule["then"]["required"] for rule in schema["allOf"]] == [["why"], ["why_unsafe"]]


def test_conditions_read_and_test_like_the_rubric_says():
    why, why_unsafe = QS.question("why").condition, QS.question("why_unsafe").condition
    assert why.question is QS.question("helpful") and why.words() == "Helpful is at least 3 (much better)"
    assert why.holds({"choice": "A", "strength": 3}) and not why.holds({"choice": "A", "strength": 2})
    assert not why.holds({"choice": "tie"}) and not why.holds(None)
    assert why_unsafe.words() == "Safe is no" and why_unsafe.holds(False) and not why_unsafe.holds(True)


def test_swapping_sides():
    assert QS.question("helpful").swap({"choice": "A", "strength": 2}) == {"choice": "B", "strength": 2}
    assert QS.question("helpful").swap({"choice": "tie"}) == {"choice": "tie"}
    assert QS.question("fluency").swap({"A": 1, "B": 5}) == {"B": 1, "A": 5}
    assert QS.question("overall").swap(4) == 4


@pytest.mark.parametrize(
    ("qid", "answer"),
    [("helpful", {"choice": "B", "strength": 2, "both_bad": True}), ("strict", {"choice": "A"}),
     ("fluency", {"A": 2, "B": 4}), ("overall", 7), ("topic", "other"), ("flags", ["rude", "wrong"]),
     ("safe", False), ("refused", True), ("why", "Because.")],
)  # fmt: skip
def test_form_fields_round_trip(qid, answer):
    question = QS.question(qid)
    assert question.from_form(question.form_values(answer)) == answer


def test_blank_form_fields_are_no_answer():
    assert all(q.from_form({}) is None for q in QS)
    assert QS.question("why").from_form({"q.why": ["   "]}) is None
    assert QS.question("overall").from_form({"q.overall": ["seven"]}) == "seven"  # left for validation to refuse
    assert QS.question("helpful").from_form({"q.helpful.choice": ["tie"], "q.helpful.strength": ["2"]}) == {
        "choice": "tie", "both_bad": False
    }  # fmt: skip


def test_every_shipped_rubric_builds_and_its_examples_fit():
    for path in sorted(resource_dir("rubrics").glob("*.yaml")):
        document = load_rubric_file(path)
        assert [q.id for q in document.questions] == [q["id"] for q in document.data["questions"]]
        for question in document.questions:
            assert all(question.problem(example.answer) is None for example in question.examples)
            assert question.words(None) == "no answer"


def test_words_on_screen_follow_the_side_order_shown():
    helpful = QS.question("helpful")
    canonical = {"choice": "A", "strength": 1}  # the item's first response is better
    assert helpful.words_on_screen(canonical, [0, 1]) == "A (left) is better, strength 1 (slightly better)"
    assert helpful.words_on_screen(canonical, [1, 0]) == "B (right) is better, strength 1 (slightly better)"
    assert (
        QS.question("fluency").words_on_screen({"A": 5, "B": 1}, [1, 0])
        == "A (left): 1 (broken); B (right): 5 (native)"
    )
    assert (
        QS.question("safe").words_on_screen(0, [1, 0]) == "No" and helpful.words_on_screen(None, [1, 0]) == "no answer"
    )
