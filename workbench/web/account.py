"""One's own account: change the password, list, create and revoke API tokens."""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from werkzeug.security import check_password_hash

from ..domain import Role
from ..errors import InvalidInput
from ..services.users import create_api_token, list_api_tokens, revoke_api_token, set_password, token_lifetime
from .auth import requires
from .db import get_session

bp = Blueprint("account", __name__)


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
    try:
        lifetime = token_lifetime(request.form.get("days", ""))
    except InvalidInput as exc:
        return _page(422, token_error=exc.errors[0].message)
    db = get_session()
    token = create_api_token(db, g.user, name, lifetime)
    db.commit()
    return _page(201, new_token=token)


@bp.post("/account/tokens/<int:token_id>/revoke")
@requires(*Role)
def revoke_token(token_id: int):
    db = get_session()
    revoke_api_token(db, token_id, owner=g.user)
    db.commit()
    return redirect(url_for("account.account"))
