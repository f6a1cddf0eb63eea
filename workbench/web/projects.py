"""Project list and the project dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, g, render_template

from ..domain import EVERYONE, STAFF, ProjectProgress, QuestionAlpha
from ..models import Project
from ..services.calibration import CalibrationReport
from ..services.membership import visible_project, visible_projects
from ..services.project_figures import agreement_figures, calibration_figures, progress_figures
from ..services.projects import rater_done_count
from .auth import requires
from .charts import IntervalChart
from .db import calibration_thresholds, get_session
from .presenters import agreement_chart, position_chart

bp = Blueprint("projects", __name__)


@dataclass(frozen=True)
class ProjectRow:
    project: Project
    progress: ProjectProgress | None  # None for raters: they see only their own count
    mine: int


@dataclass(frozen=True)
class DashboardContext:
    project: Project
    progress: ProjectProgress | None  # None for raters: they see only their own count
    mine: int
    agreement: tuple[QuestionAlpha, ...]
    show_raters: bool
    agreement_chart: IntervalChart | None = None
    calibration: CalibrationReport | None = None
    position_chart: IntervalChart | None = None
    figures_as_of: datetime | None = None


@bp.get("/")
@requires(*EVERYONE)
def list_projects():
    session = get_session()
    # Raters see only what they did themselves: a project-wide count moves with other
    # raters' work, and after a live submit but not after a gold one.
    staff = g.user.role in STAFF
    rows = [
        ProjectRow(
            p, progress_figures(session, p, False).value if staff else None, rater_done_count(session, p, g.user)
        )
        for p in visible_projects(session, g.user)
    ]
    session.commit()  # keep the computed figures for the next visitor
    return render_template("projects/index.html", rows=rows)


@bp.get("/projects/<int:project_id>")
@requires(*EVERYONE)
def show_dashboard(project_id: int):
    session = get_session()
    project = visible_project(session, project_id, g.user)
    staff = g.user.role in STAFF
    agreement_cached = agreement_figures(session, project) if staff else None
    calibration_cached = calibration_figures(session, project, calibration_thresholds()) if staff else None
    agreement = agreement_cached.value if agreement_cached else ()
    calibration = calibration_cached.value if calibration_cached else None
    ctx = DashboardContext(
        project=project,
        progress=progress_figures(session, project, staff).value if staff else None,
        mine=rater_done_count(session, project, g.user),
        agreement=agreement,
        show_raters=staff,
        agreement_chart=agreement_chart(agreement) if agreement else None,
        calibration=calibration,
        position_chart=position_chart(calibration)
        if calibration and calibration.rows and project.task_kind.value == "pairwise"
        else None,
        figures_as_of=calibration_cached.computed_at if calibration_cached else None,
    )
    session.commit()  # keep the computed figures for the next visitor
    return render_template("projects/dashboard.html", ctx=ctx)
