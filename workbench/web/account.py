"""One's own account: change the password, list, create and revoke API tokens."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from werkzeug.security import check_password_hash

from ..domain import Role
from ..errors import InvalidInput
from ..services.users import create_api_token, list_api_tokens, revoke_api_token, set_password
from .auth import requires
from .db import get_session

bp = Blueprint("account", __name__)

MAX_TOKEN_DAYS = 3650


def _page(status: int = 200, **context):
    tokens = list_api_tokens(get_session(), g.user)
    return render_template("account/account.html", tokens=tokens, **context), status


@bp.get("/account")
@requires(*Role)
def account():
    return _page()


@bp.post("/account/password")
@requires(*Role)
def change_password():
    current, new, again = (request.form.get(k, "") for k in ("current", "password", "again"))
    if not g.user.password_hash or not check_password_hash(g.user.password_hash, current):
        return _page(422, password_error="The current password is wrong.")
    if new != again:
        return _page(422, password_error="The two new passwords differ.")
    db = get_session()
    try:
        set_password(db, g.user, new)
    except InvalidInput as exc:
        return _page(422, password_error="; ".join(e.message for e in exc.errors))
    db.commit()
    # Every other session and every API token has ended; this browser logs in again.
    session.clear()
    return redirect(url_for("auth.login"))


@bp.post("/account/tokens")
@requires(*Role)
def create_token():
    name = request.form.get("name", "").strip()[:200]
    days = request.form.get("days", "").strip()
    if days and (not days.isdigit() or not 1 <= int(days) <= MAX_TOKEN_DAYS):
        return _page(
            422, token_error=f"Expiry is a whole number of days from 1 to {MAX_TOKEN_DAYS}, or empty for none."
        )
    db = get_session()
    token = create_api_token(db, g.user, name, timedelta(days=int(days)) if days else None)
    db.commit()
    return _page(201, new_token=token)


@bp.post("/account/tokens/<int:token_id>/revoke")
@requires(*Role)
def revoke_token(token_id: int):
    db = get_session()
    revoke_api_token(db, token_id, owner=g.user)
    db.commit()
    return redirect(url_for("account.account"))
