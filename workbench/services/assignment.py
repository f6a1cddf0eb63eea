"""Which item a rater sees next, and in which order its responses are shown.

Rules: an item never has more than ``overlap_k`` live judgments plus open leases; a rater
never gets an item they have judged; items closest to completion come first; a rater
with an open lease gets the same item back (a reload does not skip work). Sides are
counterbalanced: each item alternates which response is shown on the left.

Concurrency: SQLite runs every transaction as ``BEGIN IMMEDIATE`` (see ``db.py``), so
assignment is serialized. PostgreSQL locks the candidate item row with
``FOR NO KEY UPDATE SKIP LOCKED`` and recounts after the lock, so two raters never take the
last place on one item; when every candidate is locked it waits for one instead of
reporting that nothing is left.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from ..domain import TaskKind
from ..models import Item, Judgment, Lease, Project, Response, RubricVersion, User, utcnow
from .rubrics import current_version

SLOT_LABELS = ("A", "B")


@dataclass(frozen=True)
class ShownResponse:
    """What a rater may see of a response: its slot and its text. Never the model."""

    slot: str
    text: str


@dataclass(frozen=True)
class RatingTask:
    lease_id: int
    item_id: int
    prompt: Any
    responses: tuple[ShownResponse, ...]
    rubric_version_id: int
    rubric_document: dict[str, Any]
    rubric_number: int
    rubric_sha256: str
    issued_at: datetime
    expires_at: datetime


def _taken_count(project: Project, now: datetime):
    """Correlated count of live judgments plus other raters' open, unexpired leases per item."""
    judged = (
        select(func.count())
        .where(Judgment.item_id == Item.id, Judgment.superseded_by_id.is_(None))
        .correlate(Item)
        .scalar_subquery()
    )
    leased = (
        select(func.count())
        .where(Lease.item_id == Item.id, Lease.completed_at.is_(None), Lease.expires_at > now)
        .correlate(Item)
        .scalar_subquery()
    )
    return judged + leased


def _open_lease(session: Session, project: Project, rater: User, now: datetime) -> Lease | None:
    return session.scalar(
        select(Lease)
        .where(
            Lease.project_id == project.id,
            Lease.rater_id == rater.id,
            Lease.completed_at.is_(None),
            Lease.expires_at > now,
        )
        .order_by(Lease.issued_at)
        .limit(1)
    )


def _candidates(session: Session, project: Project, rater: User, now: datetime, exclude: set[int], wait: bool = False):
    taken = _taken_count(project, now)
    mine = exists().where(
        Lease.item_id == Item.id,
        Lease.rater_id == rater.id,
        or_(Lease.completed_at.is_not(None), Lease.expires_at > now),
    )
    judged_by_me = exists().where(Judgment.item_id == Item.id, Judgment.rater_id == rater.id)
    query = (
        select(Item.id)
        .where(Item.project_id == project.id, ~mine, ~judged_by_me, taken < project.overlap_k)
        .order_by(taken.desc(), Item.id)
        .limit(1)
    )
    if exclude:
        query = query.where(Item.id.not_in(exclude))
    if session.get_bind().dialect.name == "postgresql":
        # FOR NO KEY UPDATE does not conflict with the key-share locks that inserting a
        # lease or judgment takes on the item, so only a competing assignment blocks.
        query = query.with_for_update(skip_locked=not wait, of=Item, key_share=True)
    return session.scalar(query)


def _display_order(session: Session, project: Project, item_id: int, rater: User, now: datetime) -> list[int]:
    """Counterbalance: show the item with the side order fewer of its other raters got."""
    if project.task_kind != TaskKind.PAIRWISE:
        return [0]
    orders = session.scalars(
        select(Lease.display_order).where(
            Lease.item_id == item_id,
            Lease.rater_id != rater.id,
            or_(Lease.completed_at.is_not(None), Lease.expires_at > now),
        )
    ).all()
    n_swapped = sum(1 for order in orders if list(order) == [1, 0])
    n_straight = len(orders) - n_swapped
    if n_swapped != n_straight:
        return [1, 0] if n_swapped < n_straight else [0, 1]
    rng = random.Random(f"{project.seed}:{item_id}:{rater.id}")
    return [1, 0] if rng.random() < 0.5 else [0, 1]


def _task(session: Session, lease: Lease) -> RatingTask:
    version: RubricVersion = lease.rubric_version
    responses = {
        r.position: r.text
        for r in session.scalars(select(Response).where(Response.item_id == lease.item_id))
    }
    shown = tuple(ShownResponse(SLOT_LABELS[slot], responses[position]) for slot, position in enumerate(lease.display_order))
    return RatingTask(
        lease_id=lease.id,
        item_id=lease.item_id,
        prompt=lease.item.prompt,
        responses=shown,
        rubric_version_id=version.id,
        rubric_document=version.document,
        rubric_number=version.number,
        rubric_sha256=version.content_sha256,
        issued_at=lease.issued_at,
        expires_at=lease.expires_at,
    )


def next_assignment(session: Session, project: Project, rater: User, now: datetime | None = None) -> RatingTask | None:
    """The rater's open task, or a newly leased one, or None when nothing is left for them."""
    now = now or utcnow()
    lease = _open_lease(session, project, rater, now)
    if lease is not None:
        return _task(session, lease)
    version = current_version(session, project)
    tried: set[int] = set()
    while True:
        item_id = _candidates(session, project, rater, now, tried)
        if item_id is None and session.get_bind().dialect.name == "postgresql":
            # Every candidate may have been locked by another rater's assignment while it
            # still has room: wait for that one instead of answering "nothing left".
            item_id = _candidates(session, project, rater, now, tried, wait=True)
        if item_id is None:
            return None
        tried.add(item_id)
        # Recount now that the item row is locked (a no-op re-read on SQLite, where the
        # whole transaction already holds the write lock).
        taken = session.scalar(
            select(_taken_count(project, now)).select_from(Item).where(Item.id == item_id)
        )
        if taken < project.overlap_k:
            break
    expires = now + timedelta(minutes=project.lease_minutes)
    lease = session.scalar(select(Lease).where(Lease.item_id == item_id, Lease.rater_id == rater.id))
    order = _display_order(session, project, item_id, rater, now)
    if lease is None:
        lease = Lease(project_id=project.id, item_id=item_id, rater_id=rater.id)
        session.add(lease)
    lease.rubric_version_id = version.id
    lease.display_order = order
    lease.issued_at = now
    lease.expires_at = expires
    lease.completed_at = None
    session.flush()
    session.refresh(lease)
    return _task(session, lease)


def item_has_room(session: Session, project: Project, item_id: int, now: datetime, excluding_lease: int) -> bool:
    """Whether one more judgment fits on the item, not counting the given lease."""
    judged = session.scalar(
        select(func.count()).where(Judgment.item_id == item_id, Judgment.superseded_by_id.is_(None))
    )
    leased = session.scalar(
        select(func.count()).where(
            and_(Lease.item_id == item_id, Lease.completed_at.is_(None), Lease.expires_at > now, Lease.id != excluding_lease)
        )
    )
    return judged + leased < project.overlap_k


def task_for_lease(session: Session, rater: User, lease_id: int) -> RatingTask:
    """The task behind one of the rater's leases (to re-show it with validation errors)."""
    from ..errors import NotFound

    lease = session.get(Lease, lease_id)
    if lease is None or lease.rater_id != rater.id:
        raise NotFound("no such task for you")
    return _task(session, lease)
