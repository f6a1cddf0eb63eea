"""The disagreement queue, and adjudicating (or promoting to gold) one item from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import g, redirect, request, url_for

from ...domain import STAFF, Page
from ...errors import InvalidInput
from ...models import Project
from ...rubric import answers_from_form
from ...services.adjudication import (
    AdjudicationCase,
    DisagreementQueue,
    adjudication_case,
    parse_rule,
    promote_to_gold,
    record_adjudication,
)
from ...services.project_figures import disagreement_figures
from ...services.projects import get_project
from ..auth import requires
from ..db import get_session
from ..htmx import render
from . import bp

# Rows a page of the queue shows: at 300k judgments the open list runs to tens of thousands
# of items, and rendering them all took seconds.
QUEUE_PAGE = 200


@dataclass(frozen=True)
class QueueContext:
    project: Project
    queue: DisagreementQueue
    rule_text: str
    open: Page
    resolved: Page
    as_of: datetime
    rule_error: str = ""


@bp.get("/projects/<int:project_id>/disagreements")
@requires(*STAFF)
def show_disagreements(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    rule_text = request.args.get("rule") or "no-majority"
    try:
        rule, rule_error = parse_rule(rule_text), ""
    except InvalidInput as exc:  # the default rule's queue, the form kept, the problem beside it
        rule, rule_error = parse_rule(None), f"Unknown rule {rule_text!r}: {exc.errors[0].message}."
    figures = disagreement_figures(session, project, request.args.get("question") or None, rule)
    queue = figures.value
    session.commit()  # keep the computed figures for the next visitor
    pages = (request.args.get("page", type=int), request.args.get("done", type=int))
    opened, resolved = Page.of(queue.open, pages[0], QUEUE_PAGE), Page.of(queue.resolved, pages[1], QUEUE_PAGE)
    shown_rule = rule_text if rule_error else str(queue.rule)
    ctx = QueueContext(project, queue, shown_rule, opened, resolved, figures.computed_at, rule_error)
    status = 422 if rule_error else 200
    return render("quality/disagreements.html", "quality/_disagreements.html", status=status, ctx=ctx)


@dataclass(frozen=True)
class CaseContext:
    case: AdjudicationCase
    question_key: str
    rule: str
    errors: dict[str, str] = field(default_factory=dict)
    form: dict[str, list[str]] = field(default_factory=dict)


def _case_page(case: AdjudicationCase, status: int = 200, **extra):
    extra.setdefault("form", case.question.form_values(case.existing.answer if case.existing else None))
    ctx = CaseContext(
        case,
        request.values.get("question") or case.question.id,
        request.values.get("rule") or "no-majority",
        **extra,
    )
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
    question, rule = request.form.get("question") or None, request.form.get("rule") or None
    return redirect(url_for(".show_disagreements", project_id=project.id, question=question, rule=rule), code=303)


@bp.post("/projects/<int:project_id>/items/<int:item_id>/promote")
@requires(*STAFF)
def promote_item(project_id: int, item_id: int):
    session = get_session()
    project = get_project(session, project_id)
    promote_to_gold(session, project, item_id)
    session.commit()
    return redirect(
        url_for(".show_disagreements", project_id=project.id, question=request.form.get("question") or None), code=303
    )
