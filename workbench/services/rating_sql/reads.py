"""Statements of the rating path that read, the same SQL on every database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, bindparam, exists, func, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from ...db import execute_core
from ...domain import LeasePurpose
from ..projects import SETTINGS_COLUMNS
from ..rubrics import latest_published_id
from .pieces import (
    RATER_LEASE,
    VERSION_COLUMNS,
    has_escalations,
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

# --- The rater's open lease, the current rubric version, the project ---------------------

_OPEN_LEASE_ID = select(leases.c.id).where(*RATER_LEASE).order_by(leases.c.issued_at).limit(1)
_OPEN_LEASE_ID_COLUMN = _OPEN_LEASE_ID.correlate(None).scalar_subquery().label("open_lease_id")


def _context_columns(k):
    return (*VERSION_COLUMNS, _OPEN_LEASE_ID_COLUMN, has_escalations(False, k), has_escalations(True, k))


# For the rater API: the project's settings, the version new leases get (none when the
# rubric has no published version), the rater's open lease and whether any item was
# escalated or accepted by an LLM judge, in one query.
_RATING_CONTEXT = (
    select(*SETTINGS_COLUMNS, *_context_columns(projects.c.overlap_k))
    .select_from(
        projects.outerjoin(
            versions,
            versions.c.id == func.coalesce(projects.c.rubric_version_id, latest_published_id(projects.c.rubric_id)),
        )
    )
    .where(projects.c.id == param("project_id", projects.c.id))
)

# The same for a project already at hand: no row when the rubric has no published version.
_CURRENT_VERSION = select(*_context_columns(param("k", items.c.n_judgments))).where(
    versions.c.id
    == func.coalesce(param("pinned", versions.c.id), latest_published_id(param("rubric_id", versions.c.rubric_id)))
)


def rating_context(session: Session, project_id: int, rater_id: int, now: datetime) -> Row | None:
    """Settings (the first ``len(SETTINGS_COLUMNS)`` fields), then ``version_id``,
    ``number``, ``content_sha256``, ``open_lease_id``, ``has_escalated``, ``has_accepted``."""
    return execute_core(session, _RATING_CONTEXT, {"project_id": project_id, "rater_id": rater_id, "now": now}).first()


def current_version(session: Session, project: Any, rater_id: int, now: datetime) -> Row | None:
    """The fields of ``rating_context`` after the settings, for a project at hand."""
    params = {
        "project_id": project.id,
        "rater_id": rater_id,
        "now": now,
        "pinned": project.rubric_version_id,
        "rubric_id": project.rubric_id,
        "k": project.overlap_k,
    }
    return execute_core(session, _CURRENT_VERSION, params).first()


def open_lease_id(session: Session, project_id: int, rater_id: int, now: datetime) -> int | None:
    params = {"project_id": project_id, "rater_id": rater_id, "now": now}
    return execute_core(session, _OPEN_LEASE_ID, params).scalar()


_LEASE_BY_ID = (
    select(
        leases.c.id,
        leases.c.rater_id,
        leases.c.item_id,
        leases.c.purpose,
        leases.c.display_order,
        leases.c.issued_at,
        leases.c.expires_at,
        *VERSION_COLUMNS,
    )
    .join_from(leases, versions, versions.c.id == leases.c.rubric_version_id)
    .where(leases.c.id == param("lease_id", leases.c.id))
)


def lease(session: Session, lease_id: int) -> Row | None:
    """A lease with its rubric version (``version_id``, ``number``, ``content_sha256``)."""
    return execute_core(session, _LEASE_BY_ID, {"lease_id": lease_id}).first()


_ORDERS = select(*shown_order_counts(param("item_id", leases.c.item_id)))


def shown_orders(session: Session, item_id: int, rater_id: int, now: datetime) -> tuple[int, int]:
    """(shown, swapped) of the item to other raters, as ``first_live_item`` gives them."""
    row = execute_core(session, _ORDERS, {"item_id": item_id, "rater_id": rater_id, "now": now}).one()
    return row.n_shown, row.n_swapped


# --- Gold items, repeats, draws ------------------------------------------------------------


def _unseen_gold():
    """Gold items the rater has not seen, leaving out any whose prompt is the prompt of one
    of the rater's last ``gap`` judgments: a honeypot repeats a live item's prompt, and met
    again straight away it would give itself away."""
    recent = (
        select(judgments.c.item_id)
        .where(
            judgments.c.project_id == param("project_id", judgments.c.project_id),
            judgments.c.rater_id == param("rater_id", judgments.c.rater_id),
        )
        .order_by(judgments.c.id.desc())
        .limit(bindparam("gap", type_=Integer))
        .subquery("recent")
    )
    judged = items.alias("judged")
    repeats_recent_prompt = exists().where(judged.c.id == recent.c.item_id, judged.c.prompt == items.c.prompt)
    return (
        select(items.c.id)
        .where(
            items.c.project_id == param("project_id", items.c.project_id),
            items.c.is_gold.is_(True),
            ~seen_by_rater(),
            ~repeats_recent_prompt,
        )
        .order_by(items.c.id)
    )


_UNSEEN_GOLD = _unseen_gold()


def unseen_gold(session: Session, project_id: int, rater_id: int, now: datetime, prompt_gap: int) -> list[int]:
    params = {"project_id": project_id, "rater_id": rater_id, "now": now, "gap": max(0, prompt_gap)}
    return list(execute_core(session, _UNSEEN_GOLD, params).scalars())


_REPEATED = select(leases.c.item_id).where(
    leases.c.project_id == param("project_id", leases.c.project_id),
    leases.c.rater_id == param("rater_id", leases.c.rater_id),
    leases.c.purpose == LeasePurpose.REPEAT,
)
_JUDGED_LIVE = (
    select(judgments.c.item_id, judgments.c.display_order, *VERSION_COLUMNS)
    .join(items, items.c.id == judgments.c.item_id)
    .join(versions, versions.c.id == judgments.c.rubric_version_id)
    .where(
        judgments.c.project_id == param("project_id", judgments.c.project_id),
        judgments.c.rater_id == param("rater_id", judgments.c.rater_id),
        judgments.c.superseded_by_id.is_(None),
        items.c.is_gold.is_(False),
    )
    .order_by(judgments.c.submitted_at.desc(), judgments.c.id.desc())
)


def repeated_items(session: Session, project_id: int, rater_id: int) -> set[int]:
    """Items the rater was already shown again as a repeat."""
    return set(execute_core(session, _REPEATED, {"project_id": project_id, "rater_id": rater_id}).scalars())


def judged_live_items(session: Session, project_id: int, rater_id: int) -> list[Row]:
    """The rater's live judgments on the project, newest first: ``item_id``,
    ``display_order`` and the version judged (``version_id``, ``number``, ``content_sha256``)."""
    return execute_core(session, _JUDGED_LIVE, {"project_id": project_id, "rater_id": rater_id}).all()


_LEASES_SHOWN = select(func.count()).select_from(leases).where(*RATER_LEASE[:2])


def leases_shown(session: Session, project_id: int, rater_id: int) -> int:
    """How many items the rater was shown on the project (every lease they were given)."""
    return execute_core(session, _LEASES_SHOWN, {"project_id": project_id, "rater_id": rater_id}).scalar()


# --- Item content and room ---------------------------------------------------------------

_CONTENT = (
    select(items.c.prompt, responses.c.position, responses.c.text)
    .join(responses, responses.c.item_id == items.c.id)
    .where(items.c.id == param("item_id", items.c.id))
)


def item_content(session: Session, item_id: int) -> list[Row]:
    """The item's (``prompt``, ``position``, ``text``) rows, one per response."""
    return execute_core(session, _CONTENT, {"item_id": item_id}).all()


_ITEM_ID = param("item_id", items.c.id)
_TAKEN_BESIDES_LEASE = select(live_judgments(_ITEM_ID) + open_live_leases(_ITEM_ID, excluding_lease=True))


def places_taken(session: Session, item_id: int, now: datetime, excluding_lease: int) -> int:
    """Live judgments plus open live leases on the item, not counting the given lease."""
    params = {"item_id": item_id, "now": now, "excluding_lease": excluding_lease}
    return execute_core(session, _TAKEN_BESIDES_LEASE, params).scalar()
