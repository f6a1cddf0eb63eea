"""The cookie session: none under /api/, and signing that follows the secret key."""

from __future__ import annotations

import pytest

from tests.factories import make_project
from tests.web.test_rater_api import bearer, token_for


@pytest.fixture
def api_path(app) -> str:
    with app.extensions["workbench"].sessionmaker() as session:
        project = make_project(session)
        session.commit()
        return f"/api/v1/projects/{project.id}/agreement"


def test_a_logged_in_browser_cookie_does_not_authenticate_the_api(client, auth, api_path):
    auth.login_as("admin")
    assert client.get("/").status_code == 200  # the cookie works on pages
    response = client.get(api_path)
    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers


def test_api_answers_never_set_a_cookie(client, app, auth, api_path):
    auth.login_as("admin")
    response = client.get(api_path, headers=bearer(token_for(app, "admin")))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_a_new_secret_key_invalidates_existing_cookies(client, app, auth):
    auth.login_as("admin")
    assert client.get("/").status_code == 200
    app.secret_key = "another-secret-key"
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_old_key_in_the_fallbacks_still_reads_cookies(client, app, auth):
    auth.login_as("admin")
    app.config["SECRET_KEY_FALLBACKS"] = [app.secret_key]
    app.secret_key = "rotated-secret-key"
    assert client.get("/").status_code == 200
