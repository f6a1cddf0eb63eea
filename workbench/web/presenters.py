"""View models: service results turned into the rows and charts that templates draw.

Every page that shows a leaderboard, an agreement chart or a calibration chart gets it
from here, so the dashboard, the statistics pages and the printable report show the
same figures with the same titles. Nothing here queries or computes statistics; the
geometry of a chart is in ``charts``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..domain import QuestionAlpha
from ..services.calibration import CalibrationReport
from ..services.error_analysis import ErrorAnalysis
from ..services.report import ProjectReport
from ..stats.pairwise import Leaderboard
from .charts import IntervalChart, IntervalRow, interval_chart

HUMAN_BOARD_TITLE = "Human raters: Bradley–Terry strength, Elo scale, 95% bootstrap CI"
MACHINE_BOARD_TITLE = "Machine raters: Bradley–Terry strength, Elo scale, 95% bootstrap CI"
ALPHA_TARGET = 0.667  # Krippendorff's lowest level for tentative conclusions


# --------------------------------------------------------------------------- leaderboard


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
        [
            IntervalRow(f"#{r.rank} {r.model}", r.elo, r.elo_low, r.elo_high, note=f"{r.comparisons} comparisons")
            for r in rows
        ],
        reference=1000.0,
        fmt="{:.0f}",
    )
    return BoardView(rows, chart, board.method, board.n_components)


def board_views(humans: Leaderboard | None, machines: Leaderboard | None) -> tuple[BoardView | None, BoardView | None]:
    """The human and the machine leaderboard as views (None where there is no board)."""
    return (
        board_view(HUMAN_BOARD_TITLE, humans) if humans else None,
        board_view(MACHINE_BOARD_TITLE, machines) if machines else None,
    )


# --------------------------------------------------------------------------- agreement and calibration


def agreement_chart(agreement: tuple[QuestionAlpha, ...]) -> IntervalChart:
    rows = [
        IntervalRow(
            label=f"{qa.question_label} · v{qa.rubric_version}",
            estimate=qa.result.alpha,
            low=qa.result.ci_low,
            high=qa.result.ci_high,
            note=f"{qa.result.level.value}; {qa.result.n_units} items, {qa.result.n_units_dropped} with < 2 judgments",
            warn=qa.result.alpha is not None and qa.result.alpha < ALPHA_TARGET,
        )
        for qa in agreement
    ]
    title = f"Krippendorff's alpha per question and rubric version (95% bootstrap CI; dashed line: {ALPHA_TARGET})"
    return interval_chart(title, rows, domain=(-0.2, 1.0), reference=ALPHA_TARGET)


def position_chart(report: CalibrationReport) -> IntervalChart:
    rows = []
    for r in report.rows:
        position = r.calibration.position
        note = (
            f"{position.successes}/{position.trials} left picks, p={r.calibration.position_p:.3g}"
            if position.trials
            else "no pairwise preferences"
        )
        rows.append(
            IntervalRow(
                label=r.name + (" (machine)" if r.is_machine else ""),
                estimate=position.estimate,
                low=position.low,
                high=position.high,
                note=note,
                warn=any("left" in f or "right" in f for f in r.calibration.flags),
            )
        )
    title = "Share of preferences for the left-hand response (95% Wilson interval; 0.5 = no position bias)"
    return interval_chart(title, rows, domain=(0.0, 1.0), reference=0.5)


# --------------------------------------------------------------------------- quality loop


def failure_chart(analysis: ErrorAnalysis) -> IntervalChart | None:
    rows = [
        IntervalRow(f"{m.model} · {label}", p.estimate, p.low, p.high, note=f"{p.successes}/{p.trials} judgments")
        for m in analysis.models
        for (_tag, label), p in zip(analysis.tags, m.rates, strict=True)
        if p.successes
    ]
    if not rows:
        return None
    title = "Failure rate per model and tag (share of judgments, 95% Wilson interval)"
    return interval_chart(title, rows, domain=(0.0, 1.0))


def accuracy_chart(report: ProjectReport) -> IntervalChart | None:
    rows = [
        IntervalRow(
            r.name,
            r.combined.estimate,
            r.combined.low,
            r.combined.high,
            note=f"{r.combined.successes}/{r.combined.trials} gold items and spot checks",
            warn=r.meets_target is False,
        )
        for r in report.accuracy
        if r.combined is not None
    ]
    if not rows:
        return None
    title = (
        "Accuracy on gold items and spot checks "
        f"(95% Wilson interval; dashed line: the {report.accuracy_target:.0%} target)"
    )
    return interval_chart(title, rows, domain=(0.0, 1.0), reference=report.accuracy_target)


@dataclass(frozen=True)
class ReportContext:
    report: ProjectReport
    agreement_chart: IntervalChart | None
    accuracy_chart: IntervalChart | None
    humans: BoardView | None
    machines: BoardView | None
    failure_chart: IntervalChart | None


def report_context(report: ProjectReport) -> ReportContext:
    board = report.leaderboard
    humans, machines = board_views(board.humans, board.machines) if board else (None, None)
    return ReportContext(
        report=report,
        agreement_chart=agreement_chart(report.agreement) if report.agreement else None,
        accuracy_chart=accuracy_chart(report),
        humans=humans,
        machines=machines,
        failure_chart=failure_chart(report.errors) if report.errors else None,
    )
