"""Skipping an item, or reporting it as broken: the lease ends without a judgment.

The item leaves the rater's queue and its place goes back to the pool, so other raters
still get it. Every skip and report is kept with its reason for the project's staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain import FlagKind
from ..errors import Conflict, FieldError, InvalidInput, NotFound
from ..models import Item, ItemFlag, Lease, Project, User, utcnow

SKIP_REASONS = (
    ("expertise", "Outside my expertise"),
    ("unclear", "Prompt is unclear"),
    ("unsure", "Can't decide, need a break"),
)
BROKEN_REASONS = (
    ("broken", "Broken or empty response"),
    ("wrong-language", "Wrong language"),
    ("offensive", "Content I should not have to read"),
)
REASON_MAX = 500


def flag_item(
    session: Session, rater: User, lease_id: int, kind: FlagKind | str, reason: str, now: datetime | None = None
) -> ItemFlag:
    """End the rater's lease without a judgment and record why. Repeating it is harmless."""
    now = now or utcnow()
    kind = FlagKind(kind)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("cannot skip", [FieldError("reason", "say why you skip or report this item")])
    if len(reason) > REASON_MAX:
        raise InvalidInput("cannot skip", [FieldError("reason", f"keep the reason under {REASON_MAX} characters")])
    lease = session.get(Lease, lease_id)
    if lease is None or lease.rater_id != rater.id:
        raise NotFound("no such task for you")
    existing = session.scalar(select(ItemFlag).where(ItemFlag.lease_id == lease.id))
    if existing is not None:
        return existing
    if lease.completed_at is not None:
        raise Conflict("this item was already submitted")
    flag = ItemFlag(
        project_id=lease.project_id,
        item_id=lease.item_id,
        rater_id=rater.id,
        lease_id=lease.id,
        kind=kind,
        reason=reason,
        created_at=now,
    )
    session.add(flag)
    lease.completed_at = now
    session.flush()
    return flag


@dataclass(frozen=True)
class FlaggedItem:
    item_id: int
    external_id: str
    skips: int
    broken: int
    reasons: tuple[str, ...]


def flagged_items(session: Session, project: Project, limit: int = 50) -> list[FlaggedItem]:
    """Items raters skipped or reported, most reported first."""
    rows = session.execute(
        select(ItemFlag.item_id, Item.external_id, ItemFlag.kind, func.count(), func.max(ItemFlag.reason))
        .join(Item, Item.id == ItemFlag.item_id)
        .where(ItemFlag.project_id == project.id)
        .group_by(ItemFlag.item_id, Item.external_id, ItemFlag.kind)
    ).all()
    by_item: dict[int, dict] = {}
    for item_id, external_id, kind, n, reason in rows:
        entry = by_item.setdefault(item_id, {"external_id": external_id, "skip": 0, "broken": 0, "reasons": set()})
        entry[kind.value] += n
        entry["reasons"].add(reason)
    out = [
        FlaggedItem(item_id, e["external_id"], e["skip"], e["broken"], tuple(sorted(e["reasons"])))
        for item_id, e in by_item.items()
    ]
    out.sort(key=lambda f: (-f.broken, -f.skips, f.external_id))
    return out[:limit]


@dataclass(frozen=True)
class FlagNote:
    kind: FlagKind
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class QueuedItem:
    """One item in the queue of open skips and reports, with every reason given."""

    item_id: int
    external_id: str
    skips: int
    reports: int
    notes: tuple[FlagNote, ...]


def flag_queue(session: Session, project: Project, limit: int = 200) -> list[QueuedItem]:
    """Items with open (unresolved) skips or reports: reported ones first, then the most flagged."""
    flags = session.execute(
        select(ItemFlag.item_id, Item.external_id, ItemFlag.kind, ItemFlag.reason, ItemFlag.created_at)
        .join(Item, Item.id == ItemFlag.item_id)
        .where(ItemFlag.project_id == project.id, ItemFlag.resolved_at.is_(None))
        .order_by(ItemFlag.created_at, ItemFlag.id)
    ).all()
    by_item: dict[int, tuple[str, list[FlagNote]]] = {}
    for item_id, external_id, kind, reason, created_at in flags:
        by_item.setdefault(item_id, (external_id, []))[1].append(FlagNote(kind, reason, created_at))
    queue = [
        QueuedItem(
            item_id,
            external_id,
            sum(n.kind == FlagKind.SKIP for n in notes),
            sum(n.kind == FlagKind.BROKEN for n in notes),
            tuple(notes),
        )
        for item_id, (external_id, notes) in by_item.items()
    ]
    queue.sort(key=lambda q: (-q.reports, -(q.skips + q.reports), q.external_id))
    return queue[:limit]


def item_flags(session: Session, project: Project, item_id: int) -> list[ItemFlag]:
    """Every skip and report of one item, oldest first, resolved ones included."""
    return list(
        session.scalars(
            select(ItemFlag)
            .where(ItemFlag.project_id == project.id, ItemFlag.item_id == item_id)
            .order_by(ItemFlag.created_at, ItemFlag.id)
        )
    )


def resolve_flags(session: Session, project: Project, item_id: int, by: User, now: datetime | None = None) -> int:
    """Mark every open skip and report of the item resolved; returns how many were open."""
    item = session.get(Item, item_id)
    if item is None or item.project_id != project.id:
        raise NotFound(f"no item {item_id} in this project")
    open_flags = session.scalars(
        select(ItemFlag).where(ItemFlag.item_id == item_id, ItemFlag.resolved_at.is_(None))
    ).all()
    now = now or utcnow()
    for flag in open_flags:
        flag.resolved_at, flag.resolved_by_id = now, by.id
    session.flush()
    return len(open_flags)
