"""Gold items: checking a judgment against the expected answer, and the qualification set.

A gold answer is stored like a judgment's answers, in canonical orientation, and names only
the questions that have an expected answer. An answer is right when the question calls it
the same as the expected one (``Question.same``): a pairwise question by its choice
(strength is not checked: how much better is a matter of degree), a multiple choice as a
set, any other question by its value.

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
from ..rubric.questions import Questions


@dataclass(frozen=True)
class GoldMiss:
    """One question answered differently from the gold answer, in the rater's screen terms."""

    question_id: str
    question: str
    expected: str
    given: str


def gold_misses(
    document: Any, gold_answer: Mapping[str, Any] | None, canonical_answers: Mapping[str, Any]
) -> list[str]:
    """Ids of the gold questions the (canonical) answers got wrong; empty when all are right."""
    questions = Questions.of(document)
    return [
        question_id
        for question_id, expected in (gold_answer or {}).items()
        if (q := questions.get(question_id)) is not None and not q.same(expected, canonical_answers.get(question_id))
    ]


def explain_misses(
    document: Any,
    gold_answer: Mapping[str, Any],
    canonical_answers: Mapping[str, Any],
    display_order: list[int],
) -> tuple[GoldMiss, ...]:
    """The misses as the rater saw the item: sides named as they were on their screen."""
    questions = Questions.of(document)
    out = []
    for question_id in gold_misses(questions, gold_answer, canonical_answers):
        question = questions.question(question_id)
        out.append(
            GoldMiss(
                question_id=question_id,
                question=question.heading,
                expected=question.words_on_screen(gold_answer[question_id], display_order),
                given=question.words_on_screen(canonical_answers.get(question_id), display_order),
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
    n_gold = (
        session.scalar(
            select(func.count()).select_from(Item).where(Item.project_id == project.id, Item.is_gold.is_(True))
        )
        or 0
    )
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
    questions: dict[int, Questions] = {}
    correct = 0
    for answers, gold_answer, version_id in rows[:needed]:
        if version_id not in questions:
            questions[version_id] = Questions.of(session.get(RubricVersion, version_id).document)
        correct += not gold_misses(questions[version_id], gold_answer, answers)
    answered = min(len(rows), needed)
    if answered < needed:
        state = QualificationState.IN_PROGRESS
    elif correct / needed + 1e-12 >= project.qualification_min_accuracy:
        state = QualificationState.PASSED
    else:
        state = QualificationState.FAILED
    return Qualification(state, needed, answered, correct, project.qualification_min_accuracy)
