"""The rating page: show the rater's next task, take the answers, show the next one."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from flask import Blueprint, g, redirect, request, url_for

from ..domain import Role
from ..errors import Conflict, JudgmentInvalid, NotFound
from ..models import Project
from ..rubric import answers_from_form
from ..services.assignment import RatingTask, next_assignment, task_for_lease
from ..services.judging import record_judgment
from ..services.projects import get_project, project_item_count, rater_done_count
from .auth import requires
from .db import get_session
from .htmx import is_htmx, render

bp = Blueprint("judge", __name__)

RATERS = (Role.RATER, Role.ADMIN)


@dataclass(frozen=True)
class RateContext:
    project: Project
    task: RatingTask | None
    done: int
    target: int
    idempotency_key: str
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, list[str]] = field(default_factory=dict)
    notice: str = ""


def _context(project: Project, task: RatingTask | None, **extra) -> RateContext:
    session = get_session()
    return RateContext(
        project=project,
        task=task,
        done=rater_done_count(session, project, g.user),
        target=project_item_count(session, project),
        idempotency_key=secrets.token_urlsafe(16),
        **extra,
    )


def _page(ctx: RateContext, status: int = 200):
    return render("judge/rate.html", "judge/_task.html", status=status, oob=("_oob/progress.html",), ctx=ctx)


@bp.get("/projects/<int:project_id>/rate")
@requires(*RATERS)
def show_task(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    task = next_assignment(session, project, g.user)
    session.commit()
    return _page(_context(project, task))


@bp.post("/projects/<int:project_id>/rate")
@requires(*RATERS)
def submit_judgment(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    lease_id = request.form.get("lease_id", type=int)
    if lease_id is None:
        raise NotFound("the form named no task; reload the page")
    task = task_for_lease(session, g.user, lease_id)
    answers = answers_from_form(task.rubric_document, request.form.to_dict(flat=False))
    notice = "Saved."
    try:
        record_judgment(session, g.user, lease_id, answers, request.form.get("idempotency_key", ""))
        session.commit()
    except JudgmentInvalid as exc:
        session.rollback()
        errors = {e.location.strip("/").split("/")[0] or "_": e.message for e in exc.errors}
        ctx = _context(project, task, errors=errors, values=request.form.to_dict(flat=False), notice="Please fix the marked answers.")
        return _page(ctx, status=422)
    except Conflict as exc:
        session.rollback()
        notice = str(exc)
    if not is_htmx():
        return redirect(url_for("judge.show_task", project_id=project.id))
    task = next_assignment(session, project, g.user)
    session.commit()
    return _page(_context(project, task, notice=notice))
