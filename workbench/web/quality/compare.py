"""Two raters side by side on the items both judged."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request

from ...domain import STAFF
from ...models import Project
from ...services.comparison import RaterComparison, compare_raters, project_raters
from ...services.projects import get_project
from ..auth import requires
from ..db import get_session
from ..htmx import render
from . import bp, int_value


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
    a, b = int_value("a", 0) or None, int_value("b", 0) or None
    if a is None and b is None and len(raters) >= 2:
        a, b = raters[0].id, raters[1].id
    comparison = compare_raters(session, project, a, b, request.args.get("question") or None) if a and b else None
    ctx = CompareContext(project, raters, comparison, a, b)
    return render("quality/compare.html", "quality/_compare.html", ctx=ctx)
