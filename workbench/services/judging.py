"""Record a rater's judgment: validated, in canonical orientation, exactly once.

Every submission takes one path, ``record_judgment``: the lease is read (and locked), the
refusals below are checked in one order, the answers are validated against the lease's
rubric version, and the judgment is written. A judgment on a repeat lease (an item shown
again with sides swapped) is stored as a ``RepeatJudgment`` beside the original, never as a
second vote. A judgment on a gold or qualification item comes back with the questions it
missed, for feedback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from ..domain import LeasePurpose
from ..errors import Conflict, FieldError, InvalidInput, NotFound
from ..models import Adjudication, Item, Judgment, Lease, Project, RepeatJudgment, SpotCheck, User, utcnow
from ..rubric import normalize_answers, to_canonical, validate_judgment
from . import rating_sql as sql
from .assignment import Rater, item_has_room
from .gold import GoldMiss, explain_misses
from .rubrics import version_document

MAX_KEY_LENGTH = 100

# Why a submission is refused: one message each, whichever lease it came on.
NOT_YOURS = "no such task for you"
JUDGE_LEASE = "this lease belongs to an LLM judge's run; its answers are verdicts, not judgments"
KEY_USED = "this idempotency key was already used for another judgment"
ALREADY_SUBMITTED = "this item was already submitted or skipped"
ALREADY_JUDGED = "this item was already judged by you"
TIME_RAN_OUT = "your time on this item ran out and it went to other raters; here is the next one"
ORIGINAL_GONE = "the judgment this repeat checks is gone; here is the next item"
REPEAT_RECORDED = "this repeat was already recorded"
NOTHING_TO_UNDO = "there is no judgment of yours on this task to undo"
UNDO_TOO_LATE = "too late to undo: a judgment can be taken back for {seconds} seconds after its submit"
UNDO_SCORED = "an answer on a check item is scored as it is saved; it cannot be taken back"
UNDO_USED = "this judgment has already been reviewed, repeated or adjudicated; it cannot be taken back"


@dataclass(frozen=True)
class Recorded:
    judgment: Judgment | RepeatJudgment
    created: bool
    # On a gold item: the questions answered differently from the expected answer, in the
    # rater's screen terms, and the item's rationale (empty on any other item).
    gold_misses: tuple[GoldMiss, ...] = field(default=())
    gold_rationale: str = ""
    is_gold: bool = False
    gold_feedback: bool = False  # the project shows raters what they missed on gold items


def record_judgment(
    session: Session,
    rater: Rater,
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
        message = f"give a key of 1 to {MAX_KEY_LENGTH} characters"
        raise InvalidInput("cannot record judgment", [FieldError("idempotency_key", message)])
    lease = sql.lease_for_submit(session, lease_id)
    if lease is None or lease.rater_id != rater.id:
        raise NotFound(NOT_YOURS)
    if lease.purpose == LeasePurpose.JUDGE:
        raise Conflict(JUDGE_LEASE)
    # An open lease, the common case, cannot carry a stored judgment yet (recording one
    # completes the lease), so only the other cases look for a replayed key first; on an
    # open lease the insert itself reports a key used elsewhere. Live and gold leases take
    # this path alike, so a gold submit costs what a live one does.
    is_open = lease.purpose != LeasePurpose.REPEAT and lease.completed_at is None and lease.expires_at > now
    if not is_open:
        replayed = _replayed(session, rater, lease, idempotency_key)
        if replayed is not None:
            return replayed
        if lease.completed_at is not None:
            raise Conflict(ALREADY_SUBMITTED)
        if lease.purpose == LeasePurpose.LIVE and not item_has_room(
            session, lease.overlap_k, lease.item_id, now, lease.id
        ):
            raise Conflict(TIME_RAN_OUT)
    document = version_document(session, lease.rubric_version_id, lease.content_sha256)
    answers = normalize_answers(answers)
    validate_judgment(document, answers, lease.content_sha256)
    values = _answered(lease, rater, document, answers, idempotency_key, now)
    if lease.purpose == LeasePurpose.REPEAT:
        return _recorded(session, lease, _write_repeat(session, lease, values), created=True)
    return _recorded(session, lease, _write_judgment(session, lease, values), created=True)


def _answered(lease: Row, rater: Rater, document, answers, idempotency_key: str, now: datetime) -> dict[str, Any]:
    """The fields a judgment and a repeat judgment share: who answered what on the lease,
    stored in canonical orientation."""
    return {
        "project_id": lease.project_id,
        "item_id": lease.item_id,
        "rater_id": rater.id,
        "rubric_version_id": lease.rubric_version_id,
        "lease_id": lease.id,
        "answers": to_canonical(document, answers, lease.display_order),
        "display_order": list(lease.display_order),
        "submitted_at": now,
        "duration_ms": max(0, int((now - lease.issued_at).total_seconds() * 1000)),
        "idempotency_key": idempotency_key,
    }


def _replayed(session: Session, rater: Rater, lease: Row, idempotency_key: str) -> Recorded | None:
    """The judgment already stored under this key on this lease (a retried submit), or None;
    a ``Conflict`` when the key was used for anything else."""
    models = (Judgment, RepeatJudgment) if lease.purpose == LeasePurpose.REPEAT else (Judgment,)
    for model in models:
        existing = session.scalar(
            select(model).where(model.rater_id == rater.id, model.idempotency_key == idempotency_key)
        )
        if existing is not None:
            if existing.rater_id == rater.id and existing.lease_id == lease.id:
                return _recorded(session, lease, existing, created=False)
            raise Conflict(KEY_USED)
    return None


def _write_judgment(session: Session, lease: Row, values: dict[str, Any]) -> Judgment:
    """Write the judgment, complete its lease and count it on the item."""
    values = {**values, "issued_at": lease.issued_at}
    judgment_id = sql.insert_judgment(session, values)
    if judgment_id is None:
        used = select(Judgment.id).where(
            Judgment.rater_id == values["rater_id"], Judgment.idempotency_key == values["idempotency_key"]
        )
        if session.scalar(used) is not None:
            raise Conflict(KEY_USED)
        raise Conflict(ALREADY_JUDGED)
    _expire_loaded(session, Lease, lease.id, "completed_at")
    _expire_loaded(session, Item, lease.item_id, "n_judgments")
    # The row was written with Core; the object joins the session as that row, unqueried.
    judgment = Judgment(id=judgment_id, superseded_by_id=None, **values)
    make_transient_to_detached(judgment)
    session.add(judgment)
    return judgment


def _write_repeat(session: Session, lease: Row, values: dict[str, Any]) -> RepeatJudgment:
    original_id = session.scalar(
        select(Judgment.id).where(
            Judgment.item_id == lease.item_id,
            Judgment.rater_id == values["rater_id"],
            Judgment.superseded_by_id.is_(None),
        )
    )
    if original_id is None:
        raise Conflict(ORIGINAL_GONE)
    repeat = RepeatJudgment(**values, original_id=original_id)
    try:
        with session.begin_nested():
            session.add(repeat)
    except IntegrityError:
        raise Conflict(REPEAT_RECORDED) from None
    sql.complete_lease(session, lease.id, values["submitted_at"])
    _expire_loaded(session, Lease, lease.id, "completed_at")
    return repeat


def _expire_loaded(session: Session, model: type, ident: int, attribute: str) -> None:
    """Core wrote this column: a copy the session holds must read it afresh."""
    loaded = session.identity_map.get(session.identity_key(model, ident))
    if loaded is not None:
        session.expire(loaded, [attribute])


def _recorded(session: Session, lease: Row, judgment: Judgment | RepeatJudgment, created: bool) -> Recorded:
    if lease.purpose not in (LeasePurpose.GOLD, LeasePurpose.QUALIFICATION):
        return Recorded(judgment, created)
    document = version_document(session, lease.rubric_version_id, lease.content_sha256)
    misses = explain_misses(document, lease.gold_answer or {}, judgment.answers, judgment.display_order)
    return Recorded(judgment, created, misses, lease.gold_rationale or "", True, lease.gold_feedback)


def recount_judgments(session: Session, project: Project) -> None:
    """Recompute every item's live-judgment count (after judgments were written in bulk)."""
    live = (
        select(func.count())
        .where(Judgment.item_id == Item.id, Judgment.superseded_by_id.is_(None))
        .correlate(Item)
        .scalar_subquery()
    )
    session.execute(update(Item).where(Item.project_id == project.id).values(n_judgments=live))


