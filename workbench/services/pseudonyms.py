"""Pseudonymous rater ids for exports and the API."""

from __future__ import annotations

import hashlib

from ..models import Project


def pseudonym(project: Project, rater_id: int) -> str:
    """A stable pseudonymous rater id: the same rater keeps it across exports of the project.

    A hash of the project's id and creation time with the user id, so ids do not link
    raters across projects and cannot be reversed by counting user ids alone.
    """
    stamp = project.created_at.isoformat() if project.created_at else ""
    return "r-" + hashlib.sha256(f"{project.id}:{stamp}:{rater_id}".encode()).hexdigest()[:16]
