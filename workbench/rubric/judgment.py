"""Judgments against a rubric: the JSON Schema of a valid answer set, form parsing, orientation.

Answers are kept per question id:

- pairwise: ``{"choice": "A"|"B"|"tie", "strength": 1..max}`` (no strength on a tie);
- likert: an integer, or ``{"A": int, "B": int}`` when ``per_response``;
- categorical: an option value, or a list of them when ``multiple``;
- binary: ``true``/``false``; text: a string.

A rater answers in *screen* orientation (A = left). ``display_order`` lists which response
position is shown in each slot, e.g. ``[1, 0]`` puts the item's second response on the
left. Everything stored and computed is in *canonical* orientation (A = the item's first
response); ``to_canonical`` and ``to_screen`` convert.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import jsonschema

from ..errors import FieldError, JudgmentInvalid

SLOTS = ("A", "B")


def _question_schema(q: dict[str, Any]) -> dict[str, Any]:
    kind = q["type"]
    if kind == "pairwise":
        choices = ["A", "B", "tie"] if q.get("allow_tie", True) else ["A", "B"]
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {"choice": {"enum": choices}},
            "required": ["choice"],
            "additionalProperties": False,
        }
        if "strength" in q:
            schema["properties"]["strength"] = {"type": "integer", "minimum": 1, "maximum": q["strength"]["max"]}
            schema["if"] = {"type": "object", "properties": {"choice": {"const": "tie"}}, "required": ["choice"]}
            schema["then"] = {"not": {"required": ["strength"]}}
            schema["else"] = {"required": ["strength"]}
        return schema
    if kind == "likert":
        scale = {"type": "integer", "minimum": q["min"], "maximum": q["max"]}
        if q.get("per_response"):
            return {"type": "object", "properties": {s: scale for s in SLOTS}, "required": list(SLOTS), "additionalProperties": False}
        return scale
    if kind == "categorical":
        one = {"enum": [o["value"] for o in q["options"]]}
        if q.get("multiple"):
            return {"type": "array", "items": one, "uniqueItems": True, "minItems": 1}
        return one
    if kind == "binary":
        return {"type": "boolean"}
    if kind == "text":
        schema = {"type": "string"}
        if "min_length" in q:
            schema["minLength"] = q["min_length"]
        if "max_length" in q:
            schema["maxLength"] = q["max_length"]
        return schema
    raise ValueError(f"unknown question type {kind!r}")


def judgment_schema(document: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON Schema every judgment under this rubric version must satisfy."""
    properties = {q["id"]: _question_schema(q) for q in document["questions"]}
    required = [q["id"] for q in document["questions"] if q.get("required", True) and not q.get("required_when")]
    conditions = []
    for q in document["questions"]:
        cond = q.get("required_when")
        if cond:
            other = next(o for o in document["questions"] if o["id"] == cond["question"])
            value_schema = {"const": cond["equals"]}
            if other["type"] == "pairwise":
                value_schema = {"type": "object", "properties": {"choice": {"const": cond["equals"]}}, "required": ["choice"]}
            conditions.append(
                {
                    "if": {"properties": {cond["question"]: value_schema}, "required": [cond["question"]]},
                    "then": {"required": [q["id"]]},
                }
            )
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"judgment for {document['slug']}",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    if conditions:
        schema["allOf"] = conditions
    return schema


@lru_cache(maxsize=256)
def _validator_for(sha256: str, schema_json: str) -> jsonschema.Draft202012Validator:
    import json

    return jsonschema.Draft202012Validator(json.loads(schema_json))


def validate_judgment(document: Mapping[str, Any], answers: Any, sha256: str | None = None) -> None:
    """Raise ``JudgmentInvalid`` with one ``FieldError`` per problem (JSON pointer + message)."""
    import json

    schema = judgment_schema(document)
    validator = _validator_for(sha256 or "", json.dumps(schema, sort_keys=True)) if sha256 else jsonschema.Draft202012Validator(schema)
    errors = []
    for error in sorted(validator.iter_errors(answers), key=lambda e: list(e.absolute_path)):
        path = "/" + "/".join(str(p) for p in error.absolute_path)
        message = error.message
        if error.validator == "required":
            missing = message.split("'")[1] if "'" in message else message
            message = f"{missing!s} is required"
            path = path.rstrip("/") + "/" + missing if path != "/" else "/" + missing
        elif error.validator == "not":
            message = "a tie takes no strength"
            path = path.rstrip("/") + "/strength"
        errors.append(FieldError(path, message))
    if errors:
        raise JudgmentInvalid("the answers do not fit the rubric", errors)


