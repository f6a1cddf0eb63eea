"""The statements of the rating path whose SQL or use differs between SQLite and PostgreSQL.

- The next-item walk locks its row with ``FOR NO KEY UPDATE SKIP LOCKED`` on PostgreSQL
  (nothing on SQLite, where every transaction is ``BEGIN IMMEDIATE``, see ``db.py``), and
  when every candidate is locked it waits for one instead of reporting that nothing is left.
  ``FOR NO KEY UPDATE`` does not conflict with the key-share locks that inserting a lease or
  a judgment takes on the item, so only a competing assignment blocks.
- A lease is written only while its item has room, recounted in the same statement (so
  after the row lock). On PostgreSQL the insert also returns the item's prompt and
  responses, which saves a round trip.
- The lease a judgment is recorded on is locked for the rest of the transaction on
  PostgreSQL, so two submits on one lease (a double click, a retry racing the original) run
  one after the other. There the judgment, its lease's completion and its item's count are
  one statement; SQLite runs the three.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, and_, bindparam, case, cast, exists, false, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from ...db import execute_core
from .pieces import (
    WALK_FILTERS,
    Walk,
    is_postgresql,
    items,
    judgments,
    leases,
    live_judgments,
    open_live_leases,
    param,
    projects,
    responses,
    seen_by_rater,
    shown_order_counts,
    versions,
)

# --- The next live item ------------------------------------------------------------------


def _candidate_statements():
    """The first live item with room for the rater: most judgments first, then lowest id.

    One ordered walk of ``ix_items_next`` (project, is_gold, n_judgments DESC, id) that
    stops at the first match, per walk, with and without locking waits, with and without an
    ``exclude`` list.
    """
    k = param("k", items.c.n_judgments)
    statements = {}
    for walk, decided in WALK_FILTERS.items():
        room_for_rater = and_(items.c.n_judgments + open_live_leases(items.c.id) < k, ~seen_by_rater())
        if decided is not None:
            # The decision (one probe) is checked first on every item the walk passes; in a
            # plain WHERE PostgreSQL orders the conditions by estimated cost, a CASE keeps it.
            room_for_rater = case((decided, room_for_rater), else_=false())
        base = (
            select(items.c.id, *shown_order_counts(items.c.id))
            .where(
                items.c.project_id == param("project_id", items.c.project_id),
                items.c.is_gold.is_(False),
                items.c.n_judgments < k,
                room_for_rater,
            )
            .order_by(items.c.n_judgments.desc(), items.c.id)
            .limit(1)
        )
        excluding = base.where(items.c.id.not_in(bindparam("exclude", expanding=True)))
        for wait in (False, True):
            for exclude, query in ((False, base), (True, excluding)):
                statements[walk, wait, exclude] = query.with_for_update(skip_locked=not wait, of=items, key_share=True)
    return statements


_CANDIDATE = _candidate_statements()


def first_live_item(
    session: Session, walks: Sequence[Walk], params: Mapping[str, Any], exclude: set[int]
) -> Row | None:
    """(``id``, ``n_shown``, ``n_swapped``) of the first item the walks find, in their order,
    locked against other assignments; ``params``: project_id, rater_id, now, k."""
    params = {**params, "exclude": sorted(exclude)} if exclude else params
    # On PostgreSQL every candidate may have been locked by another rater's assignment while
    # it still has room: then wait for one instead of answering "nothing left". PostgreSQL
    # re-checks the conditions on the row as the other transaction left it.
    for wait in (False, True) if is_postgresql(session) else (False,):
        for walk in walks:
            row = execute_core(session, _CANDIDATE[walk, wait, bool(exclude)], params).first()
            if row is not None:
                return row
    return None


# --- Leases --------------------------------------------------------------------------------

_LEASE_FIELDS = (
    "project_id",
    "item_id",
    "rater_id",
    "rubric_version_id",
    "purpose",
    "display_order",
    "issued_at",
    "expires_at",
)


def _lease_statements():
    """Insert a lease, or re-issue the rater's own expired one on the item; ``guarded``: only
    while the item has room (live leases)."""
    p = {name: param(f"p_{name}", leases.c[name]) for name in _LEASE_FIELDS}
    room = live_judgments(p["item_id"]) + open_live_leases(p["item_id"]) < bindparam("k", type_=Integer)
    own = leases.alias("own")
    no_own = ~exists().where(
        own.c.item_id == p["item_id"], own.c.rater_id == p["rater_id"], own.c.purpose == p["purpose"]
    )
    # PostgreSQL cannot type a bare parameter in a SELECT list from the target column.
    selected = [cast(p[name], String(16)) if name == "purpose" else p[name] for name in _LEASE_FIELDS]
    statements = {}
    for guarded in (False, True):
        conditions = (no_own, room) if guarded else (no_own,)
        statements["insert", guarded] = (
            insert(leases)
            .from_select(list(_LEASE_FIELDS), select(*selected).where(*conditions))
            .returning(leases.c.id, leases.c.item_id)
        )
        issued = statements["insert", guarded].cte("issued")
        statements["insert_with_content", guarded] = select(
            issued.c.id, items.c.prompt, responses.c.position, responses.c.text
        ).select_from(
            issued.join(items, items.c.id == issued.c.item_id).join(responses, responses.c.item_id == items.c.id)
        )
        reissue = update(leases).where(
            leases.c.item_id == p["item_id"], leases.c.rater_id == p["rater_id"], leases.c.purpose == p["purpose"]
        )
        if guarded:
            reissue = reissue.where(room)
        statements["reissue", guarded] = reissue.values(
            rubric_version_id=p["rubric_version_id"],
            display_order=p["display_order"],
            issued_at=p["issued_at"],
            expires_at=p["expires_at"],
            completed_at=None,
        ).returning(leases.c.id)
    return statements


_LEASE_WRITE = _lease_statements()


def write_lease(
    session: Session, values: Mapping[str, Any], now: datetime, k: int, guarded: bool
) -> tuple[int | None, list[Row] | None]:
    """Lease an item (``values``: the lease's fields), re-using the rater's own expired lease
    on it for the same purpose. Returns the lease id (None when ``guarded`` and the item has
    no room) and, on PostgreSQL, the item's content rows as ``item_content`` gives them."""
    params = {f"p_{name}": values[name] for name in _LEASE_FIELDS}
    params.update(now=now, k=k)
    if is_postgresql(session):
        content = execute_core(session, _LEASE_WRITE["insert_with_content", guarded], params).all()
        if content:
            return content[0].id, content
    else:
        lease_id = execute_core(session, _LEASE_WRITE["insert", guarded], params).scalar()
        if lease_id is not None:
            return lease_id, None
    return execute_core(session, _LEASE_WRITE["reissue", guarded], params).scalar(), None


# --- Recording a judgment ----------------------------------------------------------------

_SUBMIT_LEASE = (
    select(
        leases.c.id,
        leases.c.rater_id,
        leases.c.project_id,
        leases.c.item_id,
        leases.c.purpose,
        leases.c.display_order,
        leases.c.issued_at,
        leases.c.expires_at,
        leases.c.completed_at,
        leases.c.rubric_version_id,
        versions.c.content_sha256,
        projects.c.overlap_k,
        projects.c.gold_feedback,
        # Read on every submit (NULL on a live item), so feedback on a gold item costs no
        # statement of its own.
        items.c.gold_answer,
        items.c.gold_rationale,
    )
    .join(versions, versions.c.id == leases.c.rubric_version_id)
    .join(projects, projects.c.id == leases.c.project_id)
    .join(items, items.c.id == leases.c.item_id)
    .where(leases.c.id == param("lease_id", leases.c.id))
)
_SUBMIT_LEASE_LOCKED = _SUBMIT_LEASE.with_for_update(of=leases)


def lease_for_submit(session: Session, lease_id: int) -> Row | None:
    """The lease with its version's hash, its project's overlap and its item's gold answer
    and rationale, locked on PostgreSQL."""
    statement = _SUBMIT_LEASE_LOCKED if is_postgresql(session) else _SUBMIT_LEASE
    return execute_core(session, statement, {"lease_id": lease_id}).first()


JUDGMENT_FIELDS = (
    "project_id", "item_id", "rater_id", "rubric_version_id", "lease_id", "answers",
    "display_order", "issued_at", "submitted_at", "duration_ms", "idempotency_key",
)  # fmt: skip


def _j(name: str):
    return param(f"j_{name}", judgments.c[name])


def _insert_judgment(dialect_insert):
    """Insert a judgment unless it breaks a unique rule (the idempotency key, or one live
    judgment per item and rater): then nothing is written and no id comes back."""
    return (
        dialect_insert(judgments)
        .values({name: _j(name) for name in JUDGMENT_FIELDS})
        .on_conflict_do_nothing()
        .returning(judgments.c.id)
    )


_COMPLETE_LEASE = update(leases).where(leases.c.id == _j("lease_id")).values(completed_at=_j("submitted_at"))
_COUNT_JUDGMENT = update(items).where(items.c.id == _j("item_id")).values(n_judgments=items.c.n_judgments + 1)


def _record_in_one_statement():
    """PostgreSQL: the judgment, its lease's completion and the item's count in one
    statement; the two updates only happen when the insert did."""
    written = _insert_judgment(postgresql.insert).cte("written")
    done = exists(select(written.c.id))
    complete = _COMPLETE_LEASE.where(done).cte("complete")
    count = _COUNT_JUDGMENT.where(done).cte("count")
    return select(written.c.id).add_cte(complete, count)


_RECORD_POSTGRESQL = _record_in_one_statement()
_INSERT_SQLITE = _insert_judgment(sqlite.insert)


def insert_judgment(session: Session, values: Mapping[str, Any]) -> int | None:
    """Write a judgment (``values``: ``JUDGMENT_FIELDS``), complete its lease and count it on
    its item. None, and nothing written, when a unique rule stopped it."""
    params = {f"j_{name}": values[name] for name in JUDGMENT_FIELDS}
    if is_postgresql(session):
        return execute_core(session, _RECORD_POSTGRESQL, params).scalar()
    judgment_id = execute_core(session, _INSERT_SQLITE, params).scalar()
    if judgment_id is not None:
        execute_core(session, _COMPLETE_LEASE, params)
        execute_core(session, _COUNT_JUDGMENT, params)
    return judgment_id


def complete_lease(session: Session, lease_id: int, now: datetime) -> None:
    execute_core(session, _COMPLETE_LEASE, {"j_lease_id": lease_id, "j_submitted_at": now})
