"""The rubric language: documents, their validation and hashing, typed questions, and judgment schemas."""

from .document import (
    RubricDocument,
    canonical_json,
    content_sha256,
    load_rubric_file,
    parse_rubric,
    rubric_schema,
)
from .judgment import (
    answers_from_form,
    judgment_schema,
    normalize_answers,
    to_canonical,
    to_screen,
    validate_judgment,
)
from .questions import Question, Questions

__all__ = [
    "Question",
    "Questions",
    "RubricDocument",
    "answers_from_form",
    "canonical_json",
    "content_sha256",
    "judgment_schema",
    "load_rubric_file",
    "normalize_answers",
    "parse_rubric",
    "rubric_schema",
    "to_canonical",
    "to_screen",
    "validate_judgment",
]
