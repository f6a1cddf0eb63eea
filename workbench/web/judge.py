"""The rating page: show the rater's next task, take the answers, show the next one."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask import session as cookie

from ..domain import RATERS, FlagKind
from ..errors import Conflict, InvalidInput, JudgmentInvalid, NotFound
from ..models import Project, utcnow
from ..rubric import answers_from_form
from ..services.assignment import RatingTask, next_assignment, task_for_lease
from ..services.flags import BROKEN_REASONS, SKIP_REASONS, flag_item
from ..services.gold import Qualification, qualification
from ..services.instructions import instructions_document, instructions_seen, mark_instructions_seen
from ..services.judging import Recorded, record_judgment, undo_judgment
from ..services.membership import visible_project
from ..services.projects import rater_done_count, rater_recent_stats
from ..textdiff import word_diff
from .auth import requires
from .db import get_session
from .htmx import is_htmx, render

bp = Blueprint("judge", __name__)

RECENT = timedelta(hours=8)


@dataclass(frozen=True)
class RateContext:
    project: Project
    task: RatingTask | None
    done: int
    recent: tuple[int, float | None]
    standing: Qualification
    idempotency_key: str
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, list[str]] = field(default_factory=dict)
    notice: str = ""
    undo_lease: int | None = None  # the lease whose judgment the "Undo" button takes back
    undo_seconds: int = 0
    feedback: Recorded | None = None
    skip_reasons: tuple = SKIP_REASONS
    broken_reasons: tuple = BROKEN_REASONS


# What a missing part of an answer is called beside its question on the rating page.
_MISSING_PART = {"choice": "choose an answer", "strength": "choose how much better", "A": "rate response A",
                 "B": "rate response B"}  # fmt: skip


def rater_errors(field_errors) -> dict[str, str]:
    """Validation errors in words for the rating page, by question id: the message sits
    under the question, so it names no question id."""
    errors: dict[str, str] = {}
    for error in field_errors:
        parts = error.location.strip("/").split("/")
        qid, missing = parts[0] or "_", parts[-1]
        required, _, when = error.message.partition(" is required")
        if required == missing:
            words = "answer this question" if len(parts) == 1 else _MISSING_PART.get(missing, f"give {missing}")
            message = f"Please {words}" + (f"; it is required{when}." if when else ".")
        else:
            message = error.message[:1].upper() + error.message[1:] + "."
        errors.setdefault(qid, message)
    return errors


def _context(project: Project, task: RatingTask | None, **extra) -> RateContext:
    session = get_session()
    return RateContext(
        project=project,
        task=task,
        done=rater_done_count(session, project, g.user),
        recent=rater_recent_stats(session, project, g.user, utcnow() - RECENT),
        standing=qualification(session, project, g.user),
        idempotency_key=secrets.token_urlsafe(16),
        undo_seconds=_undo_window().seconds,
        **extra,
    )


def _undo_window() -> timedelta:
    return timedelta(seconds=current_app.config["UNDO_SECONDS"])


def _page(ctx: RateContext, status: int = 200):
    oob = ("_oob/progress.html", "_oob/rate_flash.html")
    return render("judge/rate.html", "judge/_task.html", status=status, oob=oob, ctx=ctx)


def _next(project: Project, notice: str = "", undo_lease: int | None = None, **extra):
    """After a submit, skip or undo: the next task (a redirect for a plain form post, which
    carries the message to the next page in the session cookie)."""
    session = get_session()
    if not _undo_window():
        undo_lease = None
    if not is_htmx():
        cookie["rate_notice"] = [notice, undo_lease]
        return redirect(url_for("judge.show_task", project_id=project.id))
    task = next_assignment(session, project, g.user, prompt_gap=current_app.config["GOLD_PROMPT_GAP"])
    session.commit()
    return _page(_context(project, task, notice=notice, undo_lease=undo_lease, **extra))


@bp.get("/projects/<int:project_id>/rate")
@requires(*RATERS)
def show_task(project_id: int):
    session = get_session()
    project = visible_project(session, project_id, g.user)
    if current_app.config["RATER_INSTRUCTIONS"] and not instructions_seen(session, project, g.user):
        return render_template(
            "judge/instructions.html", project=project, document=instructions_document(session, project, g.user)
        )
    notice, undo_lease = cookie.pop("rate_notice", None) or ("", None)
    task = next_assignment(session, project, g.user, prompt_gap=current_app.config["GOLD_PROMPT_GAP"])
    session.commit()
    return _page(_context(project, task, notice=notice, undo_lease=undo_lease))


@bp.post("/projects/<int:project_id>/instructions")
@requires(*RATERS)
def start_rating(project_id: int):
    session = get_session()
    project = visible_project(session, project_id, g.user)
    mark_instructions_seen(session, project, g.user)
    session.commit()
    return redirect(url_for("judge.show_task", project_id=project.id), 303)


def _form_lease(missing: str = "the form named no task; reload the page") -> int:
    """The lease a rating form posts about, or a 404 that says what to do."""
    lease_id = request.form.get("lease_id", type=int)
    if lease_id is None:
        raise NotFound(missing)
    return lease_id


@bp.post("/projects/<int:project_id>/undo")
@requires(*RATERS)
def undo_submit(project_id: int):
    session = get_session()
    project = visible_project(session, project_id, g.user)
    lease_id = _form_lease("the form named no judgment to undo; reload the page")
    try:
        undo_judgment(session, g.user, lease_id, _undo_window())
        session.commit()
    except Conflict as exc:
        session.rollback()
        return _next(project, notice=str(exc).capitalize() + ".")
    return _next(project, notice="Undone: your answers on this item were taken back.")


@bp.post("/projects/<int:project_id>/rate")
@requires(*RATERS)
def submit_judgment(project_id: int):
    session = get_session()
    project = visible_project(session, project_id, g.user)
    lease_id = _form_lease()
    task = task_for_lease(session, g.user, lease_id)
    answers = answers_from_form(task.rubric_document, request.form.to_dict(flat=False))
    notice, feedback, undo_lease = "Saved.", None, lease_id
    try:
        recorded = record_judgment(session, g.user, lease_id, answers, request.form.get("idempotency_key", ""))
        session.commit()
    except JudgmentInvalid as exc:
        session.rollback()
        errors = rater_errors(exc.errors)
        ctx = _context(
            project,
            task,
            errors=errors,
            values=request.form.to_dict(flat=False),
            notice="Please fix the marked answers.",
        )
        return _page(ctx, status=422)
    except Conflict as exc:
        session.rollback()
        notice, undo_lease = str(exc), None
    else:
        if recorded.gold_misses and recorded.gold_feedback:
            feedback, notice = recorded, ""
        if recorded.is_gold or not recorded.created:
            undo_lease = None
    return _next(project, notice=notice, undo_lease=undo_lease, feedback=feedback)


@bp.post("/projects/<int:project_id>/skip")
@requires(*RATERS)
def skip_item(project_id: int):
    session = get_session()
    project = visible_project(session, project_id, g.user)
    lease_id = _form_lease()
    kind = FlagKind.BROKEN if request.form.get("kind") == FlagKind.BROKEN.value else FlagKind.SKIP
    reasons = dict(SKIP_REASONS + BROKEN_REASONS)
    reason = request.form.get("reason", "")
    reason = reasons.get(reason, reason)
    try:
        flag_item(session, g.user, lease_id, kind, reason)
        session.commit()
    except (Conflict, InvalidInput) as exc:
        session.rollback()
        return _next(project, notice=str(exc))
    return _next(project, notice="Reported; thank you." if kind == FlagKind.BROKEN else "Skipped.")


@bp.get("/projects/<int:project_id>/leases/<int:lease_id>/diff")
@requires(*RATERS)
def response_diff(project_id: int, lease_id: int):
    session = get_session()
    visible_project(session, project_id, g.user)
    task = task_for_lease(session, g.user, lease_id)
    if len(task.responses) != 2:
        raise NotFound("this item has a single response")
    runs = word_diff(task.responses[0].text, task.responses[1].text)
    # htmx opens it inside the task; without JavaScript it is a page of its own.
    return render("judge/diff.html", "judge/_diff.html", runs=runs, project_id=project_id)
