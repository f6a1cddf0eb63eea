"""Liveness with a database round trip."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .auth import PUBLIC, requires
from .db import get_session

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@requires(PUBLIC)
def healthz():
    try:
        get_session().execute(text("SELECT 1"))
    except SQLAlchemyError:
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
