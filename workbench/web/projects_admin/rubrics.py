"""``/admin/rubrics/new``: a new rubric, blank or from a shipped one, opened in the editor."""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for

from ...domain import AUTHORS
from ...errors import InvalidInput
from ...services.new_rubric import BLANK, shipped_rubrics, start_rubric
from ..auth import requires
from ..db import get_session
from . import bp
from .forms import Form


def _page(form: Form, status: int = 200):
    return render_template("projects_admin/new_rubric.html", form=form, shipped=shipped_rubrics()), status


@bp.get("/rubrics/new")
@requires(*AUTHORS)
def new_rubric():
    return _page(Form({"slug": "", "title": "", "source": request.args.get("from", BLANK)}))


@bp.post("/rubrics/new")
@requires(*AUTHORS)
def create_rubric():
    session = get_session()
    form = Form({key: request.form.get(key, "").strip() for key in ("slug", "title", "source")})
    try:
        rubric = start_rubric(session, form.values["slug"], form.values["title"], form.values["source"], g.user)
        session.commit()
    except InvalidInput as exc:
        session.rollback()
        return _page(form.with_error(exc), 422)
    return redirect(url_for("rubrics.edit_draft", slug=rubric.slug), 303)
