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

from ..errors import FieldError, JudgmentInvalid, schema_message
from .questions import Condition, Question, Questions, is_swapped


def _conditions(questions: Questions) -> list[tuple[Question, Condition]]:
    """Every question with a ``required_when``, and its condition."""
    return [(q, q.condition) for q in questions if q.condition is not None]


def judgment_schema(document: Any) -> dict[str, Any]:
    """The JSON Schema every judgment under this rubric version must satisfy.

    Assembled from each question's own schema, plus one ``if``/``then`` per ``required_when``.
    """
    questions = Questions.of(document)
    conditions = [
        {
            "if": {"properties": {cond.question.id: cond.schema()}, "required": [cond.question.id]},
            "then": {"required": [q.id]},
        }
        for q, cond in _conditions(questions)
    ]
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"judgment for {document['slug'] if isinstance(document, Mapping) else document.slug}",
        "type": "object",
        "properties": {q.id: q.schema() for q in questions},
        "required": [q.id for q in questions if q.required and q.condition is None],
        "additionalProperties": False,
    }
    if conditions:
        schema["allOf"] = conditions
    return schema


_VALIDATORS: dict[str, jsonschema.Draft202012Validator] = {}
_SCHEMAS: dict[str, dict[str, Any]] = {}
_CACHE_SIZE = 256


def schema_for_version(document: Any, sha256: str) -> dict[str, Any]:
    """``judgment_schema`` of a published version, built once per content hash."""
    schema = _SCHEMAS.get(sha256)
    if schema is None:
        if len(_SCHEMAS) >= _CACHE_SIZE:
            _SCHEMAS.clear()
        schema = _SCHEMAS[sha256] = judgment_schema(document)
    return schema


def _validator_for(document: Any, sha256: str) -> jsonschema.Draft202012Validator:
    validator = _VALIDATORS.get(sha256)
    if validator is None:
        if len(_VALIDATORS) >= _CACHE_SIZE:
            _VALIDATORS.clear()
        validator = _VALIDATORS[sha256] = jsonschema.Draft202012Validator(schema_for_version(document, sha256))
    return validator


def validate_judgment(document: Any, answers: Any, sha256: str | None = None) -> None:
    """Raise ``JudgmentInvalid`` with one ``FieldError`` per problem (JSON pointer + message)."""
    # A published version's hash fixes its content, so its validator is built once; a draft
    # (no hash yet) is validated from scratch.
    validator = (
        _validator_for(document, sha256)
        if sha256 and not sha256.startswith("draft")
        else (jsonschema.Draft202012Validator(judgment_schema(document)))
    )
    found = sorted(validator.iter_errors(answers), key=lambda e: list(e.absolute_path))
    if not found:
        return
    reasons = {q.id: cond.words() for q, cond in _conditions(Questions.of(document))}
    errors = []
    for error in found:
        path = "/" + "/".join(str(p) for p in error.absolute_path)
        message = schema_message(error)
        if error.validator == "required":
            message = error.message
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


def answers_from_form(document: Any, form: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Turn submitted form fields into answers (screen orientation).

    Field names: ``q.<id>`` for scalar answers, ``q.<id>.choice`` / ``q.<id>.strength`` /
    ``q.<id>.both_bad`` for pairwise, ``q.<id>.A`` / ``q.<id>.B`` for per-response scales. Blank fields are left out
    so that validation reports them as missing; unparsable numbers are kept as text so that
    validation reports them as the wrong type.
    """
    answers = {q.id: q.from_form(form) for q in Questions.of(document)}
    return {qid: answer for qid, answer in answers.items() if answer is not None}


def _reorient(document: Any, answers: Mapping[str, Any], swapped: bool) -> dict[str, Any]:
    if not swapped:
        return dict(answers)
    out = dict(answers)
    for q in Questions.of(document):
        value = answers.get(q.id)
        if value is not None:
            out[q.id] = q.swap(value)
    return out


def to_canonical(document: Any, answers: Mapping[str, Any], display_order: Sequence[int]) -> dict[str, Any]:
    """Screen answers (A = left) → canonical answers (A = the item's first response)."""
    return _reorient(document, answers, is_swapped(display_order))


def to_screen(document: Any, answers: Mapping[str, Any], display_order: Sequence[int]) -> dict[str, Any]:
    """Canonical answers → what the rater saw (the inverse of ``to_canonical``)."""
    return _reorient(document, answers, is_swapped(display_order))
