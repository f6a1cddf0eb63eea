"""The judges page: the LLM judges registered, for admins."""

from __future__ import annotations

from flask import Blueprint

from ..domain import Role
from ..services.judges import list_judges
from .auth import requires
from .db import get_session
from .htmx import render

bp = Blueprint("judges", __name__, url_prefix="/judges")


@bp.get("/")
@requires(Role.ADMIN)
def list_all():
    return render("judges/list.html", "judges/_list.html", judges=list_judges(get_session()))
