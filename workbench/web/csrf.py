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


def init_app(app: Flask) -> None:
    app.before_request(_check)
    app.jinja_env.globals["csrf_token"] = csrf_token
