"""The rubric editor's form as a document, and validation errors placed next to their field.

The editor shows the header fields (title, description, task kind), the Markdown guidelines
and one YAML box per question. ``document_from_form`` rebuilds the document; problems
found while parsing a question box are reported at ``/questions/<n>`` like schema errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from ..errors import FieldError
from .files import dump_rubric_text
from .safe_yaml import load_yaml

HEADER_FIELDS = ("title", "description", "task_kind", "guidelines")


@dataclass(frozen=True)
class EditorForm:
    """What the editor shows: field values, question boxes, and errors per field."""

    fields: dict[str, str]
    questions: tuple[str, ...]
    errors: dict[str, tuple[FieldError, ...]]

    def errors_for(self, key: str) -> tuple[FieldError, ...]:
        return self.errors.get(key, ())

    @property
    def error_count(self) -> int:
        return sum(len(v) for v in self.errors.values())


def question_text(question: Mapping[str, Any]) -> str:
    return dump_rubric_text(dict(question))


def form_from_document(document: Mapping[str, Any], errors: Sequence[FieldError] = ()) -> EditorForm:
    fields = {key: str(document.get(key, "")) for key in HEADER_FIELDS}
    questions = tuple(question_text(q) for q in document.get("questions", []))
    return EditorForm(fields, questions, place_errors(errors))


def field_key(location: str) -> str:
    """Which editor field an error belongs to: a header field, ``q<n>``, or ``form``."""
    parts = location.strip("/").split("/")
    if parts[0] in HEADER_FIELDS:
        return parts[0]
    if parts[0] == "questions" and len(parts) > 1 and parts[1].isdigit():
        return f"q{parts[1]}"
    if parts[0] == "changelog":
        return "changelog"
    return "form"


def place_errors(errors: Sequence[FieldError]) -> dict[str, tuple[FieldError, ...]]:
    placed: dict[str, list[FieldError]] = {}
    for error in errors:
        placed.setdefault(field_key(error.location), []).append(error)
    return {k: tuple(v) for k, v in placed.items()}


def document_from_form(
    base: Mapping[str, Any], fields: Mapping[str, str], question_boxes: Sequence[str]
) -> tuple[dict[str, Any], list[str], list[FieldError]]:
    """(document, kept question boxes, parse errors). Blank question boxes are dropped."""
    document: dict[str, Any] = {"slug": base["slug"]}
    for key in HEADER_FIELDS:
        # Multi-line text is kept as typed (only browser line ends are undone), so an
        # unchanged field keeps the content hash unchanged.
        value = fields.get(key, "").replace("\r\n", "\n")
        if key in ("title", "task_kind"):
            value = value.strip()
        if value.strip() or key != "description":
            document[key] = value
    kept = [box.replace("\r\n", "\n") for box in question_boxes if box.strip()]
    errors: list[FieldError] = []
    questions: list[Any] = []
    for index, box in enumerate(kept):
        try:
            parsed = load_yaml(box)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            errors.append(
                FieldError(f"/questions/{index}", f"not valid YAML{where}: {getattr(exc, 'problem', None) or exc}")
            )
            parsed = {}
        if not isinstance(parsed, dict):
            if parsed != {}:
                errors.append(FieldError(f"/questions/{index}", "a question is a YAML mapping (id, type, prompt, ...)"))
            parsed = {}
        questions.append(parsed)
    document["questions"] = questions
    return document, kept, errors
