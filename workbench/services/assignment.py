"""Which item a rater sees next, and in which order its responses are shown.

Rules: an item never has more than ``overlap_k`` live judgments plus open leases; a rater
never gets an item they have judged; items closest to completion come first; a rater
with an open lease gets the same item back (a reload does not skip work). Sides are
counterbalanced: each item alternates which response is shown on the left.

Besides live items a rater is shown, in this order of precedence: the qualification set
(gold items, before any live work, see ``gold.py``); a swapped repeat of an item they judged
earlier, at the project's ``repeat_rate``; a gold item, at the project's ``gold_rate``. Gold
items have no overlap limit and are only shown while live work remains, so they look like
any other item. The draws are seeded by (project seed, rater, number of items shown).

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

from ..domain import LeasePurpose, TaskKind
from ..models import Item, Judgment, Lease, Project, Response, RubricVersion, User, utcnow
from .gold import QualificationState, qualification
from .rubrics import current_version

# A repeat is drawn only from judgments older than the rater's last few, so it is not
# recognized as the item just seen.
REPEAT_MIN_DISTANCE = 3

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
    return judged + _open_live_leases(now)


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


def _seen_by(rater: User, now: datetime):
    """Items the rater holds, has finished or skipped, or has judged."""
    leased = exists().where(
        Lease.item_id == Item.id,
        Lease.rater_id == rater.id,
        or_(Lease.completed_at.is_not(None), Lease.expires_at > now),
    )
    judged = exists().where(
        Judgment.item_id == Item.id, Judgment.rater_id == rater.id, Judgment.superseded_by_id.is_(None)
    )
    return or_(leased, judged)


def _open_live_leases(now: datetime):
    """Correlated count of the item's open, unexpired live leases (few at any time)."""
    return (
        select(func.count())
        .where(
            Lease.item_id == Item.id,
            Lease.purpose == LeasePurpose.LIVE,
            Lease.completed_at.is_(None),
            Lease.expires_at > now,
        )
        .correlate(Item)
        .scalar_subquery()
    )


def _candidates(session: Session, project: Project, rater: User, now: datetime, exclude: set[int], wait: bool = False):
    """The first live item with room for the rater: most judgments first, then lowest id.

    One query per judgment count, from ``overlap_k - 1`` down to 0, each an ordered walk of
    ``ix_items_next`` (project, is_gold, n_judgments, id) that stops at the first match, so
    the cost does not grow with the number of items.
    """
    leased = _open_live_leases(now)
    postgres = session.get_bind().dialect.name == "postgresql"

    def first(query):
        if exclude:
            query = query.where(Item.id.not_in(exclude))
        if postgres:
            # FOR NO KEY UPDATE does not conflict with the key-share locks that inserting a
            # lease or judgment takes on the item, so only a competing assignment blocks.
            query = query.with_for_update(skip_locked=not wait, of=Item, key_share=True)
        return session.scalar(query)

    live = (Item.project_id == project.id, Item.is_gold.is_(False), ~_seen_by(rater, now))
    if wait:
        # Waiting for a locked row: PostgreSQL re-checks the conditions on the row as the
        # other transaction left it (its judgment counted), so they must not pin the count.
        return first(
            select(Item.id)
            .where(*live, Item.n_judgments + leased < project.overlap_k)
            .order_by(Item.n_judgments.desc(), Item.id)
            .limit(1)
        )
    for level in range(project.overlap_k - 1, -1, -1):
        item_id = first(
            select(Item.id)
            .where(*live, Item.n_judgments == level, level + leased < project.overlap_k)
            .order_by(Item.id)
            .limit(1)
        )
        if item_id is not None:
            return item_id
    return None


