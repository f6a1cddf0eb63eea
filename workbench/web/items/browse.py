"""The item browser: search and filter a project's items, and one item in full."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import request

from ...domain import STAFF
from ...errors import FieldError, InvalidInput
from ...models import Project
from ...services.item_browser import STATUSES, ItemDetail, ItemFilter, ItemPage, browse_items, item_detail, parse_filter
from ...services.projects import get_project
from ..auth import requires
from ..db import get_session
from ..htmx import render
from . import bp


@dataclass(frozen=True)
class ListContext:
    project: Project
    filter: ItemFilter
    page: ItemPage
    statuses: tuple[tuple[str, str], ...] = STATUSES
    errors: tuple[FieldError, ...] = field(default_factory=tuple)


@bp.get("/projects/<int:project_id>/items")
@requires(*STAFF)
def list_items(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    status, errors = 200, ()
    try:
        item_filter = parse_filter(request.args.to_dict())
    except InvalidInput as exc:
        item_filter, status, errors = ItemFilter(), 422, exc.errors
    page = browse_items(session, project, item_filter)
    session.commit()  # keep computed disagreement figures for the next visitor
    ctx = ListContext(project, item_filter, page, errors=errors)
    return render("items/list.html", "items/_list.html", status=status, ctx=ctx)


@bp.get("/projects/<int:project_id>/items/<int:item_id>")
@requires(*STAFF)
def show_item(project_id: int, item_id: int):
    session = get_session()
    detail: ItemDetail = item_detail(session, get_project(session, project_id), item_id)
    return render("items/item.html", "items/_item.html", detail=detail)
