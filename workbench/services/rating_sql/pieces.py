"""Tables and the pieces several rating statements share (the same SQL on every database)."""

from __future__ import annotations

import enum

from sqlalchemy import Text, bindparam, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from ...domain import LeasePurpose
from ...models import Escalation, Item, Judgment, Lease, Project, Response, RubricVersion

items, leases, judgments, responses, versions, projects, escalations = (
    model.__table__ for model in (Item, Lease, Judgment, Response, RubricVersion, Project, Escalation)
)

# JSON display orders read back as text "[1, 0]" on SQLite and PostgreSQL alike.
SWAPPED_TEXT = "[1, 0]"


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def param(name: str, column):
    return bindparam(name, type_=column.type)


def now_param():
    return param("now", leases.c.expires_at)


def open_live_leases(item_id, excluding_lease: bool = False):
    """Count of the item's open, unexpired live leases (few at any time); with
    ``excluding_lease``, not counting the lease given as the ``excluding_lease`` parameter.

    Only purpose ``live`` counts: gold, qualification and repeat leases take no overlap
    place, and neither do an LLM judge's (purpose ``judge``)."""
    lease = leases.alias("open_lease")
    conditions = [
        lease.c.item_id == item_id,
        lease.c.purpose == LeasePurpose.LIVE,
        lease.c.completed_at.is_(None),
        lease.c.expires_at > now_param(),
    ]
    if excluding_lease:
        conditions.append(lease.c.id != param("excluding_lease", lease.c.id))
    return select(func.count()).select_from(lease).where(*conditions).scalar_subquery()


def live_judgments(item_id):
    return (
        select(func.count())
        .select_from(judgments)
        .where(judgments.c.item_id == item_id, judgments.c.superseded_by_id.is_(None))
        .scalar_subquery()
    )


def seen_by_rater():
    """Items the rater holds, has finished or skipped, or has judged.

    Each is a probe of a unique index per item the walk visits (usually a handful). The
    ``OFFSET 0`` keeps PostgreSQL from turning the probe into a hash of the rater's whole
    history, which costs more with every judgment the rater makes.
    """
    rater_id = param("rater_id", leases.c.rater_id)
    leased = (
        select(leases.c.id)
        .where(
            leases.c.item_id == items.c.id,
            leases.c.rater_id == rater_id,
            or_(leases.c.completed_at.is_not(None), leases.c.expires_at > now_param()),
        )
        .offset(0)
    )
    judged = (
        select(judgments.c.id)
        .where(
            judgments.c.item_id == items.c.id,
            judgments.c.rater_id == rater_id,
            judgments.c.superseded_by_id.is_(None),
        )
        .offset(0)
    )
    return or_(leased.exists(), judged.exists())


def shown_order_counts(item_id):
    """How many other raters were shown the item, and how many of them with sides swapped:
    the counts that counterbalance the next display order. Repeats and LLM judges' leases
    do not count (a judge's order is its runner's business)."""
    shown = leases.alias("shown")
    conditions = (
        shown.c.item_id == item_id,
        shown.c.rater_id != param("rater_id", shown.c.rater_id),
        # Two plain comparisons: NOT IN would be rewritten into the SQL on every execution.
        shown.c.purpose != LeasePurpose.REPEAT,
        shown.c.purpose != LeasePurpose.JUDGE,
        or_(shown.c.completed_at.is_not(None), shown.c.expires_at > now_param()),
    )
    n_shown = select(func.count()).select_from(shown).where(*conditions)
    n_swapped = n_shown.where(cast(shown.c.display_order, Text) == SWAPPED_TEXT)
    return n_shown.scalar_subquery().label("n_shown"), n_swapped.scalar_subquery().label("n_swapped")


def has_escalations(accepted: bool, k):
    """Whether an item of the project short of ``k`` judgments has an escalation decision of
    this kind: the walk of that group is skipped without one. Driven from the project's
    decisions (an index range), stopping at the first such item; when a group is done, one
    probe of each of its items."""
    item = items.alias("decided")
    found = exists().where(
        escalations.c.project_id == param("project_id", escalations.c.project_id),
        escalations.c.accepted.is_(accepted),
        item.c.id == escalations.c.item_id,
        item.c.n_judgments < k,
    )
    return found.label("has_accepted" if accepted else "has_escalated")


# The rater's open leases on the project (an LLM judge's are never a rater's task).
RATER_LEASE = (
    leases.c.project_id == param("project_id", leases.c.project_id),
    leases.c.rater_id == param("rater_id", leases.c.rater_id),
    leases.c.purpose != LeasePurpose.JUDGE,
    leases.c.completed_at.is_(None),
    leases.c.expires_at > now_param(),
)

VERSION_COLUMNS = (versions.c.id.label("version_id"), versions.c.number, versions.c.content_sha256)


class Walk(enum.Enum):
    """Which live items a walk of the next-item index considers: escalated ones only, all but
    the judge-accepted ones, or all (``WALK_FILTERS``)."""

    ESCALATED = "escalated"  # items an LLM judge escalated to humans
    UNACCEPTED = "unaccepted"  # items no judge's label was accepted for
    ALL = "all"


def _decided(accepted: bool):
    """Whether the walked item has a decision of this kind: one index probe per item, made
    before the walk's dearer checks (``OFFSET 0`` keeps PostgreSQL from turning it into a
    join made after them)."""
    esc = escalations.alias("esc")
    return select(esc.c.id).where(esc.c.item_id == items.c.id, esc.c.accepted.is_(accepted)).offset(0).exists()


WALK_FILTERS = {Walk.ESCALATED: _decided(False), Walk.UNACCEPTED: ~_decided(True), Walk.ALL: None}
