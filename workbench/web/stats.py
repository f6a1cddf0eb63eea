"""Statistics pages: the leaderboard and a rater's own quality figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, g, request

from ..domain import RATERS, STAFF
from ..errors import Forbidden
from ..models import Project
from ..services.calibration import RaterRow
from ..services.leaderboard import ProjectLeaderboard
from ..services.membership import visible_project
from ..services.project_figures import calibration_figures, leaderboard_figures
from ..services.projects import get_project
from .auth import requires
from .db import calibration_thresholds, get_session
from .htmx import render
from .presenters import BoardView, board_views

bp = Blueprint("stats", __name__)


@dataclass(frozen=True)
class LeaderboardContext:
    project: Project
    board: ProjectLeaderboard
    humans: BoardView | None
    machines: BoardView | None
    figures_as_of: datetime | None = None


@bp.get("/projects/<int:project_id>/leaderboard")
@requires(*STAFF)
def show_leaderboard(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    figures = leaderboard_figures(session, project, request.args.get("question") or None)
    session.commit()  # keep the computed figures for the next visitor
    board = figures.value
    ctx = LeaderboardContext(project, board, *board_views(board.humans, board.machines), figures.computed_at)
    return render("stats/leaderboard.html", "stats/_leaderboard.html", ctx=ctx)


@dataclass(frozen=True)
class MyQualityContext:
    project: Project
    question_label: str
    row: RaterRow | None
    figures_as_of: datetime | None = None


@bp.get("/projects/<int:project_id>/me")
@requires(*RATERS)
def show_my_quality(project_id: int):
    session = get_session()
    project = visible_project(session, project_id, g.user)
    figures = calibration_figures(session, project, calibration_thresholds())
    session.commit()  # keep the computed figures for the next visitor
    report = figures.value
    row = report.for_user(g.user.id)
    if row is not None and row.user_id != g.user.id:  # pragma: no cover - defensive
        raise Forbidden("not your figures")
    ctx = MyQualityContext(
        project=project, question_label=report.question.label, row=row, figures_as_of=figures.computed_at
    )
    return render("stats/me.html", "stats/_me.html", ctx=ctx)
