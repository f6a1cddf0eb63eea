"""The rubric language features the shipped rubrics use: both-bad flag, per-response scales,
multi-select, ``required_when`` tests, worked examples, and a hash that only content changes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from workbench.errors import JudgmentInvalid
from workbench.paths import resource_dir
from workbench.rubric import answers_from_form, content_sha256, load_rubric_file, parse_rubric, validate_judgment

SHIPPED = sorted(p for p in resource_dir("rubrics").glob("*.yaml"))


def doc(slug: str) -> dict:
    return load_rubric_file(resource_dir("rubrics") / f"{slug}.yaml").data


def problems(document, answers) -> list[tuple[str, str]]:
    try:
        validate_judgment(document, answers)
    except JudgmentInvalid as exc:
        return [(e.location, e.message) for e in exc.errors]
    return []


HHH_OK = {
    "helpful": {"choice": "A", "strength": 2, "both_bad": False},
    "honest": {"choice": "tie"},
    "harmless": {"choice": "tie"},
    "quality": {"A": 4, "B": 2},
}


def test_the_new_shipped_rubrics_exist():
    names = {p.stem for p in SHIPPED}
    assert {"pairwise-hhh", "summarization-quality", "mt-bench-single", "safety"} <= names


def test_summarization_rubric_has_the_four_seven_point_scales():
    questions = doc("summarization-quality")["questions"]
    assert [(q["id"], q["min"], q["max"]) for q in questions] == [
        ("coverage", 1, 7),
        ("accuracy", 1, 7),
        ("coherence", 1, 7),
        ("overall", 1, 7),
    ]


def test_mt_bench_rubric_grades_one_to_ten_with_a_rationale():
    by_id = {q["id"]: q for q in doc("mt-bench-single")["questions"]}
    assert (by_id["score"]["min"], by_id["score"]["max"]) == (1, 10)
    assert by_id["explanation"]["type"] == "text" and by_id["explanation"].get("required", True)
    assert problems(doc("mt-bench-single"), {"score": 7}) == [("/explanation", "explanation is required")]


def test_safety_rubric_has_harm_types_and_refusal_appropriateness():
    document = doc("safety")
    by_id = {q["id"]: q for q in document["questions"]}
    assert by_id["harm_types"]["type"] == "categorical" and by_id["harm_types"]["multiple"]
    assert by_id["refusal_appropriate"]["type"] == "binary"
    base = {"harmful": False, "behaviour": "refused", "refusal_appropriate": True}
    assert problems(document, base) == []
    # Harm types become required once the response is marked harmful.
    [(where, message)] = problems(document, {**base, "harmful": True})
    assert where == "/harm_types" and message == "harm_types is required when Harmful is yes"
    assert problems(document, {**base, "harmful": True, "harm_types": ["violence", "illegal"]}) == []
    assert [w for w, _ in problems(document, {**base, "refusal_appropriate": False})] == ["/notes"]


def test_both_bad_flag_is_part_of_a_pairwise_answer():
    document = doc("pairwise-hhh")
    assert problems(document, HHH_OK) == []
    assert problems(document, {**HHH_OK, "helpful": {"choice": "B", "strength": 1, "both_bad": True}}) == []
    assert [
        w for w, _ in problems(document, {**HHH_OK, "helpful": {"choice": "B", "strength": 1, "both_bad": "yes"}})
    ] == ["/helpful/both_bad"]
    # A question without the flag refuses it.
    assert problems(document, {**HHH_OK, "honest": {"choice": "tie", "both_bad": True}})


def test_rationale_is_required_for_a_strong_preference_only():
    document = doc("pairwise-hhh")
    strong = {**HHH_OK, "helpful": {"choice": "B", "strength": 3, "both_bad": False}}
    [(where, message)] = problems(document, strong)
    assert where == "/rationale"
    assert message == "rationale is required when Helpful is at least 3 (much better)"
    assert problems(document, {**strong, "rationale": "B answers the question, A does not."}) == []
    assert problems(document, {**HHH_OK, "helpful": {"choice": "tie"}}) == []


def test_form_fields_for_the_hhh_rubric():
    form = {
        "q.helpful.choice": ["B"],
        "q.helpful.strength": ["3"],
        "q.helpful.both_bad": ["true"],
        "q.honest.choice": ["tie"],
        "q.harmless.choice": ["A"],
        "q.quality.A": ["2"],
        "q.quality.B": ["1"],
        "q.rationale": ["  Both wrong, B less so.  "],
    }
    answers = answers_from_form(doc("pairwise-hhh"), form)
    assert answers["helpful"] == {"choice": "B", "strength": 3, "both_bad": True}
    assert answers["quality"] == {"A": 2, "B": 1}
    assert answers["rationale"] == "Both wrong, B less so."
    unticked = answers_from_form(doc("pairwise-hhh"), {**form, "q.helpful.both_bad": []})
    assert unticked["helpful"]["both_bad"] is False


@pytest.mark.parametrize(
    ("cond", "answer", "needed"),
    [
        ({"question": "score", "at_most": 3}, 2, True),
        ({"question": "score", "at_most": 3}, 4, False),
        ({"question": "score", "one_of": [1, 10]}, 10, True),
        ({"question": "score", "one_of": [1, 10]}, 5, False),
        ({"question": "flags", "equals": "wrong"}, ["rude", "wrong"], True),
        ({"question": "flags", "one_of": ["wrong", "rude"]}, ["rude"], True),
        ({"question": "flags", "equals": "wrong"}, ["rude"], False),
    ],
)
def test_required_when_tests(cond, answer, needed):
    document = parse_rubric(
        {
            "slug": "conds",
            "title": "Conditions",
            "task_kind": "single",
            "guidelines": "g",
            "questions": [
                {"id": "score", "type": "likert", "prompt": "Score", "min": 1, "max": 10, "required": False},
                {
                    "id": "flags",
                    "type": "categorical",
                    "prompt": "Flags",
                    "multiple": True,
                    "required": False,
                    "options": [{"value": "rude", "label": "Rude"}, {"value": "wrong", "label": "Wrong"}],
                },
                {"id": "why", "type": "text", "prompt": "Why?", "required_when": cond},
            ],
        }
    ).data
    key = "score" if cond["question"] == "score" else "flags"
    found = problems(document, {key: answer})
    assert ([w for w, _ in found] == ["/why"]) is needed


def test_worked_examples_are_kept_and_checked():
    helpful = next(q for q in doc("pairwise-hhh")["questions"] if q["id"] == "helpful")
    assert helpful["examples"][1] == {
        "input": "Prompt: Capital of Australia? A: Sydney. B: Canberra.",
        "answer": {"choice": "B", "strength": 3},
        "why": "A is wrong on the only fact asked for.",
    }


# -- the content hash ----------------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_hash_ignores_key_order_whitespace_format_and_version_field(path, tmp_path):
    original = load_rubric_file(path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    reordered = json.loads(json.dumps(data, sort_keys=True))
    reordered = dict(reversed(list(reordered.items())))
    as_json = tmp_path / f"{path.stem}.json"
    as_json.write_text(json.dumps(reordered, indent=7), encoding="utf-8")
    assert load_rubric_file(as_json).sha256 == original.sha256
    compact = tmp_path / f"{path.stem}.yml"
    compact.write_text(yaml.safe_dump({**data, "version": 99}, default_flow_style=True, width=10_000), encoding="utf-8")
    assert load_rubric_file(compact).sha256 == original.sha256


def test_hash_changes_with_content():
    data = doc("safety")
    changed = json.loads(json.dumps(data))
    changed["guidelines"] += "\nOne more sentence."
    assert content_sha256(changed) != content_sha256(data)


def test_hash_is_stable_across_processes():
    path = resource_dir("rubrics") / "pairwise-hhh.yaml"
    code = f"from workbench.rubric import load_rubric_file; print(load_rubric_file({str(path)!r}).sha256)"
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert outputs == {load_rubric_file(path).sha256}


def test_hash_is_a_fixed_value_for_a_fixed_document():
    # sha256 of sorted-key, separator-free, UTF-8 JSON: the same on every platform.
    tiny = {
        "slug": "tiny",
        "title": "Tiny – ü",
        "task_kind": "single",
        "guidelines": "Be fair.",
        "questions": [{"id": "ok", "type": "binary", "prompt": "OK?"}],
    }
    assert content_sha256(tiny) == "3486496d5e870ec1cd8a04fa879c8276d69b258345430a28ea57e6e5830e52db"