def judgments_for_rater(session: Session, project: Project, rater: User) -> list[Judgment]:
    return list(
        session.scalars(
            select(Judgment)
            .where(
                Judgment.project_id == project.id, Judgment.rater_id == rater.id, Judgment.superseded_by_id.is_(None)
            )
            .order_by(Judgment.submitted_at)
        )
    )


def undo_judgment(session: Session, rater: Rater, lease_id: int, window: timedelta, now: datetime | None = None) -> int:
    """Take back the judgment a rater just submitted on ``lease_id``; return the lease id.

    The judgment is deleted, the item's count goes down and the lease opens again with the
    time it first had, so the same item comes back to the same rater; any other open lease
    of theirs in the project is released. Refused (``Conflict``) after ``window``, on a gold
    or qualification item (the answer was scored and its expected answer may have been
    shown), and once anything that cannot be taken back used it: a spot check, a repeat, a
    later judgment that replaced it, or an adjudication of the item after the submit.
    """
    now = now or utcnow()
    lease = sql.lease_for_submit(session, lease_id)
    if lease is None or lease.rater_id != rater.id:
        raise NotFound(NOT_YOURS)
    judgment = session.scalar(
        select(Judgment).where(Judgment.lease_id == lease_id, Judgment.rater_id == rater.id).with_for_update()
    )
    if judgment is None or lease.purpose == LeasePurpose.JUDGE:
        raise NotFound(NOTHING_TO_UNDO)
    if lease.purpose != LeasePurpose.LIVE:
        raise Conflict(UNDO_SCORED)
    if now - judgment.submitted_at > window:
        raise Conflict(UNDO_TOO_LATE.format(seconds=int(window.total_seconds())))
    if _judgment_used(session, judgment):
        raise Conflict(UNDO_USED)
    session.execute(delete(Judgment).where(Judgment.id == judgment.id))
    session.execute(update(Item).where(Item.id == judgment.item_id).values(n_judgments=Item.n_judgments - 1))
    session.execute(
        update(Lease)
        .where(
            Lease.project_id == lease.project_id,
            Lease.rater_id == rater.id,
            Lease.id != lease_id,
            Lease.completed_at.is_(None),
            Lease.expires_at > now,
        )
        .values(expires_at=now)
    )
    session.execute(
        update(Lease)
        .where(Lease.id == lease_id)
        .values(completed_at=None, expires_at=now + (lease.expires_at - lease.issued_at))
    )
    session.expunge(judgment)
    _expire_loaded(session, Item, judgment.item_id, "n_judgments")
    _expire_loaded(session, Lease, lease_id, "completed_at")
    return lease_id


def _judgment_used(session: Session, judgment: Judgment) -> bool:
    """Whether something that cannot be taken back already rests on this judgment."""
    if judgment.superseded_by_id is not None:
        return True
    return bool(
        session.scalar(
            select(
                or_(
                    exists().where(SpotCheck.judgment_id == judgment.id),
                    exists().where(RepeatJudgment.original_id == judgment.id),
                    exists().where(Judgment.superseded_by_id == judgment.id),
                    exists().where(
                        Adjudication.item_id == judgment.item_id, Adjudication.created_at >= judgment.submitted_at
                    ),
                )
            )
        )
    )
