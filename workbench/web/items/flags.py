"""The queue of skipped or reported items, with every reason, and resolving them."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, url_for

from ...domain import STAFF
from ...models import Project
from ...services.flags import QueuedItem, flag_queue, resolve_flags
from ...services.projects import get_project
from ..auth import requires
from ..db import get_session
from ..htmx import hx_redirect, is_htmx, render
from . import bp


@dataclass(frozen=True)
class QueueContext:
    project: Project
    queue: tuple[QueuedItem, ...]
    flash: str = ""


def _queue_page(project: Project, flash: str = ""):
    ctx = QueueContext(project, tuple(flag_queue(get_session(), project)), flash)
    oob = ("_oob/flash.html",) if flash else ()
    return render("items/flags.html", "items/_flags.html", oob=oob, ctx=ctx)


@bp.get("/projects/<int:project_id>/flags")
@requires(*STAFF)
def show_flags(project_id: int):
    return _queue_page(get_project(get_session(), project_id))


@bp.post("/projects/<int:project_id>/items/<int:item_id>/resolve")
@requires(*STAFF)
def resolve_item(project_id: int, item_id: int):
    session = get_session()
    project = get_project(session, project_id)
    resolved = resolve_flags(session, project, item_id, g.user)
    session.commit()
    if is_htmx():
        what = "skip or report" if resolved == 1 else "skips and reports"
        return _queue_page(project, f"Resolved {resolved} {what} of the item.")
    return hx_redirect(url_for(".show_flags", project_id=project.id))
