"""Domain errors and HTTP errors as pages (or fragments for htmx)."""

from __future__ import annotations

from flask import Flask, g, jsonify, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from ..errors import Conflict, Forbidden, InvalidInput, NotFound, WorkbenchError
from .htmx import is_htmx

STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409, InvalidInput: 422}


def _page(status: int, title: str, message: str):
    template = "errors/_error.html" if is_htmx() else "errors/error.html"
    return render_template(template, status=status, title=title, message=message), status


def handle_domain_error(exc: WorkbenchError):
    status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 400)
    return _page(status, {404: "Not found", 403: "Not allowed", 409: "Conflict"}.get(status, "Bad request"), str(exc))


def handle_http_error(exc: HTTPException):
    if request.path.startswith("/api/"):
        # Outside any API blueprint (an unknown path, a method the route does not take): still
        # JSON, and a 405 keeps its Allow header.
        response = jsonify(error=exc.description or exc.name, errors=[])
        response.status_code = exc.code or 500
        allow = dict(exc.get_headers()).get("Allow")
        if allow:
            response.headers["Allow"] = allow
        return response
    return _page(exc.code or 500, exc.name, _in_words(exc))


def _in_words(exc: HTTPException) -> str:
    """Our own words for the errors people meet, instead of the server's generic text."""
    if exc.description and exc.description != type(exc).description:
        return exc.description  # a message the view gave
    if exc.code == 403:
        user = getattr(g, "user", None)
        role = f" ({user.role.value})" if user is not None else ""
        return f"Your account{role} cannot open this page. If you need it, ask an admin of this workbench."
    if exc.code == 404:
        return "There is no page at this address. It may have moved, or the link may be mistyped."
    return exc.description or ""


DATABASE_DOWN = "The database is not answering. Nothing was saved; try again in a moment."


def handle_database_down(exc: DBAPIError):
    """A lost or refused database connection is a 503, not a crash; the pool reconnects."""
    if not isinstance(exc, OperationalError) and not exc.connection_invalidated:
        raise exc
    from .db import get_session

    try:
        get_session().rollback()
    except DBAPIError:
        pass
    if request.path.startswith("/api/"):
        body = jsonify(error=DATABASE_DOWN, errors=[])
    else:
        body, _ = _page(503, "Service unavailable", DATABASE_DOWN)
    return body, 503, {"Retry-After": "5"}


def init_app(app: Flask) -> None:
    app.register_error_handler(WorkbenchError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(DBAPIError, handle_database_down)
