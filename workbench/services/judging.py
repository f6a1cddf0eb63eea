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

from sqlalchemy import bindparam, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from ..db import execute_core
from ..domain import LeasePurpose
from ..errors import Conflict, FieldError, InvalidInput, NotFound
from ..models import Item, Judgment, Lease, Project, RepeatJudgment, RubricVersion, User, utcnow
from ..rubric import normalize_answers, to_canonical, validate_judgment
from .assignment import item_has_room
from .gold import GoldMiss, explain_misses
from .rubrics import version_document

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


_leases, _versions, _judgments, _items = (model.__table__ for model in (Lease, RubricVersion, Judgment, Item))

_LEASE = (
    select(
        _leases.c.id,
        _leases.c.rater_id,
        _leases.c.project_id,
        _leases.c.item_id,
        _leases.c.purpose,
        _leases.c.display_order,
        _leases.c.issued_at,
        _leases.c.expires_at,
        _leases.c.completed_at,
        _leases.c.rubric_version_id,
        _versions.c.content_sha256,
    )
    .join(_versions, _versions.c.id == _leases.c.rubric_version_id)
    .where(_leases.c.id == bindparam("lease_id", type_=_leases.c.id.type))
)
# The lease row is locked for the rest of the transaction, so two submits on one lease
# (a double click, a retry racing the original) run one after the other (PostgreSQL;
# SQLite serializes every write transaction anyway).
_LEASE_LOCKED = _LEASE.with_for_update(of=_leases)

_JUDGMENT_FIELDS = (
    "project_id", "item_id", "rater_id", "rubric_version_id", "lease_id", "answers",
    "display_order", "issued_at", "submitted_at", "duration_ms", "idempotency_key",
)


def _judgment_param(name: str):
    return bindparam(f"j_{name}", type_=_judgments.c[name].type)


def _insert_judgment(dialect_insert):
    """Insert a judgment unless it breaks a unique rule (the idempotency key, or one live
    judgment per item and rater): then nothing is written and no id comes back."""
    return (
        dialect_insert(_judgments)
        .values({name: _judgment_param(name) for name in _JUDGMENT_FIELDS})
        .on_conflict_do_nothing()
        .returning(_judgments.c.id)
    )


_COMPLETE_LEASE = (
    update(_leases).where(_leases.c.id == _judgment_param("lease_id")).values(completed_at=_judgment_param("submitted_at"))
)
_COUNT_JUDGMENT = (
    update(_items).where(_items.c.id == _judgment_param("item_id")).values(n_judgments=_items.c.n_judgments + 1)
)


def _record_in_one_statement():
    """PostgreSQL: the judgment, its lease's completion and the item's count in one
    statement; the two updates only happen when the insert did."""
    written = _insert_judgment(postgresql.insert).cte("written")
    done = exists(select(written.c.id))
    complete = _COMPLETE_LEASE.where(done).cte("complete")
    count = _COUNT_JUDGMENT.where(done).cte("count")
    return select(written.c.id).add_cte(complete, count)


# Per dialect: the statements that record a judgment on an open live lease. The first
# returns its id (none when a unique rule stopped it); the others run only after one came.
_RECORD = {
    "postgresql": (_record_in_one_statement(),),
    "sqlite": (_insert_judgment(sqlite.insert), _COMPLETE_LEASE, _COUNT_JUDGMENT),
}


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
    dialect = session.get_bind().dialect.name
    lease = execute_core(session, _LEASE_LOCKED if dialect == "postgresql" else _LEASE, {"lease_id": lease_id}).first()
    if lease is None or lease.rater_id != rater.id:
        raise NotFound("no such task for you")
    if lease.purpose != LeasePurpose.LIVE or lease.completed_at is not None or lease.expires_at <= now:
        return _record_on_lease(session, rater, session.get(Lease, lease.id), answers, idempotency_key, now)
    # An open live lease: the common case, written with three statements.
    document = version_document(session, lease.rubric_version_id, lease.content_sha256)
    answers = normalize_answers(answers)
    validate_judgment(document, answers, lease.content_sha256)
    values = {**_answered(lease, rater, document, answers, idempotency_key, now), "issued_at": lease.issued_at}
    record, *then = _RECORD[dialect]
    params = {f"j_{name}": value for name, value in values.items()}
    judgment_id = execute_core(session, record, params).scalar()
    if judgment_id is None:
        if session.scalar(select(Judgment.id).where(Judgment.idempotency_key == idempotency_key)) is not None:
            raise Conflict("this idempotency key was already used for another judgment")
        raise Conflict("this item was already judged by you")
    for statement in then:
        execute_core(session, statement, params)
    # The row was written with Core; the object joins the session as that row, unqueried.
    judgment = Judgment(id=judgment_id, superseded_by_id=None, **values)
    make_transient_to_detached(judgment)
    session.add(judgment)
    return Recorded(judgment, created=True)


def _duration_ms(issued_at: datetime, now: datetime) -> int:
    return max(0, int((now - issued_at).total_seconds() * 1000))


def _answered(lease, rater: User, document, answers, idempotency_key: str, now: datetime) -> dict[str, Any]:
    """The fields a judgment and a repeat judgment share: who answered what on ``lease``
    (a ``Lease`` or a row with its columns), stored in canonical orientation."""
    return {
        "project_id": lease.project_id,
        "item_id": lease.item_id,
        "rater_id": rater.id,
        "rubric_version_id": lease.rubric_version_id,
        "lease_id": lease.id,
        "answers": to_canonical(document, answers, lease.display_order),
        "display_order": list(lease.display_order),
        "submitted_at": now,
        "duration_ms": _duration_ms(lease.issued_at, now),
        "idempotency_key": idempotency_key,
    }


def _record_on_lease(
    session: Session, rater: User, lease: Lease, answers: Mapping[str, Any], idempotency_key: str, now: datetime
) -> Recorded:
    """Every other case: a replayed key, a used or expired lease, a gold, qualification or
    repeat item."""
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
    judgment = Judgment(**_answered(lease, rater, document, answers, idempotency_key, now), issued_at=lease.issued_at)
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
    repeat = RepeatJudgment(**_answered(lease, rater, document, answers, idempotency_key, now), original_id=original.id)
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
