"""Which item a rater sees next, and in which order its responses are shown.

The policy, in the order ``_next`` applies it:

0. **Access.** A rater who may not see the project (members only, see ``membership.py``)
   gets ``NotFound``; an archived project serves nothing.
1. **Open lease.** A rater with an open lease on the project gets that task back, so a
   reload does not skip work.
2. **Qualification.** While the rater has not finished the project's qualification set,
   they get its gold items before any live work (see ``gold.py``); a rater who failed it
   gets nothing more.
3. **Repeat.** At the project's ``repeat_rate``, an item the rater judged earlier (not one
   of their last ``REPEAT_MIN_DISTANCE``) comes back with its sides swapped.
4. **Gold.** At the project's ``gold_rate``, a gold item the rater has not seen and whose
   prompt is not among their last ``prompt_gap`` judgments (setting ``GOLD_PROMPT_GAP``).
5. **Live.** Otherwise the first live item with room for the rater.

Repeats and gold items are drawn only while live work remains, so they look like any other
item, and they take no overlap place. The draws are seeded by (project seed, rater, number
of items shown). In a project with gold, every next item runs the same statements whichever
kind it serves (the unseen gold is read, the side counts are read and the lease is written
by the same guarded insert), so a gold item costs what a live one does.

Which live item: an item never has more than ``overlap_k`` live judgments plus open live
leases; a rater never gets an item they hold, skipped or judged. Items an LLM judge
escalated (an ``Escalation`` with ``accepted`` false) come first; items accepted as
judge-labelled (accepted, and escalated by no other judge) come last; within each group the
items closest to completion come first, then the lowest id. LLM judges take items through
leases of purpose ``judge``, which never count against overlap and are never served here.

Sides are counterbalanced: an item is shown with the side order fewer of its other raters
got. The statements, and how each database keeps two raters from taking the last place on
one item, are in ``rating_sql.py``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from ..config import SETTINGS
from ..domain import LeasePurpose, Role, TaskKind
from ..errors import NotFound
from ..models import utcnow
from . import rating_sql as sql
from .gold import QualificationState, qualification
from .membership import admits
from .projects import SETTINGS_COLUMNS, ProjectSettings
from .rubrics import version_document

# A repeat is drawn only from judgments older than the rater's last few, so it is not
# recognized as the item just seen.
REPEAT_MIN_DISTANCE = 3

SLOT_LABELS = ("A", "B")

PROMPT_GAP = next(s.default for s in SETTINGS if s.name == "GOLD_PROMPT_GAP")
# A gold lease is written by the live lease's guarded insert, with room that never runs out.
_NO_LIMIT = 2**31 - 1


class RatingProject(Protocol):
    """What rating reads of a project: a ``Project``, or the ``ProjectSettings`` the rater
    API reads in one query."""

    @property
    def id(self) -> int: ...
    @property
    def rubric_id(self) -> int: ...
    @property
    def rubric_version_id(self) -> int | None: ...
    @property
    def task_kind(self) -> TaskKind: ...
    @property
    def overlap_k(self) -> int: ...
    @property
    def gold_rate(self) -> float: ...
    @property
    def repeat_rate(self) -> float: ...
    @property
    def qualification_items(self) -> int: ...
    @property
    def qualification_min_accuracy(self) -> float: ...
    @property
    def lease_minutes(self) -> int: ...
    @property
    def seed(self) -> int: ...
    @property
    def members_only(self) -> bool: ...
    @property
    def archived_at(self) -> datetime | None: ...


class Rater(Protocol):
    """Who is rating: a ``User``, or the ``TokenUser`` the rater API knows from the token."""

    @property
    def id(self) -> int: ...
    @property
    def role(self) -> Role: ...


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


@dataclass(frozen=True)
class VersionRef:
    id: int
    number: int
    sha256: str


@dataclass(frozen=True)
class _Context:
    """What ``_next`` starts from, read in one query."""

    version: VersionRef | None  # the version new leases get; None: the rubric has no published one
    open_lease_id: int | None
    has_escalated: bool = False
    has_accepted: bool = False

    @classmethod
    def from_row(cls, row: Row) -> _Context:
        version = None if row.version_id is None else VersionRef(row.version_id, row.number, row.content_sha256)
        return cls(version, row.open_lease_id, bool(row.has_escalated), bool(row.has_accepted))


def next_assignment(
    session: Session, project: RatingProject, rater: Rater, now: datetime | None = None, prompt_gap: int = PROMPT_GAP
) -> RatingTask | None:
    """The rater's open task, or a newly leased one, or None when nothing is left for them
    (or when they did not pass the qualification set)."""
    now = now or utcnow()
    row = sql.current_version(session, project, rater.id, now)
    if row is None:
        context = _Context(None, sql.open_lease_id(session, project.id, rater.id, now))
    else:
        context = _Context.from_row(row)
    return _next(session, project, rater, now, context, prompt_gap)


def next_task(
    session: Session, project_id: int, rater: Rater, now: datetime | None = None, prompt_gap: int = PROMPT_GAP
) -> tuple[ProjectSettings, RatingTask | None]:
    """``next_assignment`` by project id, for the rater API: also returns the project's
    settings, read in the same query as the version and the rater's open lease."""
    now = now or utcnow()
    row = sql.rating_context(session, project_id, rater.id, now)
    if row is None:
        raise NotFound(f"no project {project_id}")
    settings = ProjectSettings(*row[: len(SETTINGS_COLUMNS)])
    return settings, _next(session, settings, rater, now, _Context.from_row(row), prompt_gap)


