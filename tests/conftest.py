"""Fixtures, after flaskr: a fresh database per test, ``session``, ``app``, ``client``, ``runner``.

The database is SQLite in a temporary folder, or the server named by
``WORKBENCH_TEST_DATABASE_URL`` (reset before each test). With
``WORKBENCH_REQUIRE_SERVICES=1`` a missing PostgreSQL or Chromium fails the run instead of
skipping the tests that need it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from workbench.db import Base, make_engine

TEST_DATABASE_URL = os.environ.get("WORKBENCH_TEST_DATABASE_URL", "")
REQUIRE_SERVICES = os.environ.get("WORKBENCH_REQUIRE_SERVICES") == "1"
DATA = Path(__file__).resolve().parent / "data"
PG_DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def service_missing(what: str, how: str) -> None:
    """Skip with a reason saying what to install, or fail when services are required."""
    message = f"{what} is not available: {how}"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (WORKBENCH_REQUIRE_SERVICES=1)")
    pytest.skip(message)


def reset_database(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            else:
                Base.metadata.drop_all(conn)
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        engine.dispose()


@pytest.fixture
def database_url(tmp_path) -> str:
    if TEST_DATABASE_URL:
        reset_database(TEST_DATABASE_URL)
        return TEST_DATABASE_URL
    return f"sqlite:///{tmp_path}/w.db"


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def app(database_url, engine, tmp_path, request):
    """The app on the test database. The instructions step before a rater's first item is
    off unless the test is marked ``rater_instructions``."""
    from workbench.app import create_app

    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": "test-secret-key",
            "RATER_INSTRUCTIONS": request.node.get_closest_marker("rater_instructions") is not None,
        }
    )
    yield app
    app.extensions["workbench"].engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner():
    from click.testing import CliRunner

    return CliRunner()


@pytest.fixture
def postgres_url() -> str:
    """A reachable PostgreSQL URL, reset; skips (or fails under REQUIRE_SERVICES) otherwise."""
    url = TEST_DATABASE_URL if TEST_DATABASE_URL.startswith("postgresql") else PG_DEFAULT_URL
    try:
        reset_database(url)
    except Exception as exc:  # noqa: BLE001 - any connection failure means "not available"
        service_missing("PostgreSQL", f"install and start postgresql on 127.0.0.1:5432 ({type(exc).__name__})")
    return url


@pytest.fixture
def reference_data() -> Path:
    """Published reference data copied into ``tests/data`` (sources in its ``SOURCES.md``)."""
    assert DATA.is_dir(), f"reference data folder {DATA} is missing"
    return DATA


class AuthActions:
    """Log in and out through the real login form (after flaskr's ``AuthActions``)."""

    def __init__(self, client, app):
        self._client = client
        self._app = app

    def csrf(self) -> str:
        with self._client.session_transaction() as sess:
            if "csrf" not in sess:
                import secrets

                sess["csrf"] = secrets.token_urlsafe(16)
            return sess["csrf"]

    def create(self, role="rater", email=None, password="correct horse battery"):
        from tests.factories import make_user

        with self._app.extensions["workbench"].sessionmaker() as session:
            user = make_user(session, role, email=email, password=password)
            session.commit()
        return user

    def login(self, email: str, password: str = "correct horse battery"):
        return self._client.post("/login", data={"email": email, "password": password, "csrf_token": self.csrf()})

    def login_as(self, role="rater"):
        user = self.create(role)
        response = self.login(user.email)
        assert response.status_code == 302, response.text
        return user

    def logout(self):
        return self._client.post("/logout", data={"csrf_token": self.csrf()})


@pytest.fixture
def auth(client, app):
    return AuthActions(client, app)
