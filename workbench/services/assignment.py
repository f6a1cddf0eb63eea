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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, Text, bindparam, cast, exists, func, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from ..db import execute_core
from ..domain import LeasePurpose, TaskKind, VersionStatus
from ..errors import NotFound
from ..models import Item, Judgment, Lease, Project, Response, RubricVersion, User, utcnow
from .gold import QualificationState, qualification
from .projects import SETTINGS_COLUMNS, ProjectSettings
from .rubrics import version_document
from .users import TokenUser

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


_items, _leases, _judgments, _responses, _versions = (
    model.__table__ for model in (Item, Lease, Judgment, Response, RubricVersion)
)

# The statements of the rating path are built once, with named parameters, and only
# executed per request: building SQL expressions costs more than running these queries.


def _now_param():
    return bindparam("now", type_=_leases.c.expires_at.type)


def _open_live_leases(item_id, excluding_lease: bool = False):
    """Count of the item's open, unexpired live leases (few at any time); with
    ``excluding_lease``, not counting the lease given as the ``excluding_lease`` parameter."""
    lease = _leases.alias("open_lease")
    conditions = [
        lease.c.item_id == item_id,
        lease.c.purpose == LeasePurpose.LIVE,
        lease.c.completed_at.is_(None),
        lease.c.expires_at > _now_param(),
    ]
    if excluding_lease:
        conditions.append(lease.c.id != bindparam("excluding_lease", type_=lease.c.id.type))
    return select(func.count()).select_from(lease).where(*conditions).scalar_subquery()


def _live_judgments(item_id):
    return (
        select(func.count())
        .select_from(_judgments)
        .where(_judgments.c.item_id == item_id, _judgments.c.superseded_by_id.is_(None))
        .scalar_subquery()
    )


def _seen():
    """Items the rater holds, has finished or skipped, or has judged.

    Each is a probe of a unique index per item the walk visits (usually a handful). The
    ``OFFSET 0`` keeps PostgreSQL from turning the probe into a hash of the rater's whole
    history, which costs more with every judgment the rater makes.
    """
    rater_id = bindparam("rater_id", type_=_leases.c.rater_id.type)
    leased = (
        select(_leases.c.id)
        .where(
            _leases.c.item_id == _items.c.id,
            _leases.c.rater_id == rater_id,
            or_(_leases.c.completed_at.is_not(None), _leases.c.expires_at > _now_param()),
        )
        .offset(0)
    )
    judged = (
        select(_judgments.c.id)
        .where(_judgments.c.item_id == _items.c.id, _judgments.c.rater_id == rater_id, _judgments.c.superseded_by_id.is_(None))
        .offset(0)
    )
    return or_(leased.exists(), judged.exists())


def _shown_orders(item_id):
    """How many other raters were shown the item, and how many of them with sides swapped
    (repeats aside): the counts that counterbalance the next display order."""
    shown = _leases.alias("shown")
    conditions = (
        shown.c.item_id == item_id,
        shown.c.rater_id != bindparam("rater_id", type_=shown.c.rater_id.type),
        shown.c.purpose != LeasePurpose.REPEAT,
        or_(shown.c.completed_at.is_not(None), shown.c.expires_at > _now_param()),
    )
    n_shown = select(func.count()).select_from(shown).where(*conditions)
    # JSON display orders read back as text "[1, 0]" on SQLite and PostgreSQL alike.
    n_swapped = n_shown.where(cast(shown.c.display_order, Text) == SWAPPED_TEXT)
    return n_shown.scalar_subquery().label("n_shown"), n_swapped.scalar_subquery().label("n_swapped")


SWAPPED_TEXT = "[1, 0]"