def _next(
    session: Session, project: RatingProject, rater: Rater, now: datetime, context: _Context, prompt_gap: int
) -> RatingTask | None:
    if not admits(session, project, rater, lock=True):
        raise NotFound(f"no project {project.id}")
    if project.archived_at is not None:
        return None
    if context.open_lease_id is not None:
        return _task_from_lease(session, sql.lease(session, context.open_lease_id))
    if context.version is None:
        raise NotFound("the rubric has no published version")
    rng = _draw(session, project, rater)
    standing = qualification(session, project, rater)
    if standing.state == QualificationState.IN_PROGRESS:
        gold = sql.unseen_gold(session, project.id, rater.id, now, prompt_gap)
        task = _gold_task(session, project, rater, now, rng, LeasePurpose.QUALIFICATION, context.version, gold)
        if task is not None:
            return task
    if not standing.allows_live_work:
        return None
    walks = _walks(context)
    params = {"project_id": project.id, "rater_id": rater.id, "now": now, "k": project.overlap_k}
    tried: set[int] = set()
    gold: list[int] | None = None
    while (candidate := sql.first_live_item(session, walks, params, tried)) is not None:
        tried.add(candidate.id)
        if _drawn(rng, project.repeat_rate) and (task := _repeat_task(session, project, rater, now, rng)):
            return task
        if project.gold_rate > 0 and gold is None:  # read whether gold is drawn or not
            gold = sql.unseen_gold(session, project.id, rater.id, now, prompt_gap)
        if _drawn(rng, project.gold_rate) and (
            task := _gold_task(session, project, rater, now, rng, LeasePurpose.GOLD, context.version, gold)
        ):
            return task
        # With gold in the project the side counts are read again, as a gold item's are.
        counts = None if project.gold_rate > 0 else (candidate.n_shown, candidate.n_swapped)
        order = _display_order(session, project, candidate.id, rater, now, counts)
        task = _issue(session, project, rater, candidate.id, LeasePurpose.LIVE, context.version, order, now)
        if task is not None:
            return task
        # The item filled up between the walk and the lease (recounted under the row lock).
    return None


def _walks(context: _Context) -> list[sql.Walk]:
    """Escalated items first, then items without an accepted judge label, then the rest
    (the accepted ones); a project without escalations walks once, as it always did.

    A group's walk is skipped once none of its items is short of judgments; otherwise it
    passes over the other groups' items that come before its next one (one index probe
    each), so with escalations the next-item cost grows with the project's size.
    """
    walks = [sql.Walk.ESCALATED] if context.has_escalated else []
    if context.has_accepted:
        walks.append(sql.Walk.UNACCEPTED)
    walks.append(sql.Walk.ALL)
    return walks


def _draw(session: Session, project: RatingProject, rater: Rater) -> random.Random:
    if project.gold_rate <= 0 and project.repeat_rate <= 0 and project.qualification_items <= 0:
        return random.Random(0)  # nothing to draw
    shown = sql.leases_shown(session, project.id, rater.id)
    return random.Random(f"{project.seed}:{rater.id}:{shown}")


