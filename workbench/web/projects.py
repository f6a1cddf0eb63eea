"""Project list and the project dashboard."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, g, render_template

from ..domain import ProjectProgress, QuestionAlpha, Role
from ..models import Project
from ..services.agreement import project_agreement
from ..services.projects import get_project, project_progress, rater_done_count
from ..services.projects import list_projects as all_projects
from .auth import ALL_ROLES, requires
from .db import get_session

bp = Blueprint("projects", __name__)

STAFF = (Role.AUTHOR, Role.RESEARCHER, Role.ADMIN)


@dataclass(frozen=True)
class ProjectRow:
    project: Project
    progress: ProjectProgress
    mine: int


@dataclass(frozen=True)
class DashboardContext:
    project: Project
    progress: ProjectProgress
    mine: int
    agreement: tuple[QuestionAlpha, ...]
    show_raters: bool


@bp.get("/")
@requires(*ALL_ROLES)
def list_projects():
    session = get_session()
    rows = [ProjectRow(p, project_progress(session, p), rater_done_count(session, p, g.user)) for p in all_projects(session)]
    return render_template("projects/index.html", rows=rows)


@bp.get("/projects/<int:project_id>")
@requires(*ALL_ROLES)
def show_dashboard(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    staff = g.user.role in STAFF
    ctx = DashboardContext(
        project=project,
        progress=project_progress(session, project, with_raters=staff),
        mine=rater_done_count(session, project, g.user),
        agreement=tuple(project_agreement(session, project, n_resamples=200)) if staff else (),
        show_raters=staff,
    )
    return render_template("projects/dashboard.html", ctx=ctx)