def _candidate_statements():
    """The first live item with room for the rater: most judgments first, then lowest id.

    One ordered walk of ``ix_items_next`` (project, is_gold, n_judgments DESC, id) that
    stops at the first match. Returns (skip locked, wait) variants, each with and without
    an ``exclude`` list. ``FOR NO KEY UPDATE`` (PostgreSQL; nothing on SQLite) does not
    conflict with the key-share locks that inserting a lease or judgment takes on the item,
    so only a competing assignment blocks.
    """
    k = bindparam("k", type_=_items.c.n_judgments.type)
    base = (
        select(_items.c.id, *_shown_orders(_items.c.id))
        .where(
            _items.c.project_id == bindparam("project_id", type_=_items.c.project_id.type),
            _items.c.is_gold.is_(False),
            _items.c.n_judgments < k,
            _items.c.n_judgments + _open_live_leases(_items.c.id) < k,
            ~_seen(),
        )
        .order_by(_items.c.n_judgments.desc(), _items.c.id)
        .limit(1)
    )
    excluding = base.where(_items.c.id.not_in(bindparam("exclude", expanding=True)))
    return {
        (wait, bool(exclude)): query.with_for_update(skip_locked=not wait, of=_items, key_share=True)
        for wait in (False, True)
        for exclude, query in ((False, base), (True, excluding))
    }


_CANDIDATE = _candidate_statements()

_OPEN_LEASE = (
    select(
        _leases.c.id,
        _leases.c.item_id,
        _leases.c.display_order,
        _leases.c.issued_at,
        _leases.c.expires_at,
        _versions.c.id.label("version_id"),
        _versions.c.number,
        _versions.c.content_sha256,
    )
    .join(_versions, _versions.c.id == _leases.c.rubric_version_id)
    .where(
        _leases.c.project_id == bindparam("project_id", type_=_leases.c.project_id.type),
        _leases.c.rater_id == bindparam("rater_id", type_=_leases.c.rater_id.type),
        _leases.c.completed_at.is_(None),
        _leases.c.expires_at > _now_param(),
    )
    .order_by(_leases.c.issued_at)
    .limit(1)
)

_LEASE_BY_ID = (
    select(*_OPEN_LEASE.selected_columns, _leases.c.rater_id)
    .join_from(_leases, _versions, _versions.c.id == _leases.c.rubric_version_id)
    .where(_leases.c.id == bindparam("lease_id", type_=_leases.c.id.type))
)

_OPEN_LEASE_ID = (
    select(_leases.c.id)
    .where(*_OPEN_LEASE.whereclause.clauses)
    .order_by(_leases.c.issued_at)
    .limit(1)
    .correlate(None)
    .scalar_subquery()
    .label("open_lease_id")
)

# The version new leases get, and the rater's open lease on the project if any.
def _latest_published(rubric_id):
    latest = _versions.alias("latest")
    return (
        select(latest.c.id)
        .where(latest.c.rubric_id == rubric_id, latest.c.status == VersionStatus.PUBLISHED)
        .order_by(latest.c.number.desc())
        .limit(1)
        .scalar_subquery()
    )


# For the rater API: the project's settings, the version new leases get (none when the
# rubric has no published version) and the rater's open lease, in one query.
_projects = Project.__table__
_RATING_CONTEXT = (
    select(
        *SETTINGS_COLUMNS,
        _versions.c.id.label("version_id"),
        _versions.c.number,
        _versions.c.content_sha256,
        _OPEN_LEASE_ID,
    )
    .select_from(
        _projects.outerjoin(
            _versions,
            _versions.c.id == func.coalesce(_projects.c.rubric_version_id, _latest_published(_projects.c.rubric_id)),
        )
    )
    .where(_projects.c.id == bindparam("project_id", type_=_projects.c.id.type))
)

_CURRENT_VERSION = select(_versions.c.id, _versions.c.number, _versions.c.content_sha256, _OPEN_LEASE_ID).where(
    _versions.c.id
    == func.coalesce(
        bindparam("pinned", type_=_versions.c.id.type),
        select(_versions.c.id)
        .where(
            _versions.c.rubric_id == bindparam("rubric_id", type_=_versions.c.rubric_id.type),
            _versions.c.status == VersionStatus.PUBLISHED,
        )
        .order_by(_versions.c.number.desc())
        .limit(1)
        .scalar_subquery(),
    )
)

_CONTENT = (
    select(_items.c.prompt, _responses.c.position, _responses.c.text)
    .join(_responses, _responses.c.item_id == _items.c.id)
    .where(_items.c.id == bindparam("item_id", type_=_items.c.id.type))
)

