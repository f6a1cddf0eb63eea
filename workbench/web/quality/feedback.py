"""A rater's feedback page, and the rubric version its entries link to."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, render_template

from ...domain import EVERYONE, RATERS, may_read_version
from ...errors import NotFound
from ...models import Project, RubricVersion
from ...services.membership import visible_project
from ...services.rater_feedback import FeedbackEntry, rater_feedback
from ..auth import requires
from ..db import get_session
from ..htmx import render
from . import bp


@dataclass(frozen=True)
class FeedbackContext:
    project: Project
    entries: tuple[FeedbackEntry, ...]


@bp.get("/projects/<int:project_id>/feedback")
@requires(*RATERS)
def show_feedback(project_id: int):
    session = get_session()
    project = visible_project(session, project_id, g.user)
    ctx = FeedbackContext(project, tuple(rater_feedback(session, project, g.user)))
    return render("quality/feedback.html", "quality/_feedback.html", ctx=ctx)


@bp.get("/rubric-versions/<int:version_id>")
@requires(*EVERYONE)
def show_rubric_version(version_id: int):
    version = get_session().get(RubricVersion, version_id)
    if version is None or not may_read_version(version.status, g.user.role):
        raise NotFound(f"no rubric version {version_id}")
    return render_template("quality/rubric_version.html", version=version)
