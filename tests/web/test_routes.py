"""Routes through the Flask test client: roles, CSRF, htmx behaviour, the rating round trip."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.factories import make_items, make_project
from workbench.models import Judgment, Lease
from workbench.web.auth import PUBLIC


@pytest.fixture
def project(app):
    with app.extensions["workbench"].sessionmaker() as session:
        project = make_project(session, overlap_k=2)
        make_items(session, project, 4)
        session.commit()
        return project


def _db(app):
    return app.extensions["workbench"].sessionmaker()


def _form_fields(html: str) -> dict[str, str]:
    return {
        name: re.search(rf'name="{name}" value="([^"]*)"', html).group(1)
        for name in ("csrf_token", "lease_id", "idempotency_key")
    }


def test_every_route_declares_its_roles(app):
    unchecked = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and not hasattr(app.view_functions[rule.endpoint], "allowed_roles")
    ]
    assert unchecked == []


def test_only_login_health_and_one_time_links_are_public(app):
    public = sorted(
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and PUBLIC in app.view_functions[rule.endpoint].allowed_roles
    )
    assert public == ["auth.login", "health.healthz", "users_admin.open_link", "users_admin.use_link"]


@pytest.mark.parametrize("path", ["/", "/projects/1", "/projects/1/rate"])
def test_anonymous_is_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("rater", "/", 200),
        ("rater", "/projects/{id}", 200),
        ("rater", "/projects/{id}/rate", 200),
        ("author", "/projects/{id}/rate", 403),
        ("researcher", "/projects/{id}/rate", 403),
        ("researcher", "/projects/{id}", 200),
        ("admin", "/projects/{id}/rate", 200),
    ],
)
def test_role_matrix(client, auth, project, role, path, status):
    auth.login_as(role)
    assert client.get(path.format(id=project.id)).status_code == status


def test_login_rejects_a_wrong_password_and_keeps_the_email(client, auth):
    user = auth.create("rater")
    response = auth.login(user.email, "wrong password!")
    assert response.status_code == 401
    assert "Wrong e-mail or password." in response.text
    assert user.email in response.text


def test_login_ignores_offsite_next(client, auth):
    user = auth.create("rater")
    response = client.post(
        "/login?next=//evil.example/x",
        data={"email": user.email, "password": "correct horse battery", "csrf_token": auth.csrf()},
    )
    assert response.headers["Location"] == "/"


def test_post_without_csrf_token_is_refused_and_stores_nothing(client, auth, app, project):
    auth.login_as("rater")
    page = client.get(f"/projects/{project.id}/rate").text
    fields = _form_fields(page)
    data = {
        "lease_id": fields["lease_id"],
        "idempotency_key": "k1",
        "q.helpful.choice": "A",
        "q.helpful.strength": "1",
        "q.harmless.choice": "tie",
    }
    response = client.post(f"/projects/{project.id}/rate", data=data)
    assert response.status_code == 400
    assert "Reload the page" in response.text
    with _db(app) as session:
        assert session.scalar(select(func.count()).select_from(Judgment)) == 0


def test_logout_needs_post(client, auth):
    auth.login_as("rater")
    assert client.get("/logout").status_code == 405
    assert auth.logout().status_code == 302
    assert client.get("/").status_code == 302


def test_page_or_fragment_and_vary_header(client, auth, project):
    auth.login_as("rater")
    full = client.get(f"/projects/{project.id}/rate")
    fragment = client.get(f"/projects/{project.id}/rate", headers={"HX-Request": "true"})
    boosted = client.get(f"/projects/{project.id}/rate", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in full.text and "<html" not in fragment.text and "<html" in boosted.text
    assert 'id="task"' in fragment.text
    for response in (full, fragment, boosted):
        assert "HX-Request" in response.headers.get("Vary", "")


def test_security_headers(client):
    response = client.get("/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in response.text  # no inline script anywhere


def test_session_cookie_is_httponly_and_samesite(client, auth):
    user = auth.create("rater")
    response = auth.login(user.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_rating_round_trip_with_htmx(client, auth, app, project):
    rater = auth.login_as("rater")
    page = client.get(f"/projects/{project.id}/rate").text
    fields = _form_fields(page)
    invalid = client.post(
        f"/projects/{project.id}/rate", data={**fields, "q.helpful.choice": "A"}, headers={"HX-Request": "true"}
    )
    assert invalid.status_code == 422
    # Beside each question, in words, without naming question ids.
    assert "Please choose how much better." in invalid.text and "Please answer this question." in invalid.text
    assert "is required" not in invalid.text
    assert 'value="A" checked' in invalid.text  # what was chosen survives the re-render
    with _db(app) as session:
        assert session.scalar(select(func.count()).select_from(Judgment)) == 0

    answers = {"q.helpful.choice": "A", "q.helpful.strength": "3", "q.harmless.choice": "tie"}
    saved = client.post(f"/projects/{project.id}/rate", data={**fields, **answers}, headers={"HX-Request": "true"})
    assert saved.status_code == 200
    assert "<html" not in saved.text and 'hx-swap-oob="true"' in saved.text
    next_fields = _form_fields(saved.text)
    assert next_fields["lease_id"] != fields["lease_id"]

    # A retry of the same submission (same idempotency key) stores nothing new.
    again = client.post(f"/projects/{project.id}/rate", data={**fields, **answers}, headers={"HX-Request": "true"})
    assert again.status_code == 200
    with _db(app) as session:
        judgments = session.scalars(select(Judgment)).all()
        assert len(judgments) == 1
        lease = session.get(Lease, int(fields["lease_id"]))
        expected = "A" if lease.display_order == [0, 1] else "B"
        assert judgments[0].answers["helpful"] == {"choice": expected, "strength": 3}
        assert judgments[0].rater_id == rater.id


def test_plain_form_post_redirects_to_the_next_item(client, auth, project):
    auth.login_as("rater")
    fields = _form_fields(client.get(f"/projects/{project.id}/rate").text)
    response = client.post(
        f"/projects/{project.id}/rate",
        data={**fields, "q.helpful.choice": "tie", "q.harmless.choice": "B", "q.harmless.strength": "1"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/projects/{project.id}/rate"


def test_htmx_post_never_redirects(client, auth, project):
    auth.login_as("rater")
    fields = _form_fields(client.get(f"/projects/{project.id}/rate").text)
    for data in ({}, {"q.helpful.choice": "tie", "q.harmless.choice": "tie"}):
        response = client.post(f"/projects/{project.id}/rate", data={**fields, **data}, headers={"HX-Request": "true"})
        assert response.status_code < 300 or response.status_code >= 400


def test_someone_elses_lease_is_not_found(client, auth, app, project):
    auth.login_as("rater")
    fields = _form_fields(client.get(f"/projects/{project.id}/rate").text)
    auth.logout()
    auth.login_as("rater")
    fields["csrf_token"] = auth.csrf()
    response = client.post(
        f"/projects/{project.id}/rate", data={**fields, "q.helpful.choice": "tie", "q.harmless.choice": "tie"}
    )
    assert response.status_code == 404


def test_done_message_when_nothing_is_left(client, auth, app):
    with _db(app) as session:
        project = make_project(session, overlap_k=1)
        session.commit()
    auth.login_as("rater")
    response = client.get(f"/projects/{project.id}/rate")
    assert "Nothing left to rate" in response.text


def test_dashboard_counts_and_agreement_for_staff(client, auth, app, project):
    auth.login_as("rater")
    fields = _form_fields(client.get(f"/projects/{project.id}/rate").text)
    client.post(f"/projects/{project.id}/rate", data={**fields, "q.helpful.choice": "tie", "q.harmless.choice": "tie"})
    dashboard = client.get(f"/projects/{project.id}").text
    # Raters see their own count only: no project-wide progress that others' work (or the
    # difference between a gold and a live submit) moves.
    assert re.search(r'id="stat-mine">1<', dashboard) and "stat-judgments" not in dashboard
    assert "Agreement per question" not in dashboard and "items complete" not in dashboard
    listing = client.get("/").text
    assert "<th>Judgments</th>" not in listing and "<th>Yours</th>" in listing
    auth.logout()
    auth.login_as("researcher")
    dashboard = client.get(f"/projects/{project.id}").text
    assert "Agreement per question" in dashboard and "Helpful (choice)" in dashboard
    assert re.search(r'id="stat-judgments">1<', dashboard) and "<th>Judgments</th>" in client.get("/").text


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok", "database": "ok"}


def test_unknown_project_is_404_page(client, auth):
    auth.login_as("rater")
    response = client.get("/projects/999/rate")
    assert response.status_code == 404 and "no project 999" in response.text
