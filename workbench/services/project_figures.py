"""The figures the pages show, through the shared cache (``services.stat_cache``).

Each wrapper names its figures and parameters once, so every page asking for the same
figures shares one computation. A rater's own figures are their row of the project's
cached calibration: they cost a cache read, not a calibration of the whole project.
"""

from __future__ import annotations

from dataclasses import replace

from ..models import Project
from ..stats.calibration import Thresholds
from .adjudication import DisagreementRule, disagreeing_items, disagreement_queue
from .agreement import project_agreement
from .calibration import CalibrationReport, rater_calibration
from .leaderboard import project_leaderboard
from .projects import project_progress
from .report import project_report
from .stat_cache import Cached, cached


def agreement_figures(session, project: Project, n_resamples: int = 500) -> Cached[tuple]:
    return cached(
        session,
        project,
        "agreement",
        (n_resamples,),
        lambda: tuple(project_agreement(session, project, n_resamples=n_resamples)),
    )


def calibration_figures(session, project: Project, thresholds: Thresholds) -> Cached[CalibrationReport]:
    return cached(
        session,
        project,
        "calibration",
        (repr(thresholds),),
        lambda: rater_calibration(session, project, thresholds=thresholds),
    )


def leaderboard_figures(session, project: Project, question: str | None, n_resamples: int = 500) -> Cached:
    return cached(
        session,
        project,
        "leaderboard",
        (question, n_resamples),
        lambda: project_leaderboard(session, project, question, n_resamples=n_resamples),
    )


def report_figures(session, project: Project, target: float, thresholds: Thresholds, n_resamples: int = 500) -> Cached:
    figures = cached(
        session,
        project,
        "report",
        (target, repr(thresholds), n_resamples),
        lambda: project_report(session, project, target, thresholds, n_resamples=n_resamples),
    )
    # The cached report carries a detached copy of the project; the page reads the live one.
    return replace(figures, value=replace(figures.value, project=project))


def progress_figures(session, project: Project, with_raters: bool) -> Cached:
    return cached(
        session,
        project,
        "progress",
        (with_raters,),
        lambda: project_progress(session, project, with_raters=with_raters),
    )


def disagreement_figures(session, project: Project, question: str | None, rule: DisagreementRule) -> Cached:
    """Open and resolved disagreements. Which items disagree is shared like the other
    figures; the adjudications are read afresh, so an adjudicator sees a decision at once."""
    found = cached(
        session,
        project,
        "disagreements",
        (question, str(rule)),
        lambda: disagreeing_items(session, project, question, rule),
    )
    return replace(found, value=disagreement_queue(session, project, question, rule, found.value))
