"""Statistics pages: the leaderboard and a rater's own quality figures."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, g, request

from ..domain import RATERS, STAFF
from ..errors import Forbidden
from ..models import Project
from ..services.calibration import RaterRow, rater_calibration
from ..services.leaderboard import ProjectLeaderboard, project_leaderboard
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


@bp.get("/projects/<int:project_id>/leaderboard")
@requires(*STAFF)
def show_leaderboard(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    board = project_leaderboard(session, project, request.args.get("question") or None, n_resamples=500)
    ctx = LeaderboardContext(project, board, *board_views(board.humans, board.machines))
    return render("stats/leaderboard.html", "stats/_leaderboard.html", ctx=ctx)


@dataclass(frozen=True)
class MyQualityContext:
    project: Project
    question_label: str
    row: RaterRow | None


@bp.get("/projects/<int:project_id>/me")
@requires(*RATERS)
def show_my_quality(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    report = rater_calibration(session, project, thresholds=calibration_thresholds())
    row = report.for_user(g.user.id)
    if row is not None and row.user_id != g.user.id:  # pragma: no cover - defensive
        raise Forbidden("not your figures")
    ctx = MyQualityContext(project=project, question_label=report.question.label, row=row)
    return render("stats/me.html", "stats/_me.html", ctx=ctx)
