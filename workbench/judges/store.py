"""The runner's database work: claim items through judge leases, read their content, and
write verdicts, failed attempts and run totals.

A judge holds at most one lease per item (``Lease`` is unique on item, rater and
purpose), so runners sharing a judge never judge an item twice: a lease is inserted with
``ON CONFLICT DO NOTHING`` and only the runner whose insert went through asks the
endpoint. On PostgreSQL the candidate items are read ``FOR NO KEY UPDATE SKIP LOCKED`` so
two runners claiming at once take different items instead of colliding on the same ones.
A lease not completed by its expiry (a runner that was killed) is claimed again by a run
started after it was issued. Verdicts are also unique per (item, judge, swapped), the last
guard should a lease expire under a slow runner.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..domain import LeasePurpose, TaskKind
from ..models import Item, JudgeAttempt, JudgeRun, JudgeVerdict, Lease, Project, Response


@dataclass(frozen=True)
class Claim:
    """An item leased to the judge, with what the prompt needs."""

    lease_id: int
    item_id: int
    display_order: list[int]
    prompt: Any
    responses: list[str]  # texts in item order
    external_id: str = ""


def straight_order(project: Project, item_id: int, judge_user_id: int) -> list[int]:
    """The order of a judge's first ask: seeded per (project, item, judge), so the sides a
    judge sees are balanced over items and the same on every rerun."""
    if project.task_kind != TaskKind.PAIRWISE:
        return [0]
    rng = random.Random(f"{project.seed}:{item_id}:judge:{judge_user_id}")
    return [1, 0] if rng.random() < 0.5 else [0, 1]


def _insert(session: Session, table):
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _locked(session: Session, query, of, wait: bool = False):
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=not wait, key_share=True, of=of)
    return query


@dataclass
class Claimer:
    """Claims a project's items for one judge, a batch at a time, walking item ids upward."""

    project: Project
    judge_user_id: int
    rubric_version_id: int
    run_started_at: datetime
    lease_minutes: float
    after_id: int = 0  # the walk's position; reset once to sweep up items skipped under locks
    swept: bool = False

    def claim(self, session: Session, n: int, now: datetime) -> list[Claim]:
        """Up to ``n`` items: expired leases of stopped runners first, then unclaimed items.
        Empty only when nothing is left for this judge."""
        expires = now + timedelta(minutes=self.lease_minutes)
        rows = self._reclaim(session, n, now, expires)
        while len(rows) < n:
            ids = self._candidates(session, n - len(rows))
            if not ids:
                if self.swept or self.after_id == 0:
                    break
                self.after_id, self.swept = 0, True
                continue
            self.after_id = max(ids)
            values = [
                {
                    "project_id": self.project.id,
                    "item_id": item_id,
                    "rater_id": self.judge_user_id,
                    "rubric_version_id": self.rubric_version_id,
                    "purpose": LeasePurpose.JUDGE,
                    "display_order": straight_order(self.project, item_id, self.judge_user_id),
                    "issued_at": now,
                    "expires_at": expires,
                }
                for item_id in ids
            ]
            statement = (
                _insert(session, Lease.__table__)
                .on_conflict_do_nothing()
                .returning(Lease.__table__.c.id, Lease.__table__.c.item_id, Lease.__table__.c.display_order)
            )
            rows += [tuple(r) for r in session.execute(statement, values)]
        return self._with_content(session, rows)

    def _open_lease(self):
        return exists().where(
            Lease.item_id == Item.id, Lease.rater_id == self.judge_user_id, Lease.purpose == LeasePurpose.JUDGE
        )

    def _candidates(self, session: Session, n: int) -> list[int]:
        query = (
            select(Item.id)
            .where(
                Item.project_id == self.project.id,
                Item.is_gold.is_(False),
                Item.id > self.after_id,
                ~self._open_lease(),
            )
            .order_by(Item.id)
            .limit(n)
        )
        found = list(session.scalars(_locked(session, query, Item)))
        if not found and session.get_bind().dialect.name == "postgresql":
            # Every candidate may be locked by a claim or an assignment in progress: wait
            # for it rather than report that nothing is left.
            found = list(session.scalars(_locked(session, query, Item, wait=True)))
        return found

    def _reclaim(self, session: Session, n: int, now: datetime, expires: datetime) -> list[tuple]:
        stale = (
            select(Lease.id)
            .where(
                Lease.project_id == self.project.id,
                Lease.rater_id == self.judge_user_id,
                Lease.purpose == LeasePurpose.JUDGE,
                Lease.completed_at.is_(None),
                Lease.expires_at <= now,
                Lease.issued_at < self.run_started_at,
            )
            .limit(n)
        )
        ids = list(session.scalars(_locked(session, stale, Lease)))
        if not ids:
            return []
        statement = (
            update(Lease)
            .where(Lease.id.in_(ids), Lease.completed_at.is_(None), Lease.expires_at <= now)
            .values(issued_at=now, expires_at=expires)
            .returning(Lease.id, Lease.item_id, Lease.display_order)
        )
        return [tuple(r) for r in session.execute(statement)]

    def _with_content(self, session: Session, rows: Sequence[tuple]) -> list[Claim]:
        if not rows:
            return []
        item_ids = [item_id for _, item_id, _ in rows]
        items = {
            row.id: row
            for row in session.execute(select(Item.id, Item.prompt, Item.external_id).where(Item.id.in_(item_ids)))
        }
        texts: dict[int, list[str]] = {i: [] for i in item_ids}
        for item_id, _, text in session.execute(
            select(Response.item_id, Response.position, Response.text)
            .where(Response.item_id.in_(item_ids))
            .order_by(Response.item_id, Response.position)
        ):
            texts[item_id].append(text)
        return [
            Claim(lease_id, item_id, list(order), items[item_id].prompt, texts[item_id], items[item_id].external_id)
            for lease_id, item_id, order in rows
        ]


def remaining(session: Session, project: Project, judge_user_id: int) -> int:
    """Items of the project this judge has not completed (for a progress bar)."""
    done = exists().where(
        Lease.item_id == Item.id,
        Lease.rater_id == judge_user_id,
        Lease.purpose == LeasePurpose.JUDGE,
        Lease.completed_at.is_not(None),
    )
    return session.scalar(
        select(func.count()).select_from(Item).where(Item.project_id == project.id, Item.is_gold.is_(False), ~done)
    )


def write_results(
    session: Session,
    run: JudgeRun,
    verdicts: list[dict[str, Any]],
    attempts: list[dict[str, Any]],
    completed: Iterable[int],
    released: Iterable[int],
    now: datetime,
) -> set[tuple[int, bool]]:
    """Store verdicts and attempts and settle their leases, in the caller's transaction.

    Returns the (item id, swapped) of the verdicts written; one already stored (a lease
    that expired under a slow runner) is left as it was.
    """
    written: set[tuple[int, bool]] = set()
    if verdicts:
        table = JudgeVerdict.__table__
        statement = _insert(session, table).on_conflict_do_nothing().returning(table.c.item_id, table.c.swapped)
        rows = [{**row, "run_id": run.id} for row in verdicts]
        written.update((r.item_id, r.swapped) for r in session.execute(statement, rows))
    if attempts:
        session.execute(insert(JudgeAttempt), [{**a, "run_id": run.id} for a in attempts])
    completed, released = list(completed), list(released)
    if completed:
        session.execute(update(Lease).where(Lease.id.in_(completed)).values(completed_at=now))
    if released:
        session.execute(
            update(Lease).where(Lease.id.in_(released), Lease.completed_at.is_(None)).values(expires_at=now)
        )
    return written
