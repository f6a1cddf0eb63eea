"""``/links/<secret>``: choose a password through a one-time invitation or reset link."""

from __future__ import annotations

from flask import render_template, request, url_for

from ...errors import InvalidInput
from ...services import account_links
from ..auth import PUBLIC, requires
from ..db import get_session
from ..htmx import hx_redirect
from . import bp

# The page carries the link's secret in its URL: no cache keeps it, and it never leaves
# the site in a Referer header.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _form(secret: str, status: int = 200, error: str = ""):
    link = account_links.live_link(get_session(), secret)
    page = render_template("users_admin/link.html", link=link, secret=secret, error=error)
    return page, status, PRIVATE


@bp.get("/links/<secret>")
@requires(PUBLIC)
def open_link(secret: str):
    return _form(secret)


@bp.post("/links/<secret>")
@requires(PUBLIC)
def use_link(secret: str):
    db = get_session()
    try:
        account_links.use_link(db, secret, request.form.get("password", ""), request.form.get("again", ""))
    except InvalidInput as exc:
        db.rollback()
        return _form(secret, 422, "; ".join(e.message for e in exc.errors))
    db.commit()
    return hx_redirect(url_for("auth.login", password_set=1))
