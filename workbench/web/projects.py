"""Project list and the project dashboard."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app, g, render_template

from ..domain import ProjectProgress, QuestionAlpha, Role
from ..models import Project
from ..services.agreement import project_agreement
from ..services.calibration import CalibrationReport, parse_thresholds, rater_calibration
from ..services.projects import get_project, project_progress, rater_done_count
from ..services.projects import list_projects as all_projects
from .auth import ALL_ROLES, requires
from .charts import IntervalChart, IntervalRow, interval_chart
from .db import get_session
from .stats import position_chart

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
    agreement_chart: IntervalChart | None = None
    calibration: CalibrationReport | None = None
    position_chart: IntervalChart | None = None


def agreement_chart(agreement: tuple[QuestionAlpha, ...]) -> IntervalChart:
    rows = [
        IntervalRow(
            label=f"{qa.question_label} · v{qa.rubric_version}",
            estimate=qa.result.alpha,
            low=qa.result.ci_low,
            high=qa.result.ci_high,
            note=f"{qa.result.level.value}; {qa.result.n_units} items, {qa.result.n_units_dropped} with < 2 judgments",
            warn=qa.result.alpha is not None and qa.result.alpha < 0.667,
        )
        for qa in agreement
    ]
    title = "Krippendorff's alpha per question and rubric version (95% bootstrap CI; dashed line: 0.667)"
    return interval_chart(title, rows, domain=(-0.2, 1.0), reference=0.667)


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
    agreement = tuple(project_agreement(session, project, n_resamples=500)) if staff else ()
    thresholds = parse_thresholds(current_app.config["CALIBRATION_THRESHOLDS"])
    calibration = rater_calibration(session, project, thresholds=thresholds) if staff else None
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
