"""Builders for judge rows in tests: a judge with its machine user, human judgments, verdicts."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from workbench.domain import Role
from workbench.models import Item, Judge, JudgeVerdict, Judgment, Project, User
from workbench.services.rubrics import current_version
from workbench.services.users import create_user

_counter = itertools.count(1)


def make_judge(session: Session, name: str | None = None, model: str = "judge-model") -> Judge:
    n = next(_counter)
    name = name or f"judge-{n}"
    user = create_user(session, f"{name}-{n}@judges.example.org", Role.RATER, None, name=name, is_machine=True)
    judge = Judge(name=name, user_id=user.id, base_url="http://127.0.0.1:9/v1", model=model)
    session.add(judge)
    session.flush()
    return judge


def make_judgment(session: Session, project: Project, item: Item, rater: User, answers: dict[str, Any]) -> Judgment:
    judgment = Judgment(
        project_id=project.id,
        item_id=item.id,
        rater_id=rater.id,
        rubric_version_id=current_version(session, project).id,
        answers=answers,
        display_order=[0, 1],
        idempotency_key=f"test-{next(_counter)}",
    )
    session.add(judgment)
    session.flush()
    return judgment


def make_verdict(
    session: Session,
    project: Project,
    item: Item,
    judge: Judge,
    answers: dict[str, Any],
    confidence: float | None = None,
    *,
    swapped: bool = False,
    display_order: list[int] | None = None,
) -> JudgeVerdict:
    question = next(iter(answers))
    verdict = JudgeVerdict(
        project_id=project.id,
        item_id=item.id,
        judge_id=judge.id,
        rubric_version_id=current_version(session, project).id,
        answers=answers,
        display_order=display_order if display_order is not None else ([1, 0] if swapped else [0, 1]),
        swapped=swapped,
        confidences={} if confidence is None else {question: confidence},
    )
    session.add(verdict)
    session.flush()
    return verdict


def choice(value: str, question: str = "helpful") -> dict[str, Any]:
    return {question: {"choice": value} if value == "tie" else {"choice": value, "strength": 1}}
