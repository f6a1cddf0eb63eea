"""Spot checks: a reviewer samples N judgments per rater (seeded) and marks each correct or not.

Reviewed outcomes count toward a rater's accuracy together with gold items
(``services.calibration`` adds them to the gold tally).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import FieldError, InvalidInput, NotFound
from ..models import Item, Judgment, Project, SpotCheck, User, utcnow
from ..rubric.questions import Questions
from .adjudication import rater_pseudonyms
from .rubrics import current_version


def sample_spot_checks(session: Session, project: Project, per_rater: int, seed: int = 0) -> list[SpotCheck]:
    """Add up to ``per_rater`` not yet sampled live judgments of each rater, chosen with ``seed``.

    The sample of a rater depends only on the seed, the rater and their unsampled judgments,
    so the same call on the same data picks the same judgments.
    """
    if per_rater < 1:
        raise InvalidInput("cannot sample", [FieldError("per_rater", "sample at least one judgment per rater")])
    sampled = select(SpotCheck.judgment_id).where(SpotCheck.project_id == project.id)
    rows = session.execute(
        select(Judgment.rater_id, Judgment.id)
        .join(Item, Item.id == Judgment.item_id)
        .where(
            Judgment.project_id == project.id,
            Judgment.superseded_by_id.is_(None),
            Item.is_gold.is_(False),
            Judgment.id.not_in(sampled),
        )
        .order_by(Judgment.rater_id, Judgment.id)
    ).all()
    by_rater: dict[int, list[int]] = {}
    for rater_id, judgment_id in rows:
        by_rater.setdefault(rater_id, []).append(judgment_id)
    created = []
    for rater_id, judgment_ids in sorted(by_rater.items()):
        rng = random.Random(f"{seed}:{project.id}:{rater_id}")
        for judgment_id in sorted(rng.sample(judgment_ids, min(per_rater, len(judgment_ids)))):
            check = SpotCheck(project_id=project.id, judgment_id=judgment_id, rater_id=rater_id, note="")
            session.add(check)
            created.append(check)
    session.flush()
    return created


def review_spot_check(
    session: Session,
    project: Project,
    check_id: int,
    correct: bool | None,
    note: str,
    reviewer: User,
    question_id: str | None = None,
) -> SpotCheck:
    check = session.get(SpotCheck, check_id)
    if check is None or check.project_id != project.id:
        raise NotFound(f"no spot check {check_id} in this project")
    errors = []
    if correct is None:
        errors.append(FieldError("correct", "say whether the judgment is correct"))
    note = (note or "").strip()
    if len(note) > 5000:
        errors.append(FieldError("note", "a note has at most 5000 characters"))
    if question_id and Questions.of(check.judgment.rubric_version.document).get(question_id) is None:
        errors.append(FieldError("question", f"no question {question_id!r} in this rubric"))
    if errors:
        raise InvalidInput("the review is incomplete", errors)
    check.correct = correct
    check.note = note
    check.question_id = question_id or None
    check.reviewer_id = reviewer.id
    check.reviewed_at = utcnow()
    session.flush()
    return check


@dataclass(frozen=True)
class SpotCheckRow:
    check: SpotCheck
    pseudonym: str
    item: Item
    answers: tuple[tuple[str, str], ...]  # (question label, answer in words), canonical orientation


@dataclass(frozen=True)
class SpotCheckQueue:
    pending: tuple[SpotCheckRow, ...]
    reviewed: tuple[SpotCheckRow, ...]
    questions: tuple[tuple[str, str], ...]  # (id, label) of the current rubric version


def spot_check_queue(session: Session, project: Project) -> SpotCheckQueue:
    names = rater_pseudonyms(session, project)
    checks = session.scalars(
        select(SpotCheck).where(SpotCheck.project_id == project.id).order_by(SpotCheck.rater_id, SpotCheck.id)
    ).all()
    rows = []
    for c in checks:
        j = c.judgment
        answers = tuple(
            (q.label, q.words(j.answers[q.id])) for q in Questions.of(j.rubric_version.document) if q.id in j.answers
        )
        rows.append(SpotCheckRow(c, names.get(c.rater_id, "R?"), j.item, answers))
    document = current_version(session, project).document
    return SpotCheckQueue(
        pending=tuple(r for r in rows if r.check.correct is None),
        reviewed=tuple(
            sorted((r for r in rows if r.check.correct is not None), key=lambda r: r.check.reviewed_at, reverse=True)
        ),
        questions=tuple((q.id, q.label) for q in Questions.of(document).answerable),
    )


def spot_check_tally(session: Session, project: Project) -> dict[int, tuple[int, int]]:
    """Rater id → (judgments marked correct, judgments reviewed)."""
    rows = session.execute(
        select(SpotCheck.rater_id, SpotCheck.correct, func.count())
        .where(SpotCheck.project_id == project.id, SpotCheck.correct.is_not(None))
        .group_by(SpotCheck.rater_id, SpotCheck.correct)
    ).all()
    out: dict[int, list[int]] = {}
    for rater_id, correct, n in rows:
        tally = out.setdefault(rater_id, [0, 0])
        tally[0] += n if correct else 0
        tally[1] += n
    return {k: (v[0], v[1]) for k, v in out.items()}
