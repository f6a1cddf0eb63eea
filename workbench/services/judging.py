"""Record a rater's judgment: validated, in canonical orientation, exactly once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import Conflict, FieldError, InvalidInput, NotFound
from ..models import Judgment, Lease, Project, User, utcnow
from ..rubric import normalize_answers, to_canonical, validate_judgment
from .assignment import item_has_room

MAX_KEY_LENGTH = 100


@dataclass(frozen=True)
class Recorded:
    judgment: Judgment
    created: bool


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
    existing = session.scalar(select(Judgment).where(Judgment.idempotency_key == idempotency_key))
    if existing is not None:
        if existing.rater_id == rater.id and existing.lease_id == lease.id:
            return Recorded(existing, created=False)
        raise Conflict("this idempotency key was already used for another judgment")
    if lease.completed_at is not None:
        raise Conflict("this item was already submitted")
    project = session.get(Project, lease.project_id)
    if lease.expires_at <= now and not item_has_room(session, project, lease.item_id, now, lease.id):
        raise Conflict("your time on this item ran out and it went to other raters; here is the next one")
    document = lease.rubric_version.document
    answers = normalize_answers(answers)
    validate_judgment(document, answers, lease.rubric_version.content_sha256)
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
    except IntegrityError:
        raise Conflict("this item was already judged by you") from None
    return Recorded(judgment, created=True)


def judgments_for_rater(session: Session, project: Project, rater: User) -> list[Judgment]:
    return list(
        session.scalars(
            select(Judgment)
            .where(Judgment.project_id == project.id, Judgment.rater_id == rater.id, Judgment.superseded_by_id.is_(None))
            .order_by(Judgment.submitted_at)
        )
    )
