"""The judge alignment page: every judge of a project against the human majority."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, request

from ..models import Project
from ..services.escalation import EscalationSummary, latest_escalation
from ..services.judge_alignment import JudgeAlignmentReport, judge_alignment, project_judges
from ..services.projects import get_project
from ..stats.judge_alignment import ReliabilityDiagram
from .auth import requires
from .db import get_session
from .htmx import render
from .stats import STAFF

bp = Blueprint("judge_alignment", __name__)

SIZE = 240  # reliability plot: a square of SIZE pixels inside PAD on each side
PAD = 34


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    y: float
    height: float
    label: str


@dataclass(frozen=True)
class ReliabilityPlot:
    """SVG geometry of a reliability diagram: one bar per non-empty bin (agreement) and a
    dot at the bin's mean confidence; the diagonal is perfect calibration."""

    size: int
    pad: int
    bars: tuple[Bar, ...]
    dots: tuple[tuple[float, float], ...]
    ticks: tuple[tuple[float, str], ...]


def reliability_plot(diagram: ReliabilityDiagram) -> ReliabilityPlot:
    def x(v: float) -> float:
        return round(PAD + v * SIZE, 1)

    def y(v: float) -> float:
        return round(PAD + (1.0 - v) * SIZE, 1)

    bars, dots = [], []
    for b in diagram.bins:
        if not b.n:
            continue
        bars.append(
            Bar(x(b.low) + 1, SIZE / len(diagram.bins) - 2, y(b.agreement), round(b.agreement * SIZE, 1),
                f"{b.low:.1f}–{b.high:.1f}: agreement {b.agreement:.0%} of {b.n}, mean confidence {b.mean_confidence:.2f}")
        )  # fmt: skip
        dots.append((x(b.mean_confidence), y(b.agreement)))
    ticks = tuple((round(PAD + t / 5 * SIZE, 1), f"{t / 5:.1f}") for t in range(6))
    return ReliabilityPlot(SIZE, PAD, tuple(bars), tuple(dots), ticks)


@dataclass(frozen=True)
class JudgeCard:
    report: JudgeAlignmentReport
    plot: ReliabilityPlot
    escalation: EscalationSummary | None


@dataclass(frozen=True)
class AlignmentContext:
    project: Project
    question: str | None
    cards: tuple[JudgeCard, ...]


def alignment_context(session, project: Project, question: str | None, n_resamples: int = 500) -> AlignmentContext:
    cards = []
    for judge in project_judges(session, project):
        report = judge_alignment(session, project, judge, question, n_resamples=n_resamples)
        cards.append(
            JudgeCard(report, reliability_plot(report.reliability), latest_escalation(session, project, judge))
        )
    return AlignmentContext(project, question, tuple(cards))


@bp.get("/projects/<int:project_id>/judges/alignment")
@requires(*STAFF)
def show_alignment(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    ctx = alignment_context(session, project, request.args.get("question") or None)
    return render("judges/alignment.html", "judges/_alignment.html", ctx=ctx)