def _drawn(rng: random.Random, rate: float) -> bool:
    return rate > 0 and rng.random() < rate


def _gold_task(
    session: Session,
    project: RatingProject,
    rater: Rater,
    now: datetime,
    rng: random.Random,
    purpose: LeasePurpose,
    version: VersionRef,
    ids: list[int],
) -> RatingTask | None:
    """One of ``ids`` (the gold items the rater may get), drawn at random; None when there is none."""
    if not ids:
        return None
    gold_id = rng.choice(ids)
    order = _display_order(session, project, gold_id, rater, now)
    return _issue(session, project, rater, gold_id, purpose, version, order, now)


def _repeat_task(
    session: Session, project: RatingProject, rater: Rater, now: datetime, rng: random.Random
) -> RatingTask | None:
    """A live item the rater judged earlier and was not shown again yet, sides swapped and
    under the version they judged it with; None when there is none (or it is not pairwise)."""
    if project.task_kind != TaskKind.PAIRWISE:
        return None
    repeated = sql.repeated_items(session, project.id, rater.id)
    judged = sql.judged_live_items(session, project.id, rater.id)
    eligible = [row for row in judged[REPEAT_MIN_DISTANCE:] if row.item_id not in repeated]
    if not eligible:
        return None
    original = rng.choice(eligible)
    version = VersionRef(original.version_id, original.number, original.content_sha256)
    order = list(reversed(original.display_order))
    return _issue(session, project, rater, original.item_id, LeasePurpose.REPEAT, version, order, now)


def _display_order(
    session: Session,
    project: RatingProject,
    item_id: int,
    rater: Rater,
    now: datetime,
    counts: tuple[int, int] | None = None,
) -> list[int]:
    """Counterbalance: show the item with the side order fewer of its other raters got.

    ``counts`` (shown, swapped) saves the query when the caller has them already.
    """
    if project.task_kind != TaskKind.PAIRWISE:
        return [0]
    n_shown, n_swapped = counts if counts is not None else sql.shown_orders(session, item_id, rater.id, now)
    n_straight = n_shown - n_swapped
    if n_swapped != n_straight:
        return [1, 0] if n_swapped < n_straight else [0, 1]
    rng = random.Random(f"{project.seed}:{item_id}:{rater.id}")
    return [1, 0] if rng.random() < 0.5 else [0, 1]


def _issue(
    session: Session,
    project: RatingProject,
    rater: Rater,
    item_id: int,
    purpose: LeasePurpose,
    version: VersionRef,
    order: list[int],
    now: datetime,
) -> RatingTask | None:
    """Lease the item to the rater (re-using their own expired lease on it, if any).

    A live lease is only written while the item has room; None when it has none.
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
    # Only a live lease needs room on its item; a gold one takes the same statement with room
    # that never runs out, so the two cost the same.
    k = project.overlap_k if purpose == LeasePurpose.LIVE else _NO_LIMIT
    guarded = purpose in (LeasePurpose.LIVE, LeasePurpose.GOLD)
    lease_id, content = sql.write_lease(session, values, now, k, guarded)
    if lease_id is None:
        return None
    return _task(session, lease_id, item_id, version, order, now, expires_at, content)


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
    rows = content if content is not None else sql.item_content(session, item_id)
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


def _task_from_lease(session: Session, row: Row) -> RatingTask:
    version = VersionRef(row.version_id, row.number, row.content_sha256)
    return _task(session, row.id, row.item_id, version, list(row.display_order), row.issued_at, row.expires_at)


def item_has_room(session: Session, overlap_k: int, item_id: int, now: datetime, excluding_lease: int) -> bool:
    """Whether one more judgment fits on the item, not counting the given lease: its live
    judgments and open live leases stay under the project's ``overlap_k``."""
    return sql.places_taken(session, item_id, now, excluding_lease) < overlap_k


def task_for_lease(session: Session, rater: Rater, lease_id: int) -> RatingTask:
    """The task behind one of the rater's leases (to re-show it with validation errors)."""
    row = sql.lease(session, lease_id)
    if row is None or row.rater_id != rater.id or row.purpose == LeasePurpose.JUDGE:
        raise NotFound("no such task for you")
    return _task_from_lease(session, row)
