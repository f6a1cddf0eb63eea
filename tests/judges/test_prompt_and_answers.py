"""The prompt a judge is sent and the reading of its answer, without a database."""

from __future__ import annotations

import math
from pathlib import Path

import jsonschema
import pytest
import yaml

from workbench.errors import InvalidInput
from workbench.judges.answers import (
    AnswerInvalid,
    consistency_confidences,
    logprob_confidence,
    parse_json,
    screen_answers,
)
from workbench.judges.prompt import (
    compile_template,
    prompt_context,
    render_messages,
    request_body,
    strict_schema,
)
from workbench.rubric import judgment_schema

RUBRICS = Path(__file__).resolve().parents[2] / "rubrics"


def rubric(slug: str) -> dict:
    return yaml.safe_load((RUBRICS / f"{slug}.yaml").read_text())


def test_default_prompt_holds_guidelines_questions_examples_and_responses_in_screen_order():
    doc = rubric("pairwise-hhh")
    context = prompt_context(doc, "What is the capital of Australia?", ["Sydney.", "Canberra."], [1, 0])
    system, user = render_messages(compile_template(None), context)
    assert system["role"] == "system" and user["role"] == "user"
    assert "Length is not\n  helpfulness" in system["content"]  # guidelines
    assert "Correctness first, then completeness" in system["content"]  # a question's help
    assert "- 3: much better" in system["content"]  # anchors
    assert 'Answer: {"choice": "B", "strength": 3}' in system["content"]  # a worked example
    assert '"choice": "A" | "B" | "tie", "strength": 1..3 (null on a tie)' in system["content"]
    # display order [1, 0]: the item's second response is shown as A
    assert user["content"].index("Canberra.") < user["content"].index("Sydney.")
    assert "# Response A\n\nCanberra." in user["content"]


def test_chat_prompt_is_shown_as_a_transcript():
    doc = rubric("pairwise-helpful-harmless")
    chat = [
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Tell a joke"},
    ]
    _, user = render_messages(compile_template(None), prompt_context(doc, chat, ["r0", "r1"], [0, 1]))
    assert "**user**: Hi there" in user["content"] and "**assistant**: Hello!" in user["content"]


def test_custom_template_uses_the_same_variables_and_role_lines():
    template = compile_template(
        "[system]\nRubric {{ rubric.slug }}: {{ questions|length }} questions\n[user]\n{{ prompt }} / {% for r in responses %}{{ r.slot }}={{ r.text }} {% endfor %}"
    )
    messages = render_messages(template, prompt_context(rubric("pairwise-helpful-harmless"), "Q?", ["x", "y"], [1, 0]))
    assert messages == [
        {"role": "system", "content": "Rubric pairwise-helpful-harmless: 3 questions"},
        {"role": "user", "content": "Q? / A=y B=x"},
    ]


def test_a_template_that_does_not_parse_is_refused():
    with pytest.raises(InvalidInput):
        compile_template("{% for x in %}")


@pytest.mark.parametrize(
    "slug", ["pairwise-helpful-harmless", "pairwise-hhh", "safety", "response-quality", "mt-bench-single"]
)
def test_strict_schema_is_in_the_strict_subset_and_accepts_what_the_full_schema_accepts(slug):
    doc = rubric(slug)
    schema = strict_schema(doc)

    def walk(node):
        assert not {"if", "then", "else", "not", "allOf", "uniqueItems"} & set(node)
        if node.get("type") == "object" or (isinstance(node.get("type"), list) and "object" in node["type"]):
            assert node["additionalProperties"] is False
            assert sorted(node["required"]) == sorted(node["properties"])
            for sub in node["properties"].values():
                walk(sub)
        if "items" in node:
            walk(node["items"])

    walk(schema)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert judgment_schema(doc)["properties"].keys() == schema["properties"].keys()


def test_request_asks_for_structured_output_and_logprobs():
    doc = rubric("pairwise-helpful-harmless")
    body = request_body("m", [{"role": "user", "content": "x"}], strict_schema(doc), "judgment", 0.0, 256)
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    assert body["logprobs"] is True and body["top_logprobs"] == 5


def test_parse_json_bare_fenced_and_amid_text():
    assert parse_json('{"a": 1}') == {"a": 1}
    assert parse_json('Sure.\n```json\n{"a": 2}\n```\n') == {"a": 2}
    assert parse_json('My answer: {"a": 3} hope it helps') == {"a": 3}
    with pytest.raises(AnswerInvalid):
        parse_json("A is better")


def test_answers_are_validated_like_a_human_judgment():
    doc = rubric("pairwise-helpful-harmless")
    ok = '{"helpful": {"choice": "A", "strength": 2.0}, "harmless": {"choice": "tie", "strength": null}, "rationale": null}'
    assert screen_answers(doc, ok, None) == {"helpful": {"choice": "A", "strength": 2}, "harmless": {"choice": "tie"}}
    with pytest.raises(AnswerInvalid, match="strength"):  # a preference needs a strength
        screen_answers(doc, '{"helpful": {"choice": "A"}, "harmless": {"choice": "tie"}}', None)
    with pytest.raises(AnswerInvalid, match="tie takes no strength"):
        screen_answers(doc, '{"helpful": {"choice": "tie", "strength": 1}, "harmless": {"choice": "tie"}}', None)


def _token(text, logprob, top=()):
    return {"token": text, "logprob": logprob, "top_logprobs": [{"token": t, "logprob": lp} for t, lp in top]}


def test_logprob_confidence_by_hand():
    doc = rubric("pairwise-helpful-harmless")
    content = '{"helpful": {"choice": "B", "strength": 1}}'
    head = '{"helpful": {"choice":'
    # the value token carries its opening quote; alternatives are spelled several ways
    tokens = [
        _token(head, 0.0),
        _token(
            ' "B',
            math.log(0.5),
            [
                (' "B', math.log(0.5)),
                (' "A', math.log(0.3)),
                (' "t', math.log(0.1)),
                (' "C', math.log(0.05)),
                (" B", math.log(0.02)),
            ],
        ),
        _token('", "strength": 1}}', 0.0),
    ]
    assert "".join(t["token"] for t in tokens) == content
    q = doc["questions"][0]
    # B: 0.5 + 0.02 (two spellings); A 0.3; tie 0.1; "C" is no option and is left out
    assert logprob_confidence(q, content, tokens, "B") == pytest.approx(0.52 / (0.52 + 0.3 + 0.1))


def test_consistency_confidence_is_the_share_agreeing_with_the_verdict():
    doc = rubric("pairwise-helpful-harmless")
    a = {"helpful": {"choice": "A", "strength": 1}, "harmless": {"choice": "tie"}}
    b = {"helpful": {"choice": "B", "strength": 1}, "harmless": {"choice": "tie"}}
    assert consistency_confidences(doc, a, [a, a, b, a]) == {"helpful": 0.75, "harmless": 1.0}
    assert consistency_confidences(doc, a, [a]) == {}
