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


def judgment_page(session: Session, project: Project, after: int = 0, limit: int = 100) -> JudgmentPage:
    """Live judgments with id > ``after``, oldest id first; ``next_cursor`` continues the walk.

    Keyset paging on the judgment id, so pages stay stable while raters keep submitting.
    Answers are canonical (A = the item's first response); raters appear by pseudonym.
    """
    rows = session.execute(
        select(
            Judgment.id,
            Item.external_id,
            Judgment.rater_id,
            User.is_machine,
            Judgment.answers,
            Judgment.display_order,
            Judgment.issued_at,
            Judgment.submitted_at,
            Judgment.duration_ms,
            RubricVersion.number,
            RubricVersion.content_sha256,
        )
        .join(Item, Item.id == Judgment.item_id)
        .join(User, User.id == Judgment.rater_id)
        .join(RubricVersion, RubricVersion.id == Judgment.rubric_version_id)
        .where(Judgment.project_id == project.id, Judgment.superseded_by_id.is_(None), Judgment.id > after)
        .order_by(Judgment.id)
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    out = [
        {
            "id": r[0],
            "item_id": r[1],
            "rater": pseudonym(project, r[2]),
            "machine": r[3],
            "answers": r[4],
            "display_order": r[5],
            "issued_at": r[6].isoformat() if r[6] else None,
            "submitted_at": r[7].isoformat() if r[7] else None,
            "duration_ms": r[8],
            "rubric_version": r[9],
            "rubric_version_sha256": r[10],
        }
        for r in rows
    ]
    return JudgmentPage(out, rows[-1][0] if more and rows else None)
