"""Two raters compared on the items both judged: confusion matrix, Cohen's kappa, alpha."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import FieldError, InvalidInput
from ..models import Item, Judgment, Project, User
from ..stats.comparison import TwoRaterAgreement, two_rater_agreement
from .questions import MeasuredQuestion, find_question, measured_questions
from .rubrics import current_version


@dataclass(frozen=True)
class Disagreement:
    item_id: int
    external_id: str
    answer_a: str
    answer_b: str


@dataclass(frozen=True)
class RaterComparison:
    question: MeasuredQuestion
    questions: tuple[MeasuredQuestion, ...]
    rater_a: User
    rater_b: User
    labels: tuple[str, ...]  # the value domain in words, rows and columns of the matrix
    result: TwoRaterAgreement
    disagreements: tuple[Disagreement, ...]


def project_raters(session: Session, project: Project) -> list[User]:
    """Everyone with a live judgment in the project, by name."""
    ids = select(Judgment.rater_id).where(Judgment.project_id == project.id, Judgment.superseded_by_id.is_(None))
    return list(session.scalars(select(User).where(User.id.in_(ids)).order_by(User.name, User.id)))


def _labels(question: MeasuredQuestion) -> tuple[str, ...]:
    if question.is_strength:
        return tuple(f"{v:+d}" if v else "0 (tie)" for v in question.domain)
    if question.kind == "pairwise":
        return ("A", "B", "tie")
    return tuple(question.question.words(v) for v in question.domain)


def compare_raters(
    session: Session, project: Project, rater_a_id: int, rater_b_id: int, question_key: str | None = None
) -> RaterComparison:
    if rater_a_id == rater_b_id:
        raise InvalidInput("pick two different raters", [FieldError("b", "the same rater twice")])
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_([rater_a_id, rater_b_id])))}
    if len(users) != 2:
        raise InvalidInput("unknown rater", [FieldError("a", "no such rater")])
    document = current_version(session, project).document
    question = find_question(document, question_key)
    rows = session.execute(
        select(Judgment.item_id, Judgment.rater_id, Judgment.answers[question.question_id], Item.external_id)
        .join(Item, Item.id == Judgment.item_id)
        .where(
            Judgment.project_id == project.id,
            Judgment.superseded_by_id.is_(None),
            Judgment.rater_id.in_([rater_a_id, rater_b_id]),
        )
        .order_by(Judgment.item_id)
    ).all()
    answers: dict[int, dict[int, object]] = {}
    external: dict[int, str] = {}
    for item_id, rater_id, answer, external_id in rows:
        answers.setdefault(item_id, {})[rater_id] = answer
        external[item_id] = external_id
    index = {float(v): i for i, v in enumerate(question.value_domain)}
    x, y, disagreements = [], [], []
    for item_id, pair in sorted(answers.items()):
        if len(pair) < 2:
            continue
        ca, cb = question.code(pair[rater_a_id]), question.code(pair[rater_b_id])
        if ca is None or cb is None:
            continue
        x.append(index[ca])
        y.append(index[cb])
        if ca != cb:
            disagreements.append(
                Disagreement(
                    item_id,
                    external[item_id],
                    question.question.words(pair[rater_a_id]),
                    question.question.words(pair[rater_b_id]),
                )
            )
    result = two_rater_agreement(
        np.array(x, dtype=np.int64), np.array(y, dtype=np.int64), question.value_domain, question.level
    )
    return RaterComparison(
        question=question,
        questions=tuple(measured_questions(document)),
        rater_a=users[rater_a_id],
        rater_b=users[rater_b_id],
        labels=_labels(question),
        result=result,
        disagreements=tuple(disagreements),
    )
