"""Shared parts of the JSON API under ``/api/v1``: bearer-token auth and JSON errors.

Every API blueprint is made with :func:`make_blueprint`, so its errors are JSON documents
``{"error": message, "errors": [{"location", "message"}]}`` rather than HTML pages, and
every API view declares its roles with :func:`token_requires`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import Blueprint, g, jsonify, request
from werkzeug.exceptions import HTTPException

from ..domain import Role
from ..errors import Conflict, Forbidden, InvalidInput, NotFound, WorkbenchError
from ..services.users import token_user
from .db import get_session

PREFIX = "/api/v1"
STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409, InvalidInput: 422}


def problem(status: int, message: str, errors=()):
    body = {"error": message, "errors": [{"location": e.location, "message": e.message} for e in errors]}
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="workbench"'
    return response


def _domain_error(exc: WorkbenchError):
    status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 400)
    if isinstance(exc, InvalidInput):
        return problem(status, exc.summary, exc.errors)
    return problem(status, str(exc))


def _http_error(exc: HTTPException):
    return problem(exc.code or 500, exc.description or exc.name)


def make_blueprint(name: str, import_name: str) -> Blueprint:
    bp = Blueprint(name, import_name, url_prefix=PREFIX)
    bp.register_error_handler(WorkbenchError, _domain_error)
    bp.register_error_handler(HTTPException, _http_error)
    return bp


def bearer_user():
    """The active user behind the request's bearer token (id and role), or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token_user(get_session(), token.strip())


def token_requires(*roles: Role | str) -> Callable:
    """Allow only requests with a valid bearer token whose user has one of ``roles``."""

    allowed = {Role(r) for r in roles}

    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            user = bearer_user()
            if user is None:
                return problem(
                    401, "give a valid API token: Authorization: Bearer <token> (workbench tokens create EMAIL)"
                )
            if user.role not in allowed:
                return problem(403, f"your role ({user.role.value}) may not use this endpoint")
            g.user = user
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles
        wrapped.token_auth = True
        return wrapped

    return decorate
