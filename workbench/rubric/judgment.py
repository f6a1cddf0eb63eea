"""Judgments against a rubric: the JSON Schema of a valid answer set, form parsing, orientation.

Answers are kept per question id:

- pairwise: ``{"choice": "A"|"B"|"tie", "strength": 1..max, "both_bad": bool}`` (no
  strength on a tie; ``both_bad`` only when the question offers the flag);
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
from typing import Any

import jsonschema

from ..errors import FieldError, JudgmentInvalid

SLOTS = ("A", "B")


def question_schema(q: dict[str, Any]) -> dict[str, Any]:
    kind = q["type"]
    if kind == "pairwise":
        choices = ["A", "B", "tie"] if q.get("allow_tie", True) else ["A", "B"]
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {"choice": {"enum": choices}},
            "required": ["choice"],
            "additionalProperties": False,
        }
        if q.get("both_bad"):
            schema["properties"]["both_bad"] = {"type": "boolean"}
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


def condition_schema(other: Mapping[str, Any], cond: Mapping[str, Any]) -> dict[str, Any]:
    """The schema an answer to ``other`` matches when ``cond`` (a ``required_when``) holds."""
    if "at_least" in cond or "at_most" in cond:
        bound = {"minimum": cond["at_least"]} if "at_least" in cond else {"maximum": cond["at_most"]}
        if other["type"] == "pairwise":
            return {"type": "object", "properties": {"strength": {"type": "integer", **bound}}, "required": ["strength"]}
        return {"type": "integer", **bound}
    values = [cond["equals"]] if "equals" in cond else list(cond["one_of"])
    match = {"const": values[0]} if len(values) == 1 else {"enum": values}
    if other["type"] == "pairwise":
        return {"type": "object", "properties": {"choice": match}, "required": ["choice"]}
    if other["type"] == "categorical" and other.get("multiple"):
        return {"type": "array", "contains": match}
    if other["type"] == "binary":
        return {"type": "boolean", **match}
    return match


def describe_condition(other: Mapping[str, Any], cond: Mapping[str, Any]) -> str:
    """Plain words for a ``required_when``: "Helpful is at least 3 (much better)"."""
    name = other.get("label", other["id"])
    labels = other.get("strength", {}).get("labels", {}) if other["type"] == "pairwise" else other.get("anchors", {})
    for key, words in (("at_least", "is at least"), ("at_most", "is at most")):
        if key in cond:
            label = labels.get(str(cond[key]))
            return f"{name} {words} {cond[key]}" + (f" ({label})" if label else "")
    values = [cond["equals"]] if "equals" in cond else list(cond["one_of"])
    shown = [json_word(v) for v in values]
    return f"{name} is {' or '.join(shown)}"


def json_word(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _conditions(document: Mapping[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any], str]]:
    """(question, the question it depends on, plain description) for every ``required_when``."""
    found = []
    for q in document["questions"]:
        cond = q.get("required_when")
        if cond:
            other = next(o for o in document["questions"] if o["id"] == cond["question"])
            found.append((q, other, describe_condition(other, cond)))
    return found


def judgment_schema(document: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON Schema every judgment under this rubric version must satisfy."""
    properties = {q["id"]: question_schema(q) for q in document["questions"]}
    required = [q["id"] for q in document["questions"] if q.get("required", True) and not q.get("required_when")]
    conditions = [
        {
            "if": {"properties": {other["id"]: condition_schema(other, q["required_when"])}, "required": [other["id"]]},
            "then": {"required": [q["id"]]},
        }
        for q, other, _ in _conditions(document)
    ]
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


_VALIDATORS: dict[str, jsonschema.Draft202012Validator] = {}
_SCHEMAS: dict[str, dict[str, Any]] = {}
_CACHE_SIZE = 256


def schema_for_version(document: Mapping[str, Any], sha256: str) -> dict[str, Any]:
    """``judgment_schema`` of a published version, built once per content hash."""
    schema = _SCHEMAS.get(sha256)
    if schema is None:
        if len(_SCHEMAS) >= _CACHE_SIZE:
            _SCHEMAS.clear()
        schema = _SCHEMAS[sha256] = judgment_schema(document)
    return schema


def _validator_for(document: Mapping[str, Any], sha256: str) -> jsonschema.Draft202012Validator:
    validator = _VALIDATORS.get(sha256)
    if validator is None:
        if len(_VALIDATORS) >= _CACHE_SIZE:
            _VALIDATORS.clear()
        validator = _VALIDATORS[sha256] = jsonschema.Draft202012Validator(schema_for_version(document, sha256))
    return validator


def validate_judgment(document: Mapping[str, Any], answers: Any, sha256: str | None = None) -> None:
    """Raise ``JudgmentInvalid`` with one ``FieldError`` per problem (JSON pointer + message)."""
    # A published version's hash fixes its content, so its validator is built once; a draft
    # (no hash yet) is validated from scratch.
    validator = _validator_for(document, sha256) if sha256 and not sha256.startswith("draft") else (
        jsonschema.Draft202012Validator(judgment_schema(document))
    )
    reasons = {q["id"]: why for q, _, why in _conditions(document)}
    errors = []
    for error in sorted(validator.iter_errors(answers), key=lambda e: list(e.absolute_path)):
        path = "/" + "/".join(str(p) for p in error.absolute_path)
        message = error.message
        if error.validator == "required":
            missing = message.split("'")[1] if "'" in message else message
            message = f"{missing!s} is required"
            if path == "/" and missing in reasons:
                message += f" when {reasons[missing]}"
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

    Field names: ``q.<id>`` for scalar answers, ``q.<id>.choice`` / ``q.<id>.strength`` /
    ``q.<id>.both_bad`` for pairwise, ``q.<id>.A`` / ``q.<id>.B`` for per-response scales. Blank fields are left out
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
                if q.get("both_bad"):
                    answer["both_bad"] = first(f"{key}.both_bad") == "true"
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
