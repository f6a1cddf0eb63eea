"""Project list and the project dashboard."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, g, render_template

from ..domain import EVERYONE, STAFF, ProjectProgress, QuestionAlpha
from ..models import Project
from ..services.agreement import project_agreement
from ..services.calibration import CalibrationReport, rater_calibration
from ..services.projects import get_project, project_progress, rater_done_count
from ..services.projects import list_projects as all_projects
from .auth import requires
from .charts import IntervalChart
from .db import calibration_thresholds, get_session
from .presenters import agreement_chart, position_chart

bp = Blueprint("projects", __name__)


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
    agreement_chart: IntervalChart | None = None
    calibration: CalibrationReport | None = None
    position_chart: IntervalChart | None = None


@bp.get("/")
@requires(*EVERYONE)
def list_projects():
    session = get_session()
    rows = [ProjectRow(p, project_progress(session, p), rater_done_count(session, p, g.user)) for p in all_projects(session)]
    return render_template("projects/index.html", rows=rows)


@bp.get("/projects/<int:project_id>")
@requires(*EVERYONE)
def show_dashboard(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    staff = g.user.role in STAFF
    agreement = tuple(project_agreement(session, project, n_resamples=500)) if staff else ()
    calibration = rater_calibration(session, project, thresholds=calibration_thresholds()) if staff else None
    ctx = DashboardContext(
        project=project,
        progress=project_progress(session, project, with_raters=staff),
        mine=rater_done_count(session, project, g.user),
        agreement=agreement,
        show_raters=staff,
        agreement_chart=agreement_chart(agreement) if agreement else None,
        calibration=calibration,
        position_chart=position_chart(calibration) if calibration and calibration.rows and project.task_kind.value == "pairwise" else None,
    )
    return render_template("projects/dashboard.html", ctx=ctx)
