"""Spot checks: sample a few judgments per rater and review them."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, redirect, request, url_for

from ...domain import STAFF
from ...models import Project
from ...services.projects import get_project
from ...services.spot_checks import SpotCheckQueue, review_spot_check, sample_spot_checks, spot_check_queue
from ..auth import requires
from ..db import get_session
from ..htmx import render
from . import bp, int_value


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


@bp.post("/projects/<int:project_id>/spot-checks")
@requires(*STAFF)
def sample_checks(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    sample_spot_checks(session, project, int_value("per_rater", 5), int_value("seed", 0))
    session.commit()
    return redirect(url_for(".show_spot_checks", project_id=project.id), code=303)


@bp.post("/projects/<int:project_id>/spot-checks/<int:check_id>")
@requires(*STAFF)
def review_check(project_id: int, check_id: int):
    session = get_session()
    project = get_project(session, project_id)
    correct = {"yes": True, "no": False}.get(request.form.get("correct", ""))
    question = request.form.get("question") or None
    review_spot_check(session, project, check_id, correct, request.form.get("note", ""), g.user, question)
    session.commit()
    return redirect(url_for(".show_spot_checks", project_id=project.id), code=303)
