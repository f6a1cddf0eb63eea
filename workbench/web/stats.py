"""Statistics pages: the leaderboard and a rater's own quality figures."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flask import Blueprint, current_app, g, request

from ..domain import Role
from ..errors import Forbidden
from ..models import Project
from ..services.calibration import CalibrationReport, RaterRow, parse_thresholds, rater_calibration
from ..services.leaderboard import ProjectLeaderboard, project_leaderboard
from ..services.projects import get_project
from ..stats.pairwise import Leaderboard
from .auth import requires
from .charts import IntervalChart, IntervalRow, interval_chart
from .db import get_session
from .htmx import render

bp = Blueprint("stats", __name__)

STAFF = (Role.AUTHOR, Role.RESEARCHER, Role.ADMIN)
@dataclass(frozen=True)
class BoardRow:
    rank: int
    model: str
    elo: float
    elo_low: float
    elo_high: float
    comparisons: int
    mean_length: float | None
    win_rates: tuple[tuple[float, int] | None, ...]  # per opponent: (win share, games)


@dataclass(frozen=True)
class BoardView:
    rows: tuple[BoardRow, ...]
    chart: IntervalChart
    method: str
    n_components: int


def board_view(title: str, board: Leaderboard) -> BoardView:
    """Plain rows for the template: Elo-scale strengths, win rates, mean lengths."""
    lengths = None if board.mean_length is None else np.ma.filled(board.mean_length.astype(float), np.nan)
    rows = tuple(
        BoardRow(
            rank=int(board.rank[i]),
            model=model,
            elo=float(board.elo[i]),
            elo_low=float(board.elo_ci_low[i]),
            elo_high=float(board.elo_ci_high[i]),
            comparisons=int(board.games[i].sum()),
            mean_length=None if lengths is None or np.isnan(lengths[i]) else float(lengths[i]),
            win_rates=tuple(
                (float(board.wins[i, j] / board.games[i, j]), int(board.games[i, j])) if board.games[i, j] else None
                for j in range(len(board.models))
            ),
        )
        for i, model in enumerate(board.models)
    )
    chart = interval_chart(
        title,
        [IntervalRow(f"#{r.rank} {r.model}", r.elo, r.elo_low, r.elo_high, note=f"{r.comparisons} comparisons") for r in rows],
        reference=1000.0,
        fmt="{:.0f}",
    )
    return BoardView(rows, chart, board.method, board.n_components)


def position_chart(report: CalibrationReport) -> IntervalChart:
    rows = [
        IntervalRow(
            label=r.name + (" (machine)" if r.is_machine else ""),
            estimate=r.calibration.position.estimate,
            low=r.calibration.position.low,
            high=r.calibration.position.high,
            note=f"{r.calibration.position.successes}/{r.calibration.position.trials} left picks, p={r.calibration.position_p:.3g}"
            if r.calibration.position.trials
            else "no pairwise preferences",
            warn=any("left" in f or "right" in f for f in r.calibration.flags),
        )
        for r in report.rows
    ]
    return interval_chart("Share of preferences for the left-hand response (95% Wilson interval; 0.5 = no position bias)", rows, domain=(0.0, 1.0), reference=0.5)


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
    ctx = LeaderboardContext(
        project=project,
        board=board,
        humans=board_view("Human raters: Bradley–Terry strength, Elo scale, 95% bootstrap CI", board.humans) if board.humans else None,
        machines=board_view("Machine raters: Bradley–Terry strength, Elo scale, 95% bootstrap CI", board.machines) if board.machines else None,
    )
    return render("stats/leaderboard.html", "stats/_leaderboard.html", ctx=ctx)


@dataclass(frozen=True)
class MyQualityContext:
    project: Project
    question_label: str
    row: RaterRow | None


@bp.get("/projects/<int:project_id>/me")
@requires(Role.RATER, Role.ADMIN)
def show_my_quality(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    report = rater_calibration(session, project, thresholds=parse_thresholds(current_app.config["CALIBRATION_THRESHOLDS"]))
    row = report.for_user(g.user.id)
    if row is not None and row.user_id != g.user.id:  # pragma: no cover - defensive
        raise Forbidden("not your figures")
    ctx = MyQualityContext(project=project, question_label=report.question.label, row=row)
    return render("stats/me.html", "stats/_me.html", ctx=ctx)
