"""Read models for the researcher API: judgments page by page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Item, Judgment, Project, RubricVersion, User
from .pseudonyms import pseudonym


@dataclass(frozen=True)
class JudgmentPage:
    rows: list[dict[str, Any]]
    next_cursor: int | None


def live_judgments(project: Project):
    """The project's live judgments as raw views show them, one row per judgment: ``id``,
    ``item_id`` (the item's external id), ``rater_id``, the rater's ``email`` and
    ``is_machine``, the canonical ``answers``, ``display_order``, ``issued_at``,
    ``submitted_at``, ``duration_ms``, ``rubric_version`` and ``rubric_version_sha256``.
    Callers add their filters and order."""
    return (
        select(
            Judgment.id,
            Item.external_id.label("item_id"),
            Judgment.rater_id,
            User.email,
            User.is_machine,
            Judgment.answers,
            Judgment.display_order,
            Judgment.issued_at,
            Judgment.submitted_at,
            Judgment.duration_ms,
            RubricVersion.number.label("rubric_version"),
            RubricVersion.content_sha256.label("rubric_version_sha256"),
        )
        .join(Item, Item.id == Judgment.item_id)
        .join(User, User.id == Judgment.rater_id)
        .join(RubricVersion, RubricVersion.id == Judgment.rubric_version_id)
        .where(Judgment.project_id == project.id, Judgment.superseded_by_id.is_(None))
    )


def judgment_page(session: Session, project: Project, after: int = 0, limit: int = 100) -> JudgmentPage:
    """Live judgments with id > ``after``, oldest id first; ``next_cursor`` continues the walk.

    Keyset paging on the judgment id, so pages stay stable while raters keep submitting.
    Answers are canonical (A = the item's first response); raters appear by pseudonym.
    """
    query = live_judgments(project).where(Judgment.id > after).order_by(Judgment.id).limit(limit + 1)
    rows = session.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    out = [
        {
            "id": r.id,
            "item_id": r.item_id,
            "rater": pseudonym(project, r.rater_id),
            "machine": r.is_machine,
            "answers": r.answers,
            "display_order": r.display_order,
            "issued_at": r.issued_at.isoformat() if r.issued_at else None,
            "submitted_at": r.submitted_at.isoformat() if r.submitted_at else None,
            "duration_ms": r.duration_ms,
            "rubric_version": r.rubric_version,
            "rubric_version_sha256": r.rubric_version_sha256,
        }
        for r in rows
    ]
    return JudgmentPage(out, rows[-1].id if more and rows else None)
