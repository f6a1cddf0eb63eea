"""Log in and out, and the role check every route declares."""

from __future__ import annotations

import functools
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, g, redirect, render_template, request, session, url_for

from ..domain import EVERYONE, Role
from ..errors import NotFound
from ..services.login import LoginThrottled, authenticate
from ..services.users import end_sessions, get_user
from .db import get_session

bp = Blueprint("auth", __name__)

PUBLIC = "public"


def requires(*roles: Role | str) -> Callable:
    """Allow only logged-in users with one of ``roles`` (``PUBLIC`` allows anyone)."""

    def decorate(view):
        allowed = {Role(r) for r in roles if r != PUBLIC}

        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if PUBLIC not in roles:
                if g.user is None:
                    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
                if g.user.role not in allowed:
                    abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles
        return wrapped

    return decorate


def _load_user() -> None:
    g.user = None
    user_id = session.get("uid")
    if user_id is None:
        return
    try:
        user = get_user(get_session(), user_id)
    except NotFound:
        session.clear()
        return
    if user.active and session.get("epoch") == user.session_epoch:
        g.user = user
    else:
        session.clear()  # ended by logout elsewhere, a password change or deactivation


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("projects.list_projects")


@bp.route("/login", methods=["GET", "POST"])
@requires(PUBLIC)
def login():
    error = None
    status = 200
    headers = {}
    if request.method == "POST":
        db = get_session()
        try:
            user = authenticate(
                db, request.form.get("email", ""), request.form.get("password", ""), request.remote_addr or ""
            )
        except LoginThrottled as exc:
            user, error, status = None, str(exc), 429
            headers["Retry-After"] = str(exc.retry_after)
        db.commit()  # keep the count of failed attempts
        if user is not None:
            session.clear()
            session["uid"] = user.id
            session["epoch"] = user.session_epoch
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")))
        if error is None:
            error, status = "Wrong e-mail or password.", 401
    return render_template("auth/login.html", error=error, email=request.form.get("email", "")), status, headers


@bp.post("/logout")
@requires(*EVERYONE)
def logout():
    """Log out everywhere: every session of this user ends, not only this cookie."""
    db = get_session()
    end_sessions(db, g.user)
    db.commit()
    session.clear()
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    app.before_request(_load_user)
