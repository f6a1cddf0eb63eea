"""CSRF protection for every state-changing browser request.

A random token lives in the signed session cookie. Forms send it as ``csrf_token``;
htmx sends it as the ``X-CSRF-Token`` header (set once on ``<body hx-headers>``). The JSON
API under ``/api/`` is exempt: it authenticates by bearer token only and ignores the session
cookie, so a forged cross-site request carries no credentials.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, abort, request, session

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _check() -> None:
    if request.method in SAFE_METHODS:
        return
    if request.path.startswith("/api/"):
        return
    expected = session.get("csrf")
    given = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token", "")
    if not expected or not given or not hmac.compare_digest(expected, given):
        abort(400, description="The form expired or did not come from this site. Reload the page and try again.")


NUL_MESSAGE = "Text may not contain NUL characters (U+0000)."


def _refuse_nul() -> None:
    """PostgreSQL cannot store U+0000 in text: refuse it up front, on every backend alike."""
    values = list(request.args.values())
    if request.method not in SAFE_METHODS:
        values += list(request.form.values())
        if request.is_json and b"\\u0000" in request.get_data(cache=True):
            abort(400, description=NUL_MESSAGE)
    if any("\x00" in value for value in values):
        abort(400, description=NUL_MESSAGE)


def init_app(app: Flask) -> None:
    app.before_request(_refuse_nul)
    app.before_request(_check)
    app.jinja_env.globals["csrf_token"] = csrf_token
