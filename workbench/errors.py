"""Domain errors. They are mapped to HTTP status codes only in ``workbench.web.errors``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


class WorkbenchError(Exception):
    """Base class for every error the application reports to a person."""


class NotFound(WorkbenchError):
    """A named thing does not exist."""


class Forbidden(WorkbenchError):
    """The acting user may not do this."""


class Conflict(WorkbenchError):
    """The request clashes with the current state (used lease, duplicate, stale version)."""


@dataclass(frozen=True)
class FieldError:
    """One problem with one field: ``location`` is a JSON pointer or ``line N: field``."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class InvalidInput(WorkbenchError):
    """Input failed validation; ``errors`` lists every problem found."""

    def __init__(self, summary: str, errors: list[FieldError] | tuple[FieldError, ...] = ()):
        super().__init__(summary)
        self.summary = summary
        self.errors = tuple(errors)

    def __str__(self) -> str:
        if not self.errors:
            return self.summary
        return self.summary + "\n" + "\n".join(f"  {e}" for e in self.errors)


class RubricInvalid(InvalidInput):
    """A rubric document does not match ``rubrics/rubric.schema.json``."""


class JudgmentInvalid(InvalidInput):
    """A judgment does not match its rubric version's judgment schema."""


class ImportInvalid(InvalidInput):
    """An import file has bad rows; nothing was imported."""


# -- values in messages --------------------------------------------------------------------

_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")


def json_text(value: Any) -> str:
    """A value as a message shows it: as JSON (``true``, ``null``, ``"text"``), like the files people write."""
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return repr(value)


def schema_message(error: Any) -> str:
    """A ``jsonschema`` validation error's message with its values written as JSON.

    jsonschema writes Python's ``repr`` (``True is not one of ['a', 'b']``); the message
    keeps its words and gets ``true is not one of ["a", "b"]``. The instance and the
    schema value are replaced where they appear, then any other single-quoted name
    (``'b' was unexpected``) becomes a JSON string.
    """
    message = str(error.message)
    found: list[str] = []
    for value in (getattr(error, "instance", None), getattr(error, "validator_value", None)):
        text = repr(value)
        if text in message and len(text) > 0:
            found.append(json_text(value))
            message = message.replace(text, f"\0{len(found) - 1}\0")
    message = _QUOTED.sub(lambda m: json_text(m.group(1).replace("\\'", "'")), message)
    return re.sub("\0(\\d+)\0", lambda m: found[int(m.group(1))], message)
