"""Which questions of a rubric can be measured, and how their answers map to numbers.

The rules live on the typed questions (``workbench.rubric.questions``); a measure is one
numeric reading of a question (a pairwise question has two: choice and signed strength).
"""

from __future__ import annotations

from typing import Any

from ..rubric.questions import Measure, Questions

MeasuredQuestion = Measure

__all__ = ["MeasuredQuestion", "find_question", "measured_questions"]


def measured_questions(document: Any) -> list[Measure]:
    """Every question agreement and calibration apply to, in rubric order."""
    return list(Questions.of(document).measures)


def find_question(document: Any, key: str | None) -> Measure:
    """The measure with this key (the first one when None); ``NotFound`` otherwise."""
    return Questions.of(document).measure(key)
