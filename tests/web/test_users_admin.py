"""``/admin/users`` and ``/links/<secret>`` through the Flask test client."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import select

from workbench.cli import main
from workbench.models import AccountLink, ApiToken, User
from workbench.services.users import create_api_token, get_user_by_email, token_user

PASSWORD = "correct horse battery"
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def _db(app):
    return app.extensions["workbench"].sessionmaker()


def _user(app, email: str) -> User:
    with _db(app) as session:
        return get_user_by_email(session, email)


def _csrf_of(client, path: str = "/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def _create(client, auth, **form):
    data = {"email": "new@example.org", "name": "New Person", "role": "rater", "password": "", **form}
    return client.post("/admin/users", data={**data, "csrf_token": auth.csrf()})


def _shown(html: str, element: str) -> str | None:
    found = re.search(rf'id="{element}">([^<]+)<', html)
    return found.group(1) if found else None


def test_the_top_bar_links_users_for_admins_only(auth, client):
    auth.login_as("researcher")
    assert 'href="/admin/users"' not in client.get("/").text
    auth.logout()
    auth.login_as("admin")
    assert 'href="/admin/users"' in client.get("/").text


def test_creating_a_user_with_a_password(app, auth, client):
    auth.login_as("admin")
    response = _create(client, auth, password="a good password", role="author")
    user = _user(app, "new@example.org")
    assert response.status_code == 303 and response.headers["Location"] == f"/admin/users/{user.id}"
    assert user.role.value == "author" and user.name == "New Person"
    page = client.get(response.headers["Location"]).text
    assert _shown(page, "one-time-link") is None  # a password was given: no invitation
    other = app.test_client()
    logged_in = other.post(
        "/login", data={"email": "new@example.org", "password": "a good password", "csrf_token": _csrf_of(other)}
    )
    assert logged_in.status_code == 302


def test_an_invitation_link_is_shown_once_and_stored_hashed(app, auth, client):
    auth.login_as("admin")
    response = _create(client, auth)
    first = client.get(response.headers["Location"])
    link = _shown(first.text, "one-time-link")
    assert link and link.startswith("http://localhost/links/")
    assert first.headers["Cache-Control"] == "no-store"
    assert _shown(client.get(response.headers["Location"]).text, "one-time-link") is None
    secret = link.rsplit("/", 1)[1]
    with _db(app) as session:
        row = session.scalar(select(AccountLink))
        assert row.token_sha256 == hashlib.sha256(secret.encode()).hexdigest()
        assert row.purpose.value == "invite"
    assert "invited" in client.get("/admin/users").text


def test_the_new_user_sets_a_password_through_the_link(app, auth, client):
    auth.login_as("admin")
    link = _shown(client.get(_create(client, auth).headers["Location"]).text, "one-time-link")
    path = link.removeprefix("http://localhost")
    visitor = app.test_client()
    form = visitor.get(path)
    assert form.status_code == 200 and "New password" in form.text and "Repeat password" in form.text
    assert form.headers["Cache-Control"] == "no-store" and form.headers["Referrer-Policy"] == "no-referrer"
    csrf = _csrf_of(visitor, path)
    differ = visitor.post(path, data={"password": "first password", "again": "other password", "csrf_token": csrf})
    assert differ.status_code == 422 and "the two passwords differ" in differ.text
    short = visitor.post(path, data={"password": "short", "again": "short", "csrf_token": csrf})
    assert short.status_code == 422 and "at least 10 characters" in short.text
    no_csrf = visitor.post(path, data={"password": "first password", "again": "first password"})
    assert no_csrf.status_code == 400
    done = visitor.post(path, data={"password": "first password", "again": "first password", "csrf_token": csrf})
    assert done.status_code == 303 and done.headers["Location"] == "/login?password_set=1"
    assert "Your password is set" in visitor.get(done.headers["Location"]).text
    again = visitor.post(path, data={"password": "second password", "again": "second password", "csrf_token": csrf})
    assert again.status_code == 404 and "not valid any more" in again.text
    assert visitor.get(path).status_code == 404
    logged_in = visitor.post(
        "/login", data={"email": "new@example.org", "password": "first password", "csrf_token": csrf}
    )
    assert logged_in.status_code == 302


def test_an_expired_link_is_refused(app, auth, client):
    app.config["ACCOUNT_LINK_HOURS"] = 0
    auth.login_as("admin")
    link = _shown(client.get(_create(client, auth).headers["Location"]).text, "one-time-link")
    assert app.test_client().get(link.removeprefix("http://localhost")).status_code == 404


def test_a_refused_user_loses_nothing(app, auth, client):
    auth.login_as("admin")
    bad = _create(client, auth, email="not an address", name="Kept Name", password="short")
    assert bad.status_code == 422
    assert "not an e-mail address" in bad.text and "at least 10 characters" in bad.text
    assert 'value="Kept Name"' in bad.text
    assert _create(client, auth).status_code == 303
    duplicate = _create(client, auth, name="Second")
    assert duplicate.status_code == 409 and "already exists" in duplicate.text
    with _db(app) as session:
        assert session.scalar(select(User.name).where(User.email == "new@example.org")) == "New Person"
        assert len(session.scalars(select(User)).all()) == 2


def test_every_form_needs_the_csrf_token(app, auth, client):
    admin = auth.login_as("admin")
    assert client.post("/admin/users", data={"email": "x@example.org", "role": "rater"}).status_code == 400
    assert client.post(f"/admin/users/{admin.id}/tokens", data={"name": "x"}).status_code == 400
    with _db(app) as session:
        assert session.scalar(select(User.id).where(User.email == "x@example.org")) is None
        assert session.scalar(select(ApiToken.id)) is None


def test_hostile_names_are_escaped(app, auth, client):
    auth.login_as("admin")
    location = _create(client, auth, name=HOSTILE, password="a good password").headers["Location"]
    for page in (client.get("/admin/users").text, client.get(location).text):
        assert "<script>alert(1)" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_role_and_machine_changes(app, auth, client):
    admin = auth.login_as("admin")
    location = _create(client, auth, password="a good password").headers["Location"]
    user = _user(app, "new@example.org")
    csrf = auth.csrf()
    assert client.post(f"{location}/role", data={"role": "researcher", "csrf_token": csrf}).status_code == 303
    assert _user(app, "new@example.org").role.value == "researcher"
    bogus = client.post(f"{location}/role", data={"role": "overlord", "csrf_token": csrf})
    assert bogus.status_code == 422 and "role must be one of" in bogus.text
    assert client.post(f"{location}/machine", data={"machine": "1", "csrf_token": csrf}).status_code == 303
    assert _user(app, "new@example.org").is_machine
    assert "Mark as human" in client.get(location).text
    assert client.post(f"{location}/machine", data={"machine": "0", "csrf_token": csrf}).status_code == 303
    assert not _user(app, "new@example.org").is_machine
    assert client.post(f"{location}/machine", data={"csrf_token": csrf}).status_code == 422
    own = client.post(f"/admin/users/{admin.id}/role", data={"role": "rater", "csrf_token": csrf})
    assert own.status_code == 409 and "your own role" in own.text
    assert _user(app, admin.email).role.value == "admin" and user.id != admin.id


def test_deactivation_ends_a_live_session_and_every_token(app, auth, client):
    rater = auth.create("rater")
    with _db(app) as session:
        token = create_api_token(session, get_user_by_email(session, rater.email), "bot")
        session.commit()
    theirs = app.test_client()
    theirs.post("/login", data={"email": rater.email, "password": PASSWORD, "csrf_token": _csrf_of(theirs)})
    assert theirs.get("/account").status_code == 200
    auth.login_as("admin")
    response = client.post(f"/admin/users/{rater.id}/deactivate", data={"csrf_token": auth.csrf()})
    assert response.status_code == 303
    gone = theirs.get("/account")
    assert gone.status_code == 302 and gone.headers["Location"].startswith("/login")
    with _db(app) as session:
        assert token_user(session, token) is None
    assert "deactivated" in client.get(f"/admin/users/{rater.id}").text
    assert client.post(f"/admin/users/{rater.id}/reactivate", data={"csrf_token": auth.csrf()}).status_code == 303
    with _db(app) as session:
        assert token_user(session, token) is None  # reactivation brings no token back
        assert get_user_by_email(session, rater.email).active


def test_an_admin_cannot_deactivate_themselves(app, auth, client):
    admin = auth.login_as("admin")
    refused = client.post(f"/admin/users/{admin.id}/deactivate", data={"csrf_token": auth.csrf()})
    assert refused.status_code == 409 and "cannot deactivate yourself" in refused.text
    assert client.get("/admin/users").status_code == 200


def test_an_htmx_post_gets_hx_redirect_not_a_redirect(app, auth, client):
    rater = auth.create("rater")
    auth.login_as("admin")
    response = client.post(
        f"/admin/users/{rater.id}/deactivate", headers={"HX-Request": "true", "X-CSRF-Token": auth.csrf()}
    )
    assert response.status_code == 204 and response.headers["HX-Redirect"] == f"/admin/users/{rater.id}"


def test_a_reset_link_ends_the_old_password(app, auth, client):
    rater = auth.create("rater")
    auth.login_as("admin")
    assert client.post(f"/admin/users/{rater.id}/link", data={"csrf_token": auth.csrf()}).status_code == 303
    page = client.get(f"/admin/users/{rater.id}").text
    assert "password-reset link" in page
    path = _shown(page, "one-time-link").removeprefix("http://localhost")
    visitor = app.test_client()
    assert "Choose a new password" in visitor.get(path).text
    csrf = _csrf_of(visitor, path)
    visitor.post(path, data={"password": "a new password", "again": "a new password", "csrf_token": csrf})
    old = visitor.post("/login", data={"email": rater.email, "password": PASSWORD, "csrf_token": csrf})
    assert old.status_code == 401
    new = visitor.post("/login", data={"email": rater.email, "password": "a new password", "csrf_token": csrf})
    assert new.status_code == 302


def test_tokens_for_another_user_are_shown_once_listed_and_revoked(app, auth, client):
    rater = auth.create("rater")
    auth.login_as("admin")
    made = client.post(
        f"/admin/users/{rater.id}/tokens", data={"name": "ci bot", "days": "", "csrf_token": auth.csrf()}
    )
    assert made.status_code == 303
    page = client.get(f"/admin/users/{rater.id}").text
    token = _shown(page, "new-token")
    assert token and token.startswith("wb_") and "ci bot" in page
    assert token not in client.get(f"/admin/users/{rater.id}").text
    with _db(app) as session:
        row = session.scalar(select(ApiToken))
        assert row.user_id == rater.id and row.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
        assert token_user(session, token).id == rater.id
    bad_days = client.post(f"/admin/users/{rater.id}/tokens", data={"days": "-3", "csrf_token": auth.csrf()})
    assert bad_days.status_code == 422 and "whole number of days" in bad_days.text
    revoked = client.post(f"/admin/users/{rater.id}/tokens/{row.id}/revoke", data={"csrf_token": auth.csrf()})
    assert revoked.status_code == 303
    with _db(app) as session:
        assert token_user(session, token) is None
    assert "revoked" in client.get(f"/admin/users/{rater.id}").text


def test_a_token_is_revoked_only_through_its_owner(app, auth, client):
    rater, other = auth.create("rater"), auth.create("rater")
    with _db(app) as session:
        token = create_api_token(session, get_user_by_email(session, rater.email), "t")
        token_id = session.scalar(select(ApiToken.id))
        session.commit()
    auth.login_as("admin")
    wrong = client.post(f"/admin/users/{other.id}/tokens/{token_id}/revoke", data={"csrf_token": auth.csrf()})
    assert wrong.status_code == 404
    with _db(app) as session:
        assert token_user(session, token) is not None


def test_a_missing_user_is_a_404(auth, client):
    auth.login_as("admin")
    assert client.get("/admin/users/424242").status_code == 404


def test_users_link_from_the_cli(app, runner, monkeypatch, auth):
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("WORKBENCH_INSTANCE_PATH", app.config["INSTANCE_PATH"])
    from alembic import command

    from workbench.migrate import alembic_config

    command.stamp(alembic_config(app.config["DATABASE_URL"]), "head")  # the tables exist already
    rater = auth.create("rater")
    made = runner.invoke(main, ["users", "link", rater.email])
    assert made.exit_code == 0, made.output
    path = made.output.strip()
    assert re.fullmatch(r"/links/[A-Za-z0-9_-]{40,}", path)
    client = app.test_client()
    assert "Choose a new password" in client.get(path).text
    invite = runner.invoke(main, ["users", "link", rater.email, "--purpose", "invite"]).output.strip()
    assert client.get(path).status_code == 404  # replaced by the newer link
    assert "Welcome" in client.get(invite).text
    missing = runner.invoke(main, ["users", "link", "nobody@example.org"])
    assert missing.exit_code == 1 and "no user nobody@example.org" in missing.output


def test_users_create_invite_from_the_cli(app, runner, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("WORKBENCH_INSTANCE_PATH", app.config["INSTANCE_PATH"])
    from alembic import command

    from workbench.migrate import alembic_config

    command.stamp(alembic_config(app.config["DATABASE_URL"]), "head")
    made = runner.invoke(main, ["users", "create", "cli-invite@example.org", "--invite"])
    assert made.exit_code == 0, made.output
    assert "Password" not in made.output  # nothing was prompted for
    path = re.search(r"invitation link \(works once\): (/links/\S+)", made.output).group(1)
    assert _user(app, "cli-invite@example.org").password_hash is None
    assert "Welcome" in app.test_client().get(path).text
    both = runner.invoke(main, ["users", "create", "x@example.org", "--invite", "--password", "long enough pw"])
    assert both.exit_code == 2 and "not both" in both.output


def test_a_new_token_shows_only_on_its_owners_page(app, auth, client):
    first, second = auth.create("rater"), auth.create("rater")
    auth.login_as("admin")
    client.post(f"/admin/users/{first.id}/tokens", data={"name": "a", "csrf_token": auth.csrf()})
    assert _shown(client.get(f"/admin/users/{second.id}").text, "new-token") is None
    assert _shown(client.get(f"/admin/users/{first.id}").text, "new-token").startswith("wb_")
    assert _shown(client.get(f"/admin/users/{first.id}").text, "new-token") is None


def test_hostile_input_is_refused_and_stores_nothing(app, auth, client):
    auth.login_as("admin")
    nul = _create(client, auth, name="bad\x00name", password="a good password")
    assert nul.status_code == 400 and "name" in nul.text
    long_name = _create(client, auth, name="x" * 201, password="a good password")
    assert long_name.status_code == 422 and "at most 200 characters" in long_name.text
    with _db(app) as session:
        assert session.scalar(select(User.id).where(User.email == "new@example.org")) is None
    assert client.get(f"/admin/users/{2**40}").status_code == 404
    assert client.get("/links/" + "A" * 10_000).status_code == 404
    rtl = _create(client, auth, name="\u202egnp.exe \u0645\u0631\u062d\u0628\u0627", password="a good password")
    assert rtl.status_code == 303
    assert "\u202egnp.exe" in client.get(rtl.headers["Location"]).text  # stored and shown as given, escaped
