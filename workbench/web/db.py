"""One SQLAlchemy session per request, on ``g`` (after flaskr's ``get_db``), and the other
things the factory built once from the settings."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..stats.calibration import Thresholds


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions["workbench"].sessionmaker()
    return g.db_session


def calibration_thresholds() -> Thresholds:
    """The rater-flag thresholds, parsed from ``CALIBRATION_THRESHOLDS`` when the app was made."""
    return current_app.extensions["workbench"].thresholds


def close_session(exc: BaseException | None = None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        try:
            if exc is not None or session.in_transaction():
                session.rollback()
        except DBAPIError:
            pass  # the connection is gone; the pool replaces it
        finally:
            session.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_session)
