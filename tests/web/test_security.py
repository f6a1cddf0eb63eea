"""Login throttling, request size limits, and injection corpora against every text input."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, inspect, select

from tests.factories import make_items, make_project
from workbench.models import ItemFlag, User, utcnow
from workbench.services.users import LOCKOUT, MAX_FAILED_LOGINS, LoginThrottled, authenticate, create_user

PASSWORD = "correct horse battery"


def _db(app):
    return app.extensions["workbench"].sessionmaker()


def _csrf(client, path="/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def test_account_locks_after_repeated_wrong_passwords_then_recovers(session):
    user = create_user(session, "locked@example.org", "rater", PASSWORD)
    t0 = utcnow()
    for _ in range(MAX_FAILED_LOGINS):
        assert authenticate(session, user.email, "wrong password", now=t0) is None
    with pytest.raises(LoginThrottled, match="Try again in 15 minutes"):
        authenticate(session, user.email, PASSWORD, now=t0)  # even the right password is refused
    later = t0 + LOCKOUT + timedelta(seconds=1)
    assert authenticate(session, user.email, PASSWORD, now=later) is user
    assert (user.failed_logins, user.locked_until) == (0, None)


def test_a_success_resets_the_count(session):
    user = create_user(session, "resets@example.org", "rater", PASSWORD)
    for _ in range(MAX_FAILED_LOGINS - 1):
        authenticate(session, user.email, "wrong password")
    assert authenticate(session, user.email, PASSWORD) is user
    for _ in range(MAX_FAILED_LOGINS - 1):
        authenticate(session, user.email, "wrong password")
    assert authenticate(session, user.email, PASSWORD) is user


def test_login_page_answers_429_when_locked(client, app):
    with _db(app) as session:
        create_user(session, "web-locked@example.org", "rater", PASSWORD)
        session.commit()
    for _ in range(MAX_FAILED_LOGINS):
        response = client.post("/login", data={"email": "web-locked@example.org", "password": "nope nope", "csrf_token": _csrf(client)})
        assert response.status_code == 401
    response = client.post("/login", data={"email": "web-locked@example.org", "password": PASSWORD, "csrf_token": _csrf(client)})
    assert response.status_code == 429 and "Too many failed attempts" in response.text


def test_request_bodies_over_the_limit_are_refused(client, app):
    from workbench.services.users import create_api_token

    with _db(app) as session:
        token = create_api_token(session, create_user(session, "big@example.org", "rater", None))
        session.commit()
    app.config["MAX_CONTENT_LENGTH"] = 1024  # WORKBENCH_MAX_CONTENT_LENGTH
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    response = client.post("/api/v1/leases/1/judgment", data="x" * 4096, headers=headers)
    assert response.status_code == 413 and response.is_json
    assert client.post("/login", data={"email": "a" * 4096}).status_code == 413


INJECTIONS = [
    "' OR '1'='1",
    "'; DROP TABLE users; --",
    "\" OR 1=1 --",
    "1; SELECT pg_sleep(5)",
    "%' UNION SELECT password_hash FROM users --",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    "\u0000",
    "%ff%fe%80",
    "😀" * 50,
    "a" * 5000,
    "../../../../etc/passwd",
    "{{7*7}}",
    "${7*7}",
]


@pytest.mark.parametrize("payload", INJECTIONS, ids=range(len(INJECTIONS)))
def test_injection_corpus_against_text_inputs_and_filters(client, auth, app, payload):
    with _db(app) as session:
        project = make_project(session, overlap_k=2)
        make_items(session, project, 2)
        session.commit()
        project_id = project.id
    # The login form.
    response = client.post("/login", data={"email": payload, "password": payload, "csrf_token": _csrf(client)})
    if "\x00" in payload:  # PostgreSQL cannot store U+0000: refused up front on every backend
        assert response.status_code == 400 and "NUL" in response.text
        assert client.get(f"/projects/{project_id}?question={payload}").status_code == 400
        api = client.post("/api/v1/leases/1/judgment", data='{"answers": {"rationale": "a\\u0000"}, "idempotency_key": "k"}',
                          headers={"Content-Type": "application/json", "Authorization": "Bearer x"})
        assert api.status_code == 400 and "NUL" in api.get_json()["error"]
        return
    assert response.status_code == 401 and "<script>alert" not in response.text
    if "7*7" in payload:  # not evaluated as a template: the e-mail field shows it as typed
        assert payload.replace("'", "&#39;").replace('"', "&#34;") in response.text
    # Every filter a staff member can pass in a query string.
    auth.login_as("researcher")
    for path in (f"/projects/{project_id}?question={payload}", f"/projects/{project_id}/leaderboard?question={payload}",
                 f"/rubrics/{payload}", f"/rubrics/pairwise-helpful-harmless/diff?a={payload}&b={payload}"):
        response = client.get(path)
        assert response.status_code < 500, path
        assert "<script>alert" not in response.text
    auth.logout()
    # The rater's free-text inputs: the skip reason and the rationale.
    auth.login_as("rater")
    page = client.get(f"/projects/{project_id}/rate").text
    fields = {n: re.search(rf'name="{n}" value="([^"]*)"', page).group(1) for n in ("csrf_token", "lease_id", "idempotency_key")}
    answer = {**fields, "q.helpful.choice": "A", "q.helpful.strength": "1", "q.harmless.choice": "tie", "q.rationale": payload}
    response = client.post(f"/projects/{project_id}/rate", data=answer, headers={"HX-Request": "true"})
    assert response.status_code in (200, 422) and "<script>alert" not in response.text
    page = client.get(f"/projects/{project_id}/rate").text
    lease = re.search(r'name="lease_id" value="(\d+)"', page)
    if lease:
        response = client.post(f"/projects/{project_id}/skip", data={"csrf_token": fields["csrf_token"], "lease_id": lease.group(1), "reason": payload}, headers={"HX-Request": "true"})
        assert response.status_code == 200 and "<script>alert" not in response.text
    # Nothing was dropped or rewritten.
    with _db(app) as session:
        assert {"users", "judgments", "items"} <= set(inspect(session.get_bind()).get_table_names())
        assert session.scalar(select(func.count()).select_from(User)) >= 2
        for reason in session.scalars(select(ItemFlag.reason)):
            assert reason in (payload.strip()[:500], payload)  # stored as given, or refused
