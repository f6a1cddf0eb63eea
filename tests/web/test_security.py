"""Login throttling (growing delays, no lockout), request size limits, and injection corpora against every text input."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, inspect, select

from tests.factories import make_items, make_project
from workbench.models import ItemFlag, User, utcnow
from workbench.services.login import FREE_FAILURES_PER_PAIR, MAX_DELAY, LoginThrottled, authenticate, delay_after
from workbench.services.users import create_user

PASSWORD = "correct horse battery"


def _db(app):
    return app.extensions["workbench"].sessionmaker()


def _csrf(client, path="/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def test_growing_delays_after_the_free_attempts_then_recovery(session):
    user = create_user(session, "throttled@example.org", "rater", PASSWORD)
    t0 = utcnow()
    for _ in range(FREE_FAILURES_PER_PAIR):
        assert authenticate(session, user.email, "wrong password", "10.0.0.1", now=t0) is None
    with pytest.raises(LoginThrottled) as caught:
        authenticate(session, user.email, PASSWORD, "10.0.0.1", now=t0)  # too soon: the password is not even looked at
    assert caught.value.retry_after == 1
    assert authenticate(session, user.email, "wrong password", "10.0.0.1", now=t0 + timedelta(seconds=1)) is None
    with pytest.raises(LoginThrottled) as caught:
        authenticate(session, user.email, PASSWORD, "10.0.0.1", now=t0 + timedelta(seconds=2))
    assert caught.value.retry_after == 1  # the delay doubled: 2 s after the last failure
    assert authenticate(session, user.email, PASSWORD, "10.0.0.1", now=t0 + timedelta(seconds=3)) is user


def test_the_delay_doubles_and_is_capped():
    assert [delay_after(n, 5).total_seconds() for n in (0, 4, 5, 6, 7)] == [0, 0, 1, 2, 4]
    assert delay_after(100, 5) == MAX_DELAY


def test_an_attacker_elsewhere_cannot_lock_the_owner_out(session):
    user = create_user(session, "owner@example.org", "rater", PASSWORD)
    t0 = utcnow()
    for _ in range(FREE_FAILURES_PER_PAIR + 3):
        try:
            authenticate(session, user.email, "guess", "203.0.113.9", now=t0)
        except LoginThrottled:
            pass
    assert authenticate(session, user.email, PASSWORD, "198.51.100.7", now=t0) is user


def test_known_and_unknown_accounts_answer_alike(client, app, monkeypatch):
    # The clock stands still: on a slow machine the first delay (1 s) could pass between
    # two requests, and the two accounts would differ by the machine's speed, not the code.
    from workbench.services import login

    stopped = login.utcnow()
    monkeypatch.setattr(login, "utcnow", lambda: stopped)
    with _db(app) as session:
        create_user(session, "known@example.org", "rater", PASSWORD)
        session.commit()
    answers = {}
    for email in ("known@example.org", "nobody@example.org"):
        statuses = []
        for _ in range(FREE_FAILURES_PER_PAIR + 1):
            response = client.post(
                "/login", data={"email": email, "password": "nope nope", "csrf_token": _csrf(client)}
            )
            statuses.append((response.status_code, re.sub(r"value=\"[^\"]*\"", "", response.text)))
        answers[email] = statuses
    known, unknown = answers.values()
    assert [s for s, _ in known] == [s for s, _ in unknown] == [401] * FREE_FAILURES_PER_PAIR + [429]
    assert [t for _, t in known] == [t for _, t in unknown]  # the same page, word for word


def test_login_page_answers_429_with_retry_after_when_throttled(client, app):
    with _db(app) as session:
        create_user(session, "web-throttled@example.org", "rater", PASSWORD)
        session.commit()
    for _ in range(FREE_FAILURES_PER_PAIR):
        response = client.post(
            "/login", data={"email": "web-throttled@example.org", "password": "nope nope", "csrf_token": _csrf(client)}
        )
        assert response.status_code == 401
    response = client.post(
        "/login", data={"email": "web-throttled@example.org", "password": PASSWORD, "csrf_token": _csrf(client)}
    )
    assert response.status_code == 429 and "Too many failed attempts" in response.text
    assert int(response.headers["Retry-After"]) >= 1


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
    '" OR 1=1 --',
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
        api = client.post(
            "/api/v1/leases/1/judgment",
            data='{"answers": {"rationale": "a\\u0000"}, "idempotency_key": "k"}',
            headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
        )
        assert api.status_code == 400 and "NUL" in api.get_json()["error"]
        return
    assert response.status_code == 401 and "<script>alert" not in response.text
    if "7*7" in payload:  # not evaluated as a template: the e-mail field shows it as typed
        assert payload.replace("'", "&#39;").replace('"', "&#34;") in response.text
    # Every filter a staff member can pass in a query string.
    auth.login_as("researcher")
    for path in (
        f"/projects/{project_id}?question={payload}",
        f"/projects/{project_id}/leaderboard?question={payload}",
        f"/rubrics/{payload}",
        f"/rubrics/pairwise-helpful-harmless/diff?a={payload}&b={payload}",
    ):
        response = client.get(path)
        assert response.status_code < 500, path
        assert "<script>alert" not in response.text
    auth.logout()
    # The rater's free-text inputs: the skip reason and the rationale.
    auth.login_as("rater")
    page = client.get(f"/projects/{project_id}/rate").text
    fields = {
        n: re.search(rf'name="{n}" value="([^"]*)"', page).group(1)
        for n in ("csrf_token", "lease_id", "idempotency_key")
    }
    answer = {
        **fields,
        "q.helpful.choice": "A",
        "q.helpful.strength": "1",
        "q.harmless.choice": "tie",
        "q.rationale": payload,
    }
    response = client.post(f"/projects/{project_id}/rate", data=answer, headers={"HX-Request": "true"})
    assert response.status_code in (200, 422) and "<script>alert" not in response.text
    page = client.get(f"/projects/{project_id}/rate").text
    lease = re.search(r'name="lease_id" value="(\d+)"', page)
    if lease:
        response = client.post(
            f"/projects/{project_id}/skip",
            data={"csrf_token": fields["csrf_token"], "lease_id": lease.group(1), "reason": payload},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 200 and "<script>alert" not in response.text
    # Nothing was dropped or rewritten.
    with _db(app) as session:
        assert {"users", "judgments", "items"} <= set(inspect(session.get_bind()).get_table_names())
        assert session.scalar(select(func.count()).select_from(User)) >= 2
        for reason in session.scalars(select(ItemFlag.reason)):
            assert reason in (payload.strip()[:500], payload)  # stored as given, or refused