_ORDERS = select(*_shown_orders(bindparam("item_id", type_=_leases.c.item_id.type)))

_LEASE_FIELDS = ("project_id", "item_id", "rater_id", "rubric_version_id", "purpose", "display_order", "issued_at", "expires_at")


def _lease_statements():
    """Insert a lease, or re-issue the rater's own expired one on the item; live leases
    only while the item has room, recounted in the statement (so after the row lock)."""
    p = {name: bindparam(f"p_{name}", type_=_leases.c[name].type) for name in _LEASE_FIELDS}
    room = _live_judgments(p["item_id"]) + _open_live_leases(p["item_id"]) < bindparam("k", type_=Integer)
    own = _leases.alias("own")
    no_own = ~exists().where(own.c.item_id == p["item_id"], own.c.rater_id == p["rater_id"], own.c.purpose == p["purpose"])
    # PostgreSQL cannot type a bare parameter in a SELECT list from the target column.
    selected = [cast(p[name], String(16)) if name == "purpose" else p[name] for name in _LEASE_FIELDS]
    statements = {}
    for guarded in (False, True):
        conditions = (no_own, room) if guarded else (no_own,)
        statements[("insert", guarded)] = (
            insert(_leases)
            .from_select(list(_LEASE_FIELDS), select(*selected).where(*conditions))
            .returning(_leases.c.id, _leases.c.item_id)
        )
        # PostgreSQL: the same insert, returning the item's prompt and responses with it.
        issued = statements[("insert", guarded)].cte("issued")
        statements[("insert_with_content", guarded)] = select(
            issued.c.id, _items.c.prompt, _responses.c.position, _responses.c.text
        ).select_from(
            issued.join(_items, _items.c.id == issued.c.item_id).join(_responses, _responses.c.item_id == _items.c.id)
        )
        reissue = update(_leases).where(
            _leases.c.item_id == p["item_id"], _leases.c.rater_id == p["rater_id"], _leases.c.purpose == p["purpose"]
        )
        if guarded:
            reissue = reissue.where(room)
        statements[("reissue", guarded)] = reissue.values(
            rubric_version_id=p["rubric_version_id"],
            display_order=p["display_order"],
            issued_at=p["issued_at"],
            expires_at=p["expires_at"],
            completed_at=None,
        ).returning(_leases.c.id)
    return statements


_LEASE_WRITE = _lease_statements()


@dataclass(frozen=True)
class VersionRef:
    id: int
    number: int
    sha256: str




def _candidates(session: Session, project: Project, rater: User, now: datetime, exclude: set[int], wait: bool = False):
    """(item id, shown, swapped) of the first live item with room for the rater, or None."""
    params = {"project_id": project.id, "rater_id": rater.id, "now": now, "k": project.overlap_k}
    if exclude:
        params["exclude"] = sorted(exclude)
    return execute_core(session, _CANDIDATE[(wait, bool(exclude))], params).first()


def _display_order(
    session: Session, project: Project, item_id: int, rater: User, now: datetime, counts: tuple[int, int] | None = None
) -> list[int]:
    """Counterbalance: show the item with the side order fewer of its other raters got.

    ``counts`` (shown, swapped) saves the query when the caller has them already.
    """
    if project.task_kind != TaskKind.PAIRWISE:
        return [0]
    if counts is None:
        counts = execute_core(session, _ORDERS, {"item_id": item_id, "rater_id": rater.id, "now": now}).one()
    n_shown, n_swapped = counts
    n_straight = n_shown - n_swapped
    if n_swapped != n_straight:
        return [1, 0] if n_swapped < n_straight else [0, 1]
    rng = random.Random(f"{project.seed}:{item_id}:{rater.id}")
    return [1, 0] if rng.random() < 0.5 else [0, 1]


