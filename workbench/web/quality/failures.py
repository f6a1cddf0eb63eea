"""Model error analysis: failure tags per model."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request

from ...domain import STAFF
from ...models import Project
from ...services.error_analysis import ErrorAnalysis, error_analysis
from ...services.projects import get_project
from ..auth import requires
from ..charts import IntervalChart
from ..db import get_session
from ..htmx import render
from ..presenters import failure_chart
from . import bp


@dataclass(frozen=True)
class FailuresContext:
    project: Project
    analysis: ErrorAnalysis | None
    failure_chart: IntervalChart | None


@bp.get("/projects/<int:project_id>/failures")
@requires(*STAFF)
def show_failures(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    analysis = error_analysis(session, project, request.args.get("question") or None)
    ctx = FailuresContext(project, analysis, failure_chart(analysis) if analysis else None)
    return render("quality/failures.html", "quality/_failures.html", ctx=ctx)
