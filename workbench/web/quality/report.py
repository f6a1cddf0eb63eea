"""The printable project report (also written to a file by ``workbench report``)."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, render_template, request
from markupsafe import Markup

from ...domain import STAFF
from ...errors import InvalidInput
from ...paths import STATIC_DIR
from ...services.project_figures import report_figures
from ...services.projects import get_project
from ...services.report import DEFAULT_ACCURACY_TARGET, ProjectReport
from ..auth import requires
from ..db import calibration_thresholds, get_session
from ..presenters import report_context
from . import bp

REPORT_CSS = Path(STATIC_DIR) / "report.css"


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
    report = report_figures(session, project, _target(), calibration_thresholds()).value
    session.commit()  # keep the computed figures for the next visitor
    response = current_app.make_response(render_report_document(report, standalone=False))
    response.headers.add("Vary", "HX-Request")
    return response
