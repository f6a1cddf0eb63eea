"""Domain errors. They are mapped to HTTP status codes only in ``workbench.web.errors``."""

from __future__ import annotations

from dataclasses import dataclass


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
