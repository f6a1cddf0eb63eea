"""A database that is down gives a clear 503; a dropped connection is replaced unnoticed."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.factories import make_project
from workbench import migrate
from workbench.app import create_app
from workbench.db import QuietPing, make_engine
from workbench.services.users import create_api_token, create_user

DOWN = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"  # nothing listens on port 1


@pytest.fixture
def down_app(tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": DOWN, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "t"})
    yield app
    app.extensions["workbench"].engine.dispose()


def test_unreachable_database_is_a_503_page_and_json(down_app):
    client = down_app.test_client()
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["database"] == "unreachable"
    with client.session_transaction() as session:
        session["uid"] = 1  # a logged-in browser: loading the user needs the database
    page = client.get("/")
    assert page.status_code == 503 and "database is not answering" in page.text
    assert page.headers["Retry-After"] == "5"
    api = client.get("/api/v1/projects/1/next", headers={"Authorization": "Bearer wb_x"})
    assert api.status_code == 503 and "database is not answering" in api.get_json()["error"]


def test_dropped_connections_are_replaced(postgres_url, tmp_path):
    migrate.upgrade(postgres_url)
    app = create_app({"TESTING": True, "DATABASE_URL": postgres_url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "t"})
    with app.extensions["workbench"].sessionmaker() as session:
        project = make_project(session)
        token = create_api_token(session, create_user(session, "r@example.org", "rater", None), "t")
        session.commit()
        project_id = project.id
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1/projects/{project_id}/next", headers=headers).status_code == 204
    killer = make_engine(postgres_url)
    # The server drops every other connection, as on a restart, and (the timeout) waits until
    # they are gone: a connection dropped while it is being checked out fails with any pre-ping.
    with killer.begin() as conn:
        killed = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
    killer.dispose()
    assert killed >= 1
    try:
        assert client.get(f"/api/v1/projects/{project_id}/next", headers=headers).status_code == 204
        assert client.get("/healthz").status_code == 200
    finally:
        app.extensions["workbench"].engine.dispose()


def test_pre_ping_skips_the_round_trip_only_while_the_connection_is_quiet(postgres_url):
    engine = make_engine(postgres_url)
    sent = []
    ping = engine.dialect.do_ping
    assert isinstance(ping, QuietPing)
    full_ping = ping.full_ping  # the dialect's SELECT 1

    def counting_full_ping(dbapi_connection):
        sent.append(dbapi_connection)
        return full_ping(dbapi_connection)

    ping.full_ping = counting_full_ping
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        for _ in range(3):  # a healthy idle connection: no SELECT 1
            with engine.connect() as conn:
                assert conn.execute(text("SELECT pg_backend_pid()")).scalar() == pid
        assert sent == []
        killer = make_engine(postgres_url)
        with killer.begin() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            for _ in range(100):  # until the backend is gone
                alive = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid})
                if not alive.scalar():
                    break
                conn.execute(text("SELECT pg_sleep(0.02)"))
        killer.dispose()
        with engine.connect() as conn:  # the dropped connection is pinged for real and replaced
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid
        assert len(sent) == 1
    finally:
        engine.dispose()