def _task(
    session: Session,
    lease_id: int,
    item_id: int,
    version: VersionRef,
    display_order: list[int],
    issued_at: datetime,
    expires_at: datetime,
    content: Sequence[Row] | None = None,
) -> RatingTask:
    """The task as the rater sees it; ``content`` is the item's (prompt, position, text)
    rows when the caller read them already."""
    rows = content if content is not None else execute_core(session, _CONTENT, {"item_id": item_id}).all()
    responses = {row.position: row.text for row in rows}
    shown = tuple(ShownResponse(SLOT_LABELS[slot], responses[position]) for slot, position in enumerate(display_order))
    return RatingTask(
        lease_id=lease_id,
        item_id=item_id,
        prompt=rows[0].prompt,
        responses=shown,
        rubric_version_id=version.id,
        rubric_document=version_document(session, version.id, version.sha256),
        rubric_number=version.number,
        rubric_sha256=version.sha256,
        issued_at=issued_at,
        expires_at=expires_at,
    )


def _task_from_row(session: Session, row) -> RatingTask:
    version = VersionRef(row.version_id, row.number, row.content_sha256)
    return _task(session, row.id, row.item_id, version, list(row.display_order), row.issued_at, row.expires_at)


_UNSEEN_GOLD = (
    select(_items.c.id)
    .where(
        _items.c.project_id == bindparam("project_id", type_=_items.c.project_id.type),
        _items.c.is_gold.is_(True),
        ~_seen(),
    )
    .order_by(_items.c.id)
)


def _gold_candidate(session: Session, project: Project, rater: User, now: datetime, rng: random.Random) -> int | None:
    ids = session.scalars(_UNSEEN_GOLD, {"project_id": project.id, "rater_id": rater.id, "now": now}).all()
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
    version: VersionRef,
    order: list[int],
    now: datetime,
) -> RatingTask | None:
    """Lease the item to the rater (re-using their own expired lease on it, if any).

    A live lease is only written while the item has room, counted in the same statement;
    None when it has none.
    """
    expires_at = now + timedelta(minutes=project.lease_minutes)
    values = {
        "project_id": project.id,
        "item_id": item_id,
        "rater_id": rater.id,
        "rubric_version_id": version.id,
        "purpose": purpose,
        "display_order": order,
        "issued_at": now,
        "expires_at": expires_at,
    }
    params = {f"p_{name}": value for name, value in values.items()}
    params.update(now=now, k=project.overlap_k)
    guarded = purpose == LeasePurpose.LIVE
    if session.get_bind().dialect.name == "postgresql":
        content = execute_core(session, _LEASE_WRITE[("insert_with_content", guarded)], params).all()
        if content:
            return _task(session, content[0].id, item_id, version, order, now, expires_at, content)
        lease_id = None
    else:
        lease_id = execute_core(session, _LEASE_WRITE[("insert", guarded)], params).scalar()
    if lease_id is None:
        lease_id = execute_core(session, _LEASE_WRITE[("reissue", guarded)], params).scalar()
    if lease_id is None:
        return None
    return _task(session, lease_id, item_id, version, order, now, expires_at)


def _draw(session: Session, project: Project, rater: User) -> random.Random:
    if project.gold_rate <= 0 and project.repeat_rate <= 0 and project.qualification_items <= 0:
        return random.Random(0)  # nothing to draw
    shown = session.scalar(
        select(func.count()).select_from(Lease).where(Lease.project_id == project.id, Lease.rater_id == rater.id)
    )
    return random.Random(f"{project.seed}:{rater.id}:{shown}")


def next_assignment(
    session: Session, project: Project | ProjectSettings, rater: User | TokenUser, now: datetime | None = None
) -> RatingTask | None:
    """The rater's open task, or a newly leased one, or None when nothing is left for them
    (or when they did not pass the qualification set)."""
    now = now or utcnow()
    where = {"project_id": project.id, "rater_id": rater.id, "now": now}
    current = session.execute(
        _CURRENT_VERSION, {**where, "pinned": project.rubric_version_id, "rubric_id": project.rubric_id}
    ).first()
    if current is None:
        return _next(session, project, rater, now, None, session.execute(_OPEN_LEASE, where).scalar())
    version = VersionRef(current.id, current.number, current.content_sha256)
    return _next(session, project, rater, now, version, current.open_lease_id)


