"""The project quality report: everything a lead reads before trusting the data.

Coverage (items with k judgments), throughput (judgments per rater-hour, from the time each
judgment was on screen), accuracy on gold items and spot checks against a target, agreement
with CIs per question and rubric version, flagged raters, adjudication counts, the model
leaderboard and the failure modes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain import ProjectProgress, QuestionAlpha
from ..errors import InvalidInput
from ..models import Item, Judgment, Project, User, utcnow
from ..rubric.questions import Questions
from ..stats.binomial import Proportion
from ..stats.calibration import Thresholds
from .adjudication import AdjudicationCounts, adjudication_counts
from .agreement import project_agreement
from .calibration import CalibrationReport, rater_calibration
from .error_analysis import ErrorAnalysis, error_analysis
from .leaderboard import ProjectLeaderboard, project_leaderboard
from .projects import project_progress
from .rubrics import current_version

DEFAULT_ACCURACY_TARGET = 0.95


@dataclass(frozen=True)
class CoverageRow:
    judgments: int  # k
    items: int  # items with exactly k live judgments


@dataclass(frozen=True)
class ThroughputRow:
    name: str
    is_machine: bool
    judgments: int
    hours: float
    per_hour: float | None


@dataclass(frozen=True)
class AccuracyRow:
    name: str
    is_machine: bool
    gold: Proportion
    spot_checks: Proportion | None
    combined: Proportion | None
    meets_target: bool | None  # None: nothing checked yet


@dataclass(frozen=True)
class FlaggedRater:
    name: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class ProjectReport:
    project: Project
    rubric_version: int
    rubric_sha256: str
    generated_at: datetime
    progress: ProjectProgress
    coverage: tuple[CoverageRow, ...]
    throughput: tuple[ThroughputRow, ...]
    total_per_hour: float | None
    accuracy_target: float
    accuracy: tuple[AccuracyRow, ...]
    agreement: tuple[QuestionAlpha, ...]
    calibration: CalibrationReport
    flagged: tuple[FlaggedRater, ...]
    adjudication: AdjudicationCounts
    leaderboard: ProjectLeaderboard | None
    errors: ErrorAnalysis | None


def coverage(session: Session, project: Project) -> tuple[CoverageRow, ...]:
    """How many live items have 0, 1, ..., k live judgments."""
    per_item = (
        select(Item.id, func.count(Judgment.id).label("n"))
        .outerjoin(Judgment, (Judgment.item_id == Item.id) & Judgment.superseded_by_id.is_(None))
        .where(Item.project_id == project.id, Item.is_gold.is_(False))
        .group_by(Item.id)
        .subquery()
    )
    counts = dict(session.execute(select(per_item.c.n, func.count()).group_by(per_item.c.n)).all())
    top = max([project.overlap_k, *counts]) if counts else project.overlap_k
    return tuple(CoverageRow(k, int(counts.get(k, 0))) for k in range(top + 1))


def throughput(session: Session, project: Project) -> tuple[tuple[ThroughputRow, ...], float | None]:
    rows = session.execute(
        select(User.name, User.is_machine, func.count(Judgment.id), func.coalesce(func.sum(Judgment.duration_ms), 0))
        .join(Judgment, Judgment.rater_id == User.id)
        .where(Judgment.project_id == project.id, Judgment.superseded_by_id.is_(None))
        .group_by(User.id, User.name, User.is_machine)
        .order_by(User.name)
    ).all()
    out = tuple(
        ThroughputRow(name, bool(machine), int(n), ms / 3_600_000, (n / (ms / 3_600_000)) if ms else None)
        for name, machine, n, ms in rows
    )
    humans = [r for r in out if not r.is_machine and r.hours]
    hours = sum(r.hours for r in humans)
    return out, (sum(r.judgments for r in humans) / hours if hours else None)


def project_report(
    session: Session,
    project: Project,
    accuracy_target: float = DEFAULT_ACCURACY_TARGET,
    thresholds: Thresholds | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
) -> ProjectReport:
    if not 0.0 < accuracy_target <= 1.0:
        raise InvalidInput(f"the accuracy target is a share between 0 and 1, not {accuracy_target}")
    version = current_version(session, project)
    calibration = rater_calibration(session, project, thresholds=thresholds)
    accuracy = []
    flagged = []
    for row in calibration.rows:
        combined = row.accuracy
        meets = None if combined is None or combined.estimate is None else combined.estimate >= accuracy_target
        accuracy.append(AccuracyRow(row.name, row.is_machine, row.calibration.gold, row.spot_checks, combined, meets))
        reasons = list(row.calibration.flags)
        if meets is False:
            reasons.append(f"accuracy {combined.estimate:.0%} below the {accuracy_target:.0%} target")
        if reasons:
            flagged.append(FlaggedRater(row.name, tuple(reasons)))
    board = None
    if project.task_kind.value == "pairwise" and Questions.of(version.document).of_type("pairwise"):
        board = project_leaderboard(session, project, n_resamples=n_resamples, seed=seed)
    rows, total = throughput(session, project)
    return ProjectReport(
        project=project,
        rubric_version=version.number,
        rubric_sha256=version.content_sha256,
        generated_at=utcnow(),
        progress=project_progress(session, project, with_raters=True),
        coverage=coverage(session, project),
        throughput=rows,
        total_per_hour=total,
        accuracy_target=accuracy_target,
        accuracy=tuple(accuracy),
        agreement=tuple(project_agreement(session, project, n_resamples=n_resamples, seed=seed)),
        calibration=calibration,
        flagged=tuple(flagged),
        adjudication=adjudication_counts(session, project),
        leaderboard=board,
        errors=error_analysis(session, project),
    )