def _display_order(session: Session, project: Project, item_id: int, rater: User, now: datetime) -> list[int]:
    """Counterbalance: show the item with the side order fewer of its other raters got."""
    if project.task_kind != TaskKind.PAIRWISE:
        return [0]
    orders = session.scalars(
        select(Lease.display_order).where(
            Lease.item_id == item_id,
            Lease.rater_id != rater.id,
            Lease.purpose != LeasePurpose.REPEAT,
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
    rows = session.execute(
        select(Item.prompt, Response.position, Response.text)
        .join(Response, Response.item_id == Item.id)
        .where(Item.id == lease.item_id)
    ).all()
    responses = {position: text for _, position, text in rows}
    shown = tuple(ShownResponse(SLOT_LABELS[slot], responses[position]) for slot, position in enumerate(lease.display_order))
    return RatingTask(
        lease_id=lease.id,
        item_id=lease.item_id,
        prompt=rows[0].prompt,
        responses=shown,
        rubric_version_id=version.id,
        rubric_document=version.document,
        rubric_number=version.number,
        rubric_sha256=version.content_sha256,
        issued_at=lease.issued_at,
        expires_at=lease.expires_at,
    )


def _gold_candidate(session: Session, project: Project, rater: User, now: datetime, rng: random.Random) -> int | None:
    ids = session.scalars(
        select(Item.id)
        .where(Item.project_id == project.id, Item.is_gold.is_(True), ~_seen_by(rater, now))
        .order_by(Item.id)
    ).all()
    return rng.choice(ids) if ids else None


def _repeat_candidate(session: Session, project: Project, rater: User, rng: random.Random) -> Judgment | None:
    if project.task_kind != TaskKind.PAIRWISE:
        return None
    repeated = set(
        session.scalars(
            select(Lease.item_id).where(
                Lease.project_id == project.id, Lease.rater_id == rater.id, Lease.purpose == LeasePurpose.REPEAT
            )
        )
    )
    judgments = session.scalars(
        select(Judgment)
        .join(Item, Item.id == Judgment.item_id)
        .where(
            Judgment.project_id == project.id,
            Judgment.rater_id == rater.id,
            Judgment.superseded_by_id.is_(None),
            Item.is_gold.is_(False),
        )
        .order_by(Judgment.submitted_at.desc(), Judgment.id.desc())
    ).all()
    eligible = [j for j in judgments[REPEAT_MIN_DISTANCE:] if j.item_id not in repeated]
    return rng.choice(eligible) if eligible else None


def _issue(
    session: Session,
    project: Project,
    rater: User,
    item_id: int,
    purpose: LeasePurpose,
    version: RubricVersion,
    order: list[int],
    now: datetime,
) -> RatingTask:
    lease = session.scalar(
        select(Lease).where(Lease.item_id == item_id, Lease.rater_id == rater.id, Lease.purpose == purpose)
    )
    if lease is None:
        lease = Lease(project_id=project.id, item_id=item_id, rater_id=rater.id, purpose=purpose)
        session.add(lease)
    lease.rubric_version_id = version.id
    lease.display_order = order
    lease.issued_at = now
    lease.expires_at = now + timedelta(minutes=project.lease_minutes)
    lease.completed_at = None
    session.flush()
    return _task(session, lease)


def _draw(session: Session, project: Project, rater: User) -> random.Random:
    if project.gold_rate <= 0 and project.repeat_rate <= 0 and project.qualification_items <= 0:
        return random.Random(0)  # nothing to draw
    shown = session.scalar(
        select(func.count()).select_from(Lease).where(Lease.project_id == project.id, Lease.rater_id == rater.id)
    )
    return random.Random(f"{project.seed}:{rater.id}:{shown}")


def next_assignment(session: Session, project: Project, rater: User, now: datetime | None = None) -> RatingTask | None:
    """The rater's open task, or a newly leased one, or None when nothing is left for them
    (or when they did not pass the qualification set)."""
    now = now or utcnow()
    lease = _open_lease(session, project, rater, now)
    if lease is not None:
        return _task(session, lease)
    version = current_version(session, project)
    rng = _draw(session, project, rater)
    standing = qualification(session, project, rater)
    if standing.state == QualificationState.IN_PROGRESS:
        gold_id = _gold_candidate(session, project, rater, now, rng)
        if gold_id is not None:
            order = _display_order(session, project, gold_id, rater, now)
            return _issue(session, project, rater, gold_id, LeasePurpose.QUALIFICATION, version, order, now)
    if not standing.allows_live_work:
        return None
    item_id = _live_candidate(session, project, rater, now)
    if item_id is None:
        return None
    if project.repeat_rate > 0 and rng.random() < project.repeat_rate:
        original = _repeat_candidate(session, project, rater, rng)
        if original is not None:
            order = list(reversed(original.display_order))
            return _issue(
                session, project, rater, original.item_id, LeasePurpose.REPEAT, original.rubric_version, order, now
            )
    if project.gold_rate > 0 and rng.random() < project.gold_rate:
        gold_id = _gold_candidate(session, project, rater, now, rng)
        if gold_id is not None:
            order = _display_order(session, project, gold_id, rater, now)
            return _issue(session, project, rater, gold_id, LeasePurpose.GOLD, version, order, now)
    order = _display_order(session, project, item_id, rater, now)
    return _issue(session, project, rater, item_id, LeasePurpose.LIVE, version, order, now)


def _live_candidate(session: Session, project: Project, rater: User, now: datetime) -> int | None:
    """A live item with room for the rater, locked against other assignments (PostgreSQL)."""
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
            return item_id


def item_has_room(session: Session, project: Project, item_id: int, now: datetime, excluding_lease: int) -> bool:
    """Whether one more judgment fits on the item, not counting the given lease."""
    judged = session.scalar(
        select(func.count()).where(Judgment.item_id == item_id, Judgment.superseded_by_id.is_(None))
    )
    leased = session.scalar(
        select(func.count()).where(
            and_(
                Lease.item_id == item_id,
                Lease.purpose == LeasePurpose.LIVE,
                Lease.completed_at.is_(None),
                Lease.expires_at > now,
                Lease.id != excluding_lease,
            )
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