def next_task(
    session: Session, project_id: int, rater: User | TokenUser, now: datetime | None = None
) -> tuple[ProjectSettings, RatingTask | None]:
    """``next_assignment`` by project id, for the rater API: also returns the project's
    settings, read in the same query as the version and the rater's open lease."""
    now = now or utcnow()
    row = execute_core(session, _RATING_CONTEXT, {"project_id": project_id, "rater_id": rater.id, "now": now}).first()
    if row is None:
        raise NotFound(f"no project {project_id}")
    settings = ProjectSettings(*row[: len(SETTINGS_COLUMNS)])
    version = None if row.version_id is None else VersionRef(row.version_id, row.number, row.content_sha256)
    return settings, _next(session, settings, rater, now, version, row.open_lease_id)


def _next(
    session: Session,
    project: Project | ProjectSettings,
    rater: User | TokenUser,
    now: datetime,
    version: VersionRef | None,
    open_lease_id: int | None,
) -> RatingTask | None:
    if open_lease_id is not None:
        return _task_from_row(session, execute_core(session, _LEASE_BY_ID, {"lease_id": open_lease_id}).one())
    if version is None:
        raise NotFound("the rubric has no published version")
    rng = _draw(session, project, rater)
    standing = qualification(session, project, rater)
    if standing.state == QualificationState.IN_PROGRESS:
        gold_id = _gold_candidate(session, project, rater, now, rng)
        if gold_id is not None:
            order = _display_order(session, project, gold_id, rater, now)
            return _issue(session, project, rater, gold_id, LeasePurpose.QUALIFICATION, version, order, now)
    if not standing.allows_live_work:
        return None
    tried: set[int] = set()
    while True:
        candidate = _live_candidate(session, project, rater, now, tried)
        if candidate is None:
            return None
        item_id = candidate.id
        tried.add(item_id)
        if project.repeat_rate > 0 and rng.random() < project.repeat_rate:
            original = _repeat_candidate(session, project, rater, rng)
            if original is not None:
                order = list(reversed(original.display_order))
                pinned = original.rubric_version
                pinned_ref = VersionRef(pinned.id, pinned.number, pinned.content_sha256)
                return _issue(session, project, rater, original.item_id, LeasePurpose.REPEAT, pinned_ref, order, now)
        if project.gold_rate > 0 and rng.random() < project.gold_rate:
            gold_id = _gold_candidate(session, project, rater, now, rng)
            if gold_id is not None:
                order = _display_order(session, project, gold_id, rater, now)
                return _issue(session, project, rater, gold_id, LeasePurpose.GOLD, version, order, now)
        order = _display_order(session, project, item_id, rater, now, (candidate.n_shown, candidate.n_swapped))
        task = _issue(session, project, rater, item_id, LeasePurpose.LIVE, version, order, now)
        if task is not None:
            return task
        # The item filled up between the walk and the lease (recounted under the row lock).


def _live_candidate(session: Session, project: Project, rater: User, now: datetime, tried: set[int]):
    """A live item with room for the rater, locked against other assignments (PostgreSQL)."""
    item = _candidates(session, project, rater, now, tried)
    if item is None and session.get_bind().dialect.name == "postgresql":
        # Every candidate may have been locked by another rater's assignment while it
        # still has room: wait for that one instead of answering "nothing left". PostgreSQL
        # re-checks the conditions on the row as the other transaction left it.
        item = _candidates(session, project, rater, now, tried, wait=True)
    return item


_ITEM_ID = bindparam("item_id", type_=_items.c.id.type)
_ROOM_BESIDES_LEASE = select(_live_judgments(_ITEM_ID) + _open_live_leases(_ITEM_ID, excluding_lease=True))


def item_has_room(session: Session, project: Project, item_id: int, now: datetime, excluding_lease: int) -> bool:
    """Whether one more judgment fits on the item, not counting the given lease."""
    taken = session.scalar(_ROOM_BESIDES_LEASE, {"item_id": item_id, "now": now, "excluding_lease": excluding_lease})
    return taken < project.overlap_k


def task_for_lease(session: Session, rater: User, lease_id: int) -> RatingTask:
    """The task behind one of the rater's leases (to re-show it with validation errors)."""
    row = session.execute(_LEASE_BY_ID, {"lease_id": lease_id}).first()
    if row is None or row.rater_id != rater.id:
        raise NotFound("no such task for you")
    return _task_from_row(session, row)
