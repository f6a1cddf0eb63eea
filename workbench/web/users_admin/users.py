"""``/admin/users``: list and create users; one user's role, kind, state, links and tokens."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, g, render_template, request, session, url_for

from ...domain import LinkPurpose, Role
from ...errors import Conflict, FieldError, InvalidInput
from ...services.account_links import make_link
from ...services.users import (
    change_role,
    create_api_token,
    create_user,
    get_user,
    list_api_tokens,
    list_users,
    revoke_api_token,
    set_active,
    set_machine,
    token_lifetime,
)
from ..auth import requires
from ..db import get_session
from ..htmx import hx_redirect
from . import bp

# A secret made by a POST (a one-time link, a new token) rides in the signed session
# cookie to the page the POST redirects to, which shows it once and forgets it.
REVEAL = "users_admin.reveal"


def _reveal(user_id: int, kind: str, value: str) -> None:
    session[REVEAL] = {"user_id": user_id, "kind": kind, "value": value}


def _take_reveal(user_id: int) -> dict | None:
    shown = session.get(REVEAL)
    if shown and shown.get("user_id") == user_id:
        session.pop(REVEAL)
        return shown
    return None


def _link_lifetime() -> timedelta:
    return timedelta(hours=current_app.config["ACCOUNT_LINK_HOURS"])


def _no_store(body, status: int = 200):
    return body, status, {"Cache-Control": "no-store"}


def _index(status: int = 200, errors: tuple = (), form: dict | None = None):
    users = list_users(get_session())
    page = render_template(
        "users_admin/index.html", users=users, role_choices=list(Role), errors=errors, form=form or {}
    )
    return page, status


@bp.get("/admin/users")
@requires(Role.ADMIN)
def list_all():
    return _index()


@bp.post("/admin/users")
@requires(Role.ADMIN)
def create():
    form = {k: request.form.get(k, "") for k in ("email", "name", "role")}
    password = request.form.get("password", "")
    db = get_session()
    try:
        user = create_user(db, form["email"], form["role"], password or None, name=form["name"].strip())
    except InvalidInput as exc:
        db.rollback()
        return _index(422, exc.errors, form)
    except Conflict as exc:
        db.rollback()
        return _index(409, (FieldError("email", str(exc)),), form)
    link = None if password else make_link(db, user, LinkPurpose.INVITE, _link_lifetime())
    db.commit()
    if link:
        _reveal(user.id, "invite", link)
    return hx_redirect(url_for("users_admin.show", user_id=user.id))


def _show(user_id: int, status: int = 200, error: str = ""):
    db = get_session()
    user = get_user(db, user_id)
    page = render_template(
        "users_admin/show.html",
        user=user,
        tokens=list_api_tokens(db, user),
        role_choices=list(Role),
        shown=_take_reveal(user_id),
        error=error,
        host=request.host_url.rstrip("/"),
    )
    return _no_store(page, status)


@bp.get("/admin/users/<int:user_id>")
@requires(Role.ADMIN)
def show(user_id: int):
    return _show(user_id)


def _done(user_id: int):
    get_session().commit()
    return hx_redirect(url_for("users_admin.show", user_id=user_id))


def _refused(user_id: int, exc: InvalidInput | Conflict):
    get_session().rollback()
    if isinstance(exc, Conflict):
        return _show(user_id, 409, str(exc))
    return _show(user_id, 422, "; ".join(e.message for e in exc.errors) or exc.summary)


@bp.post("/admin/users/<int:user_id>/role")
@requires(Role.ADMIN)
def update_role(user_id: int):
    user = get_user(get_session(), user_id)
    try:
        change_role(get_session(), user, request.form.get("role", ""), by=g.user)
    except (InvalidInput, Conflict) as exc:
        return _refused(user_id, exc)
    return _done(user_id)


@bp.post("/admin/users/<int:user_id>/machine")
@requires(Role.ADMIN)
def update_machine(user_id: int):
    value = request.form.get("machine", "")
    if value not in ("0", "1"):
        return _show(user_id, 422, "Choose machine or human.")
    set_machine(get_session(), get_user(get_session(), user_id), value == "1")
    return _done(user_id)


@bp.post("/admin/users/<int:user_id>/deactivate")
@requires(Role.ADMIN)
def deactivate(user_id: int):
    try:
        set_active(get_session(), get_user(get_session(), user_id), False, by=g.user)
    except Conflict as exc:
        return _refused(user_id, exc)
    return _done(user_id)


@bp.post("/admin/users/<int:user_id>/reactivate")
@requires(Role.ADMIN)
def reactivate(user_id: int):
    set_active(get_session(), get_user(get_session(), user_id), True, by=g.user)
    return _done(user_id)


@bp.post("/admin/users/<int:user_id>/link")
@requires(Role.ADMIN)
def create_link(user_id: int):
    user = get_user(get_session(), user_id)
    purpose = LinkPurpose.RESET if user.password_hash else LinkPurpose.INVITE
    try:
        link = make_link(get_session(), user, purpose, _link_lifetime())
    except InvalidInput as exc:
        return _refused(user_id, exc)
    _reveal(user_id, purpose.value, link)
    return _done(user_id)


@bp.post("/admin/users/<int:user_id>/tokens")
@requires(Role.ADMIN)
def create_token(user_id: int):
    user = get_user(get_session(), user_id)
    name = request.form.get("name", "").strip()[:200]
    try:
        lifetime = token_lifetime(request.form.get("days", ""))
    except InvalidInput as exc:
        return _refused(user_id, exc)
    token = create_api_token(get_session(), user, name, lifetime)
    _reveal(user_id, "token", token)
    return _done(user_id)


@bp.post("/admin/users/<int:user_id>/tokens/<int:token_id>/revoke")
@requires(Role.ADMIN)
def revoke_token(user_id: int, token_id: int):
    revoke_api_token(get_session(), token_id, owner=get_user(get_session(), user_id))
    return _done(user_id)
