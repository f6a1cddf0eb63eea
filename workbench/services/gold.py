"""Gold items: checking a judgment against the expected answer, and the qualification set.

A gold answer is stored like a judgment's answers, in canonical orientation, and names only
the questions that have an expected answer. A pairwise question is right when the choice
matches (strength is not checked: how much better is a matter of degree); any other
question is right when the value is equal.

Qualification: a project with ``qualification_items = n`` shows a new rater n gold items
before any live work. When they have answered them, they pass if the share answered right
reaches ``qualification_min_accuracy``; otherwise they get no live items.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain import LeasePurpose
from ..models import Item, Judgment, Lease, Project, RubricVersion, User
from ..rubric import to_screen

CHOICE_LABELS = {"A": "A is better", "B": "B is better", "tie": "Tie"}


@dataclass(frozen=True)
class GoldMiss:
    """One question answered differently from the gold answer, in the rater's screen terms."""

    question_id: str
    question: str
    expected: str
    given: str


def _question(document: Mapping[str, Any], question_id: str) -> Mapping[str, Any] | None:
    return next((q for q in document["questions"] if q["id"] == question_id), None)


def _matches(question: Mapping[str, Any], expected: Any, given: Any) -> bool:
    if question["type"] == "pairwise":
        return isinstance(expected, Mapping) and isinstance(given, Mapping) and expected.get("choice") == given.get("choice")
    if question["type"] == "categorical" and isinstance(expected, list):
        return isinstance(given, list) and sorted(map(str, expected)) == sorted(map(str, given))
    return expected == given


def _describe(question: Mapping[str, Any], value: Any) -> str:
    if value is None:
        return "no answer"
    kind = question["type"]
    if kind == "pairwise" and isinstance(value, Mapping):
        return CHOICE_LABELS.get(value.get("choice"), str(value.get("choice")))
    if kind == "binary":
        labels = question.get("labels", {})
        return labels.get("true" if value else "false", "Yes" if value else "No")
    if kind == "categorical":
        labels = {o["value"]: o.get("label", o["value"]) for o in question.get("options", [])}
        values = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(v, str(v)) for v in values)
    if kind == "likert":
        anchor = question.get("anchors", {}).get(str(value))
        return f"{value} ({anchor})" if anchor else str(value)
    return str(value)


def gold_misses(
    document: Mapping[str, Any], gold_answer: Mapping[str, Any] | None, canonical_answers: Mapping[str, Any]
) -> list[str]:
    """Ids of the gold questions the (canonical) answers got wrong; empty when all are right."""
    misses = []
    for question_id, expected in (gold_answer or {}).items():
        question = _question(document, question_id)
        if question is not None and not _matches(question, expected, canonical_answers.get(question_id)):
            misses.append(question_id)
    return misses


def explain_misses(
    document: Mapping[str, Any],
    gold_answer: Mapping[str, Any],
    canonical_answers: Mapping[str, Any],
    display_order: list[int],
) -> tuple[GoldMiss, ...]:
    """The misses as the rater saw the item: sides named as they were on their screen."""
    missed = gold_misses(document, gold_answer, canonical_answers)
    expected_screen = to_screen(document, {k: gold_answer[k] for k in missed}, display_order)
    given_screen = to_screen(document, {k: canonical_answers[k] for k in missed if k in canonical_answers}, display_order)
    out = []
    for question_id in missed:
        question = _question(document, question_id)
        out.append(
            GoldMiss(
                question_id=question_id,
                question=question.get("label") or question.get("prompt") or question_id,
                expected=_describe(question, expected_screen.get(question_id)),
                given=_describe(question, given_screen.get(question_id)),
            )
        )
    return tuple(out)


class QualificationState(str, enum.Enum):
    NOT_REQUIRED = "not_required"
    IN_PROGRESS = "in_progress"
    PASSED = "passed"
    FAILED = "failed"


@dataclass(frozen=True)
class Qualification:
    state: QualificationState
    needed: int
    answered: int = 0
    correct: int = 0
    min_accuracy: float = 0.0

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.answered if self.answered else None

    @property
    def allows_live_work(self) -> bool:
        return self.state in (QualificationState.NOT_REQUIRED, QualificationState.PASSED)


def qualification(session: Session, project: Project, rater: User) -> Qualification:
    """Where the rater stands on the project's qualification set."""
    if project.qualification_items <= 0:
        return Qualification(QualificationState.NOT_REQUIRED, 0)
    n_gold = session.scalar(
        select(func.count()).select_from(Item).where(Item.project_id == project.id, Item.is_gold.is_(True))
    ) or 0
    needed = min(project.qualification_items, n_gold)
    if needed == 0:
        return Qualification(QualificationState.NOT_REQUIRED, 0)
    rows = session.execute(
        select(Judgment.answers, Item.gold_answer, Lease.rubric_version_id)
        .join(Lease, Lease.id == Judgment.lease_id)
        .join(Item, Item.id == Judgment.item_id)
        .where(
            Judgment.project_id == project.id,
            Judgment.rater_id == rater.id,
            Judgment.superseded_by_id.is_(None),
            Lease.purpose == LeasePurpose.QUALIFICATION,
        )
        .order_by(Judgment.submitted_at, Judgment.id)
    ).all()
    documents: dict[int, dict[str, Any]] = {}
    correct = 0
    for answers, gold_answer, version_id in rows[:needed]:
        if version_id not in documents:
            documents[version_id] = session.get(RubricVersion, version_id).document
        correct += not gold_misses(documents[version_id], gold_answer, answers)
    answered = min(len(rows), needed)
    if answered < needed:
        state = QualificationState.IN_PROGRESS
    elif correct / needed + 1e-12 >= project.qualification_min_accuracy:
        state = QualificationState.PASSED
    else:
        state = QualificationState.FAILED
    return Qualification(state, needed, answered, correct, project.qualification_min_accuracy)
