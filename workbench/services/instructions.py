"""The instructions step: a rater reads a project's guidelines once before the first item."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import InstructionsSeen, Project, User, utcnow
from . import rating_sql as sql
from .rubrics import version_document


def instructions_seen(session: Session, project: Project, rater: User) -> bool:
    return (
        session.scalar(
            select(InstructionsSeen.rater_id).where(
                InstructionsSeen.project_id == project.id, InstructionsSeen.rater_id == rater.id
            )
        )
        is not None
    )


def mark_instructions_seen(session: Session, project: Project, rater: User, now: datetime | None = None) -> None:
    """Remember that the rater started rating this project (a second call changes nothing)."""
    if instructions_seen(session, project, rater):
        return
    try:
        with session.begin_nested():  # two tabs may press "Start rating" at once
            session.add(InstructionsSeen(project_id=project.id, rater_id=rater.id, seen_at=now or utcnow()))
    except IntegrityError:
        pass


def instructions_document(session: Session, project: Project, rater: User) -> dict | None:
    """The rubric version the rater's items will come with (None: nothing published yet)."""
    row = sql.current_version(session, project, rater.id, utcnow())
    if row is None:
        return None
    return version_document(session, row.version_id, row.content_sha256)
