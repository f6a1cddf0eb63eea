"""The quality loop: disagreement queue and adjudication, spot checks, two-rater comparison,
model error analysis, the printable project report, and a rater's feedback page."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from markupsafe import Markup

from ..domain import Role
from ..errors import InvalidInput, NotFound
from ..models import Project, RubricVersion
from ..paths import STATIC_DIR
from ..rubric import answers_from_form
from ..services.adjudication import (
    AdjudicationCase,
    DisagreementQueue,
    adjudication_case,
    disagreement_queue,
    parse_rule,
    promote_to_gold,
    record_adjudication,
)
from ..services.calibration import parse_thresholds
from ..services.comparison import RaterComparison, compare_raters, project_raters
from ..services.error_analysis import ErrorAnalysis, error_analysis
from ..services.projects import get_project
from ..services.rater_feedback import FeedbackEntry, rater_feedback
from ..services.report import DEFAULT_ACCURACY_TARGET, ProjectReport, project_report
from ..services.spot_checks import SpotCheckQueue, review_spot_check, sample_spot_checks, spot_check_queue
from .auth import ALL_ROLES, requires
from .charts import IntervalChart, IntervalRow, interval_chart
from .db import get_session
from .htmx import render
from .projects import agreement_chart
from .stats import BoardView, board_view

bp = Blueprint("quality", __name__)

STAFF = (Role.AUTHOR, Role.RESEARCHER, Role.ADMIN)
REPORT_CSS = Path(STATIC_DIR) / "report.css"


# --------------------------------------------------------------------------- disagreements


@dataclass(frozen=True)
class QueueContext:
    project: Project
    queue: DisagreementQueue
    rule_text: str


@bp.get("/projects/<int:project_id>/disagreements")
@requires(*STAFF)
def show_disagreements(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    rule_text = request.args.get("rule") or "no-majority"
    queue = disagreement_queue(session, project, request.args.get("question") or None, parse_rule(rule_text))
    ctx = QueueContext(project, queue, str(queue.rule))
    return render("quality/disagreements.html", "quality/_disagreements.html", ctx=ctx)


@dataclass(frozen=True)
class CaseContext:
    case: AdjudicationCase
    question_key: str
    rule: str
    errors: dict[str, str] = field(default_factory=dict)
    form: dict[str, list[str]] = field(default_factory=dict)


def _case_page(case: AdjudicationCase, status: int = 200, **extra):
    extra.setdefault("form", case.question.form_values(case.existing.answer if case.existing else None))
    ctx = CaseContext(case, request.values.get("question") or case.question.id, request.values.get("rule") or "no-majority", **extra)
    return render("quality/adjudicate.html", "quality/_adjudicate.html", status=status, ctx=ctx)


@bp.get("/projects/<int:project_id>/items/<int:item_id>/adjudicate")
@requires(*STAFF)
def show_case(project_id: int, item_id: int):
    session = get_session()
    project = get_project(session, project_id)
    return _case_page(adjudication_case(session, project, item_id, request.args.get("question") or None))


@bp.post("/projects/<int:project_id>/items/<int:item_id>/adjudicate")
@requires(*STAFF)
def adjudicate_item(project_id: int, item_id: int):
    session = get_session()
    project = get_project(session, project_id)
    case = adjudication_case(session, project, item_id, request.form.get("question") or None)
    qid = case.question.id
    answer = answers_from_form(case.version.document, request.form.to_dict(flat=False)).get(qid)
    try:
        record_adjudication(session, project, item_id, qid, answer, request.form.get("note", ""), g.user)
    except InvalidInput as exc:
        session.rollback()
        errors = {e.location.split("/")[0]: e.message for e in exc.errors}
        return _case_page(case, 422, errors=errors, form=request.form.to_dict(flat=False))
    session.commit()
    return redirect(url_for(".show_disagreements", project_id=project.id, question=request.form.get("question") or None,
                            rule=request.form.get("rule") or None), code=303)


@bp.post("/projects/<int:project_id>/items/<int:item_id>/promote")
@requires(*STAFF)
def promote_item(project_id: int, item_id: int):
    session = get_session()
    project = get_project(session, project_id)
    promote_to_gold(session, project, item_id)
    session.commit()
    return redirect(url_for(".show_disagreements", project_id=project.id, question=request.form.get("question") or None), code=303)


# --------------------------------------------------------------------------- spot checks


@dataclass(frozen=True)
class SpotCheckContext:
    project: Project
    queue: SpotCheckQueue


@bp.get("/projects/<int:project_id>/spot-checks")
@requires(*STAFF)
def show_spot_checks(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    ctx = SpotCheckContext(project, spot_check_queue(session, project))
    return render("quality/spot_checks.html", "quality/_spot_checks.html", ctx=ctx)


def _int(name: str, default: int) -> int:
    raw = request.values.get(name, "")
    try:
        return int(raw) if raw.strip() else default
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number") from None


@bp.post("/projects/<int:project_id>/spot-checks")
@requires(*STAFF)
def sample_checks(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    sample_spot_checks(session, project, _int("per_rater", 5), _int("seed", 0))
    session.commit()
    return redirect(url_for(".show_spot_checks", project_id=project.id), code=303)


@bp.post("/projects/<int:project_id>/spot-checks/<int:check_id>")
@requires(*STAFF)
def review_check(project_id: int, check_id: int):
    session = get_session()
    project = get_project(session, project_id)
    correct = {"yes": True, "no": False}.get(request.form.get("correct", ""))
    review_spot_check(session, project, check_id, correct, request.form.get("note", ""), g.user, request.form.get("question") or None)
    session.commit()
    return redirect(url_for(".show_spot_checks", project_id=project.id), code=303)


# --------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class CompareContext:
    project: Project
    raters: tuple
    comparison: RaterComparison | None
    a: int | None
    b: int | None


@bp.get("/projects/<int:project_id>/compare")
@requires(*STAFF)
def compare(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    raters = tuple(project_raters(session, project))
    a, b = _int("a", 0) or None, _int("b", 0) or None
    if a is None and b is None and len(raters) >= 2:
        a, b = raters[0].id, raters[1].id
    comparison = compare_raters(session, project, a, b, request.args.get("question") or None) if a and b else None
    ctx = CompareContext(project, raters, comparison, a, b)
    return render("quality/compare.html", "quality/_compare.html", ctx=ctx)


# --------------------------------------------------------------------------- error analysis


@dataclass(frozen=True)
class FailuresContext:
    project: Project
    analysis: ErrorAnalysis | None
    failure_chart: IntervalChart | None


def failure_chart(analysis: ErrorAnalysis) -> IntervalChart | None:
    rows = [
        IntervalRow(f"{m.model} · {label}", p.estimate, p.low, p.high, note=f"{p.successes}/{p.trials} judgments")
        for m in analysis.models
        for (tag, label), p in zip(analysis.tags, m.rates, strict=True)
        if p.successes
    ]
    if not rows:
        return None
    return interval_chart("Failure rate per model and tag (share of judgments, 95% Wilson interval)", rows, domain=(0.0, 1.0))


@bp.get("/projects/<int:project_id>/failures")
@requires(*STAFF)
def show_failures(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    analysis = error_analysis(session, project, request.args.get("question") or None)
    ctx = FailuresContext(project, analysis, failure_chart(analysis) if analysis else None)
    return render("quality/failures.html", "quality/_failures.html", ctx=ctx)


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class ReportContext:
    report: ProjectReport
    agreement_chart: IntervalChart | None
    accuracy_chart: IntervalChart | None
    humans: BoardView | None
    machines: BoardView | None
    failure_chart: IntervalChart | None


def accuracy_chart(report: ProjectReport) -> IntervalChart | None:
    rows = [
        IntervalRow(
            r.name, r.combined.estimate, r.combined.low, r.combined.high,
            note=f"{r.combined.successes}/{r.combined.trials} gold items and spot checks", warn=r.meets_target is False,
        )
        for r in report.accuracy if r.combined is not None
    ]
    if not rows:
        return None
    title = f"Accuracy on gold items and spot checks (95% Wilson interval; dashed line: the {report.accuracy_target:.0%} target)"
    return interval_chart(title, rows, domain=(0.0, 1.0), reference=report.accuracy_target)


def report_context(report: ProjectReport) -> ReportContext:
    board = report.leaderboard
    return ReportContext(
        report=report,
        agreement_chart=agreement_chart(report.agreement) if report.agreement else None,
        accuracy_chart=accuracy_chart(report),
        humans=board_view("Human raters: Bradley–Terry strength, Elo scale, 95% bootstrap CI", board.humans) if board and board.humans else None,
        machines=board_view("Machine raters: Bradley–Terry strength, Elo scale, 95% bootstrap CI", board.machines) if board and board.machines else None,
        failure_chart=failure_chart(report.errors) if report.errors else None,
    )


def render_report_document(report: ProjectReport, standalone: bool) -> str:
    """The report as one HTML document; ``standalone`` inlines the CSS (for a file on disk)."""
    # Our own stylesheet from the package, not user input: inlined as is (escaping would
    # turn its quotes into entities, which CSS does not decode).
    css = Markup(REPORT_CSS.read_text(encoding="utf-8")) if standalone else None
    return render_template("report/report.html", ctx=report_context(report), inline_css=css).lstrip()


def _target() -> float:
    raw = request.args.get("target", "")
    try:
        value = float(raw) if raw.strip() else DEFAULT_ACCURACY_TARGET
    except ValueError:
        raise InvalidInput("target must be a number such as 0.95") from None
    return value / 100 if value > 1 else value


@bp.get("/projects/<int:project_id>/report")
@requires(*STAFF)
def show_report(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    thresholds = parse_thresholds(current_app.config["CALIBRATION_THRESHOLDS"])
    report = project_report(session, project, _target(), thresholds, n_resamples=500)
    response = current_app.make_response(render_report_document(report, standalone=False))
    response.headers.add("Vary", "HX-Request")
    return response


# --------------------------------------------------------------------------- raters


@dataclass(frozen=True)
class FeedbackContext:
    project: Project
    entries: tuple[FeedbackEntry, ...]


@bp.get("/projects/<int:project_id>/feedback")
@requires(Role.RATER, Role.ADMIN)
def show_feedback(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    ctx = FeedbackContext(project, tuple(rater_feedback(session, project, g.user)))
    return render("quality/feedback.html", "quality/_feedback.html", ctx=ctx)


@bp.get("/rubric-versions/<int:version_id>")
@requires(*ALL_ROLES)
def show_rubric_version(version_id: int):
    version = get_session().get(RubricVersion, version_id)
    if version is None:
        raise NotFound(f"no rubric version {version_id}")
    return render_template("quality/rubric_version.html", version=version)
