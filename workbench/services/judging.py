"""Record a rater's judgment: validated, in canonical orientation, exactly once.

A judgment on a repeat lease (an item shown again with sides swapped) is stored as a
``RepeatJudgment`` beside the original, never as a second vote. A judgment on a gold or
qualification item comes back with the questions it missed, for feedback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import Conflict, FieldError, InvalidInput, NotFound
from ..domain import LeasePurpose
from ..models import Item, Judgment, Lease, Project, RepeatJudgment, User, utcnow
from ..rubric import normalize_answers, to_canonical, validate_judgment
from .assignment import item_has_room
from .gold import GoldMiss, explain_misses

MAX_KEY_LENGTH = 100


@dataclass(frozen=True)
class Recorded:
    judgment: Judgment | RepeatJudgment
    created: bool
    # On a gold item: the questions answered differently from the expected answer, in the
    # rater's screen terms, and the item's rationale (empty on any other item).
    gold_misses: tuple[GoldMiss, ...] = field(default=())
    gold_rationale: str = ""
    is_gold: bool = False


def _recorded(lease: Lease, judgment: Judgment | RepeatJudgment, created: bool) -> Recorded:
    if lease.purpose not in (LeasePurpose.GOLD, LeasePurpose.QUALIFICATION):
        return Recorded(judgment, created)
    item = lease.item
    misses = explain_misses(lease.rubric_version.document, item.gold_answer or {}, judgment.answers, judgment.display_order)
    return Recorded(judgment, created, misses, item.gold_rationale or "", is_gold=True)


def _existing(session: Session, lease: Lease, idempotency_key: str) -> Judgment | RepeatJudgment | None:
    models = (Judgment, RepeatJudgment) if lease.purpose == LeasePurpose.REPEAT else (Judgment,)
    for model in models:
        row = session.scalar(select(model).where(model.idempotency_key == idempotency_key))
        if row is not None:
            return row
    return None


def record_judgment(
    session: Session,
    rater: User,
    lease_id: int,
    answers: Mapping[str, Any],
    idempotency_key: str,
    now: datetime | None = None,
) -> Recorded:
    """Store the answers given on a lease (screen orientation) as one judgment.

    A repeat with the same idempotency key returns the judgment already stored. A used
    lease, or an expired one whose item has since been filled by others, is a ``Conflict``.
    Answers that do not fit the rubric version raise ``JudgmentInvalid``; nothing is stored.
    """
    now = now or utcnow()
    if not idempotency_key or len(idempotency_key) > MAX_KEY_LENGTH:
        raise InvalidInput("cannot record judgment", [FieldError("idempotency_key", f"give a key of 1 to {MAX_KEY_LENGTH} characters")])
    query = select(Lease).where(Lease.id == lease_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    lease = session.scalar(query)
    if lease is None or lease.rater_id != rater.id:
        raise NotFound("no such task for you")
    existing = _existing(session, lease, idempotency_key)
    if existing is not None:
        if existing.rater_id == rater.id and existing.lease_id == lease.id:
            return _recorded(lease, existing, created=False)
        raise Conflict("this idempotency key was already used for another judgment")
    if lease.completed_at is not None:
        raise Conflict("this item was already submitted or skipped")
    project = session.get(Project, lease.project_id)
    if (
        lease.purpose == LeasePurpose.LIVE
        and lease.expires_at <= now
        and not item_has_room(session, project, lease.item_id, now, lease.id)
    ):
        raise Conflict("your time on this item ran out and it went to other raters; here is the next one")
    document = lease.rubric_version.document
    answers = normalize_answers(answers)
    validate_judgment(document, answers, lease.rubric_version.content_sha256)
    if lease.purpose == LeasePurpose.REPEAT:
        return _recorded(lease, _record_repeat(session, rater, lease, document, answers, idempotency_key, now), True)
    judgment = Judgment(
        project_id=lease.project_id,
        item_id=lease.item_id,
        rater_id=rater.id,
        rubric_version_id=lease.rubric_version_id,
        lease_id=lease.id,
        answers=to_canonical(document, answers, lease.display_order),
        display_order=list(lease.display_order),
        issued_at=lease.issued_at,
        submitted_at=now,
        duration_ms=max(0, int((now - lease.issued_at).total_seconds() * 1000)),
        idempotency_key=idempotency_key,
    )
    try:
        with session.begin_nested():
            session.add(judgment)
            lease.completed_at = now
            session.flush()
    except IntegrityError:
        raise Conflict("this item was already judged by you") from None
    session.execute(update(Item).where(Item.id == lease.item_id).values(n_judgments=Item.n_judgments + 1))
    return _recorded(lease, judgment, created=True)


def recount_judgments(session: Session, project: Project) -> None:
    """Recompute every item's live-judgment count (after judgments were written in bulk)."""
    live = (
        select(func.count())
        .where(Judgment.item_id == Item.id, Judgment.superseded_by_id.is_(None))
        .correlate(Item)
        .scalar_subquery()
    )
    session.execute(update(Item).where(Item.project_id == project.id).values(n_judgments=live))


def _record_repeat(session: Session, rater: User, lease: Lease, document, answers, idempotency_key: str, now: datetime):
    original = session.scalar(
        select(Judgment).where(
            Judgment.item_id == lease.item_id, Judgment.rater_id == rater.id, Judgment.superseded_by_id.is_(None)
        )
    )
    if original is None:
        raise Conflict("the judgment this repeat checks is gone; here is the next item")
    repeat = RepeatJudgment(
        project_id=lease.project_id,
        item_id=lease.item_id,
        rater_id=rater.id,
        original_id=original.id,
        rubric_version_id=lease.rubric_version_id,
        lease_id=lease.id,
        answers=to_canonical(document, answers, lease.display_order),
        display_order=list(lease.display_order),
        submitted_at=now,
        duration_ms=max(0, int((now - lease.issued_at).total_seconds() * 1000)),
        idempotency_key=idempotency_key,
    )
    try:
        with session.begin_nested():
            session.add(repeat)
            lease.completed_at = now
    except IntegrityError:
        raise Conflict("this repeat was already recorded") from None
    return repeat


def judgments_for_rater(session: Session, project: Project, rater: User) -> list[Judgment]:
    return list(
        session.scalars(
            select(Judgment)
            .where(Judgment.project_id == project.id, Judgment.rater_id == rater.id, Judgment.superseded_by_id.is_(None))
            .order_by(Judgment.submitted_at)
        )
    )
