"""Statistics computed once per project state, not once per request.

A page asks ``cached(session, project, kind, params, compute)``. The answer is reused while
the project's state (its judgments, repeats, adjudications, spot checks and items) is
unchanged, and for ``FRESHNESS`` after it changes, so a busy project is recomputed at most
once a minute however many people look. The cache is a table, so every gunicorn worker and
host shares it. On PostgreSQL one recomputation runs at a time per (project, figure): a
visitor who finds it running gets the previous figures at once instead of starting another
(an advisory lock); SQLite serialises writers anyway.

Measured reason (``benchmarks/bench_pages.py``, ``docs/benchmarks.md``): at 300k judgments
the dashboard took 14.7 s and a rater's "My figures" 4.1 s per request, and eight raters
reloading "My figures" stalled the whole server.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..models import Adjudication, Item, Judgment, Project, RepeatJudgment, SpotCheck, StatCache, utcnow

FRESHNESS = timedelta(seconds=60)

T = TypeVar("T")


@dataclass(frozen=True)
class Cached(Generic[T]):
    value: T
    computed_at: datetime


def project_state(session: Session, project_id: int) -> str:
    """A fingerprint that changes whenever anything the statistics read changes.

    Judgments, repeats and items are only ever added (a judgment that replaces another is a
    new row), so their newest id says whether any came in: one index probe each, where
    counting the project's judgments cost 0.1-0.2 s on every page view at 300k judgments.
    """
    extra = session.execute(
        select(
            select(func.max(Judgment.id)).where(Judgment.project_id == project_id).scalar_subquery(),
            select(func.max(RepeatJudgment.id)).where(RepeatJudgment.project_id == project_id).scalar_subquery(),
            select(func.max(Adjudication.id)).where(Adjudication.project_id == project_id).scalar_subquery(),
            select(func.max(Adjudication.created_at)).where(Adjudication.project_id == project_id).scalar_subquery(),
            select(func.count())
            .where(Adjudication.project_id == project_id, Adjudication.promoted_to_gold.is_(True))
            .scalar_subquery(),
            select(func.count(SpotCheck.reviewed_at)).where(SpotCheck.project_id == project_id).scalar_subquery(),
            select(func.max(SpotCheck.reviewed_at)).where(SpotCheck.project_id == project_id).scalar_subquery(),
            select(func.max(Item.id)).where(Item.project_id == project_id).scalar_subquery(),
        )
    ).one()
    return ":".join(str(v) for v in extra)[:200]


def _key(kind: str, params: tuple) -> str:
    return hashlib.sha256(repr((kind, params)).encode()).hexdigest()


def _store(session: Session, project_id: int, key: str, state: str, now: datetime, value) -> None:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    statement = insert(StatCache).values(project_id=project_id, key=key, state=state, computed_at=now, payload=payload)
    statement = statement.on_conflict_do_update(
        index_elements=[StatCache.project_id, StatCache.key],
        set_={"state": state, "computed_at": now, "payload": payload},
    )
    session.execute(statement)


def _lock_id(project_id: int, key: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{project_id}:{key}".encode()).digest()[:8], "big", signed=True)


def cached(
    session: Session, project: Project, kind: str, params: tuple, compute: Callable[[], T], *, stale_ok: bool = True
) -> Cached[T]:
    """The figures ``compute()`` gives for the project, from the cache when still good.

    ``kind`` and ``params`` name the figures (the same ones always need the same
    parameters). With ``stale_ok`` False the figures are recomputed on any change, without
    the freshness bound (a work queue must show the work just done). An error from
    ``compute`` is raised and nothing is cached.
    """
    key = _key(kind, params)
    now = utcnow()
    state = project_state(session, project.id)
    row = session.get(StatCache, (project.id, key), populate_existing=True)
    if row is not None and (row.state == state or (stale_ok and now - row.computed_at < FRESHNESS)):
        return Cached(pickle.loads(row.payload), row.computed_at)
    if session.get_bind().dialect.name == "postgresql":
        lock = _lock_id(project.id, key)
        if not session.scalar(select(func.pg_try_advisory_xact_lock(lock))):
            if row is not None and stale_ok:  # someone is recomputing: the previous figures, at once
                return Cached(pickle.loads(row.payload), row.computed_at)
            session.scalar(select(func.pg_advisory_xact_lock(lock)))  # the first ever: wait for it
            row = session.get(StatCache, (project.id, key), populate_existing=True)
            if row is not None and row.state == state:
                return Cached(pickle.loads(row.payload), row.computed_at)
    value = compute()
    _store(session, project.id, key, state, now, value)
    return Cached(value, now)