def normalize_answers(value: Any) -> Any:
    """JSON numbers such as ``7.0`` become ``7`` (JSON Schema already calls them integers)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: normalize_answers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize_answers(v) for v in value]
    return value


def _int_or_raw(raw: str) -> Any:
    try:
        return int(raw)
    except ValueError:
        return raw


def answers_from_form(document: Mapping[str, Any], form: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Turn submitted form fields into answers (screen orientation).

    Field names: ``q.<id>`` for scalar answers, ``q.<id>.choice`` / ``q.<id>.strength`` for
    pairwise, ``q.<id>.A`` / ``q.<id>.B`` for per-response scales. Blank fields are left out
    so that validation reports them as missing; unparsable numbers are kept as text so that
    validation reports them as the wrong type.
    """

    def first(name: str) -> str | None:
        values = [v for v in form.get(name, []) if v != ""]
        return values[0] if values else None

    answers: dict[str, Any] = {}
    for q in document["questions"]:
        qid, kind = q["id"], q["type"]
        key = f"q.{qid}"
        if kind == "pairwise":
            choice = first(f"{key}.choice")
            if choice is not None:
                answer: dict[str, Any] = {"choice": choice}
                strength = first(f"{key}.strength")
                if strength is not None and choice != "tie":
                    answer["strength"] = _int_or_raw(strength)
                answers[qid] = answer
        elif kind == "likert" and q.get("per_response"):
            sides = {s: first(f"{key}.{s}") for s in SLOTS}
            if any(v is not None for v in sides.values()):
                answers[qid] = {s: _int_or_raw(v) for s, v in sides.items() if v is not None}
        elif kind == "likert":
            value = first(key)
            if value is not None:
                answers[qid] = _int_or_raw(value)
        elif kind == "categorical" and q.get("multiple"):
            values = [v for v in form.get(key, []) if v != ""]
            if values:
                answers[qid] = values
        elif kind == "binary":
            value = first(key)
            if value is not None:
                answers[qid] = {"true": True, "false": False}.get(value, value)
        else:
            value = first(key)
            if value is not None:
                answers[qid] = value if kind != "text" else value.strip()
                if kind == "text" and not answers[qid]:
                    del answers[qid]
    return answers


def _swap_slot(value: Any) -> Any:
    return {"A": "B", "B": "A"}.get(value, value)


def _reorient(document: Mapping[str, Any], answers: Mapping[str, Any], swapped: bool) -> dict[str, Any]:
    if not swapped:
        return dict(answers)
    out = dict(answers)
    for q in document["questions"]:
        value = answers.get(q["id"])
        if value is None:
            continue
        if q["type"] == "pairwise" and isinstance(value, dict):
            out[q["id"]] = {**value, "choice": _swap_slot(value.get("choice"))}
        elif q["type"] == "likert" and q.get("per_response") and isinstance(value, dict):
            out[q["id"]] = {_swap_slot(k): v for k, v in value.items()}
    return out


def is_swapped(display_order: Sequence[int]) -> bool:
    return list(display_order[:2]) == [1, 0]


def to_canonical(document: Mapping[str, Any], answers: Mapping[str, Any], display_order: Sequence[int]) -> dict[str, Any]:
    """Screen answers (A = left) → canonical answers (A = the item's first response)."""
    return _reorient(document, answers, is_swapped(display_order))


def to_screen(document: Mapping[str, Any], answers: Mapping[str, Any], display_order: Sequence[int]) -> dict[str, Any]:
    """Canonical answers → what the rater saw (the inverse of ``to_canonical``)."""
    return _reorient(document, answers, is_swapped(display_order))
