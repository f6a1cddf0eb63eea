"""Sessions and tokens end when they should: logout, password change, deactivation, revocation, expiry."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from workbench.cli import main
from workbench.models import ApiToken, utcnow
from workbench.services.users import create_api_token, create_user, get_user_by_email, set_active

PASSWORD = "correct horse battery"


def _db(app):
    return app.extensions["workbench"].sessionmaker()


def _cookie(client) -> str:
    return client.get_cookie("session").value


def _logged_in(client) -> bool:
    return client.get("/account").status_code == 200


def _token(app, email: str, **kw) -> str:
    with _db(app) as session:
        token = create_api_token(session, get_user_by_email(session, email), "t", **kw)
        session.commit()
    return token


def _api_ok(client, token: str) -> bool:
    return client.get("/api/v1/projects/1/next", headers={"Authorization": f"Bearer {token}"}).status_code != 401


def test_a_cookie_replayed_after_logout_is_refused(client, auth):
    auth.login_as("rater")
    stolen = _cookie(client)
    assert _logged_in(client)
    auth.logout()
    client.set_cookie("session", stolen)
    assert not _logged_in(client)


def test_logout_ends_every_session_of_the_user(app, auth, client):
    user = auth.login_as("researcher")
    other = app.test_client()
    assert (
        other.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": _csrf(other)}).status_code
        == 302
    )
    assert _logged_in(other)
    auth.logout()
    assert not _logged_in(other)


def _csrf(client) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)


def test_a_password_change_ends_sessions_and_revokes_tokens(app, auth, client):
    user = auth.login_as("rater")
    token = _token(app, user.email)
    other = app.test_client()
    other.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": _csrf(other)})
    assert _logged_in(other) and _api_ok(client, token)
    wrong = client.post(
        "/account/password",
        data={"current": "not it at all", "password": "n" * 12, "again": "n" * 12, "csrf_token": auth.csrf()},
    )
    assert wrong.status_code == 422 and "current password is wrong" in wrong.text
    short = client.post(
        "/account/password",
        data={"current": PASSWORD, "password": "short", "again": "short", "csrf_token": auth.csrf()},
    )
    assert short.status_code == 422 and "at least 10" in short.text
    changed = client.post(
        "/account/password",
        data={"current": PASSWORD, "password": "new password 1", "again": "new password 1", "csrf_token": auth.csrf()},
    )
    assert changed.status_code == 302
    assert not _logged_in(other) and not _logged_in(client) and not _api_ok(client, token)
    assert auth.login(user.email, "new password 1").status_code == 302


def test_deactivation_ends_sessions(app, auth, client):
    user = auth.login_as("author")
    with _db(app) as session:
        set_active(session, get_user_by_email(session, user.email), False)
        session.commit()
    assert not _logged_in(client)


def test_tokens_are_listed_revoked_and_expire_on_the_page(app, auth, client):
    user = auth.login_as("rater")
    created = client.post("/account/tokens", data={"name": "laptop", "days": "30", "csrf_token": auth.csrf()})
    assert created.status_code == 201 and "wb_" in created.text and "laptop" in created.text
    token = created.text.split("<code>")[1].split("</code>")[0]
    assert _api_ok(client, token)
    with _db(app) as session:
        row = session.query(ApiToken).filter_by(name="laptop").one()
        assert timedelta(days=29) < row.expires_at - utcnow() <= timedelta(days=30)
        token_id = row.id
    assert client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": auth.csrf()}).status_code == 302
    assert not _api_ok(client, token)
    assert "revoked" in client.get("/account").text
    bad = client.post("/account/tokens", data={"name": "x", "days": "-3", "csrf_token": auth.csrf()})
    assert bad.status_code == 422
    expired = _token(app, user.email, expires_in=timedelta(seconds=-1))
    assert not _api_ok(client, expired)


def test_nobody_revokes_another_users_token(app, auth, client):
    with _db(app) as session:
        victim = create_user(session, "victim@example.org", "rater", PASSWORD)
        session.commit()
    token = _token(app, victim.email)
    auth.login_as("rater")
    with _db(app) as session:
        token_id = session.query(ApiToken).filter_by(user_id=victim.id).one().id
    assert client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": auth.csrf()}).status_code == 404
    assert _api_ok(client, token)


@pytest.fixture
def cli_db(database_url, monkeypatch, tmp_path):
    from tests.conftest import reset_database

    if database_url.startswith("postgresql"):
        reset_database(database_url)  # the engine fixture is not used here: the CLI migrates
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", database_url)
    monkeypatch.setenv("WORKBENCH_INSTANCE_PATH", str(tmp_path / "instance"))
    return database_url


def test_tokens_list_revoke_and_password_from_the_cli(runner, cli_db, tmp_path):
    from workbench.app import create_app

    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    made = runner.invoke(main, ["users", "create", "cli@example.org", "--password", PASSWORD])
    assert made.exit_code == 0, made.output
    created = runner.invoke(main, ["tokens", "create", "cli@example.org", "--name", "ci", "--expires-days", "7"])
    assert created.exit_code == 0, created.output
    token = created.output.strip()
    app = create_app({"TESTING": True, "DATABASE_URL": cli_db, "INSTANCE_PATH": str(tmp_path / "i"), "SECRET_KEY": "k"})
    client = app.test_client()
    assert _api_ok(client, token)
    listed = json.loads(runner.invoke(main, ["tokens", "list", "--json"]).output)
    assert [(t["user"], t["name"], t["revoked_at"]) for t in listed] == [("cli@example.org", "ci", None)]
    assert listed[0]["expires_at"] is not None and token not in json.dumps(listed)
    assert runner.invoke(main, ["tokens", "revoke", str(listed[0]["id"])]).exit_code == 0
    assert json.loads(runner.invoke(main, ["tokens", "list", "cli@example.org", "--json"]).output)[0]["revoked_at"]
    assert not _api_ok(client, token)
    changed = runner.invoke(
        main, ["users", "password", "cli@example.org"], input="another password\nanother password\n"
    )
    assert changed.exit_code == 0, changed.output
    assert (
        client.post(
            "/login", data={"email": "cli@example.org", "password": "another password", "csrf_token": _csrf(client)}
        ).status_code
        == 302
    )
    app.extensions["workbench"].engine.dispose()
