"""The rater JSON API with bearer tokens: next item, submit, errors as JSON."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import func, select

from tests.factories import make_item, make_items, make_project
from workbench.models import Judgment, Lease
from workbench.services.users import create_api_token, create_user

_emails = itertools.count(1)
ANSWER = {"helpful": {"choice": "A", "strength": 2}, "harmless": {"choice": "tie"}}


def _db(app):
    return app.extensions["workbench"].sessionmaker()


@pytest.fixture
def project(app):
    with _db(app) as session:
        project = make_project(session, overlap_k=2)
        make_items(session, project, 3)
        session.commit()
        return project


def token_for(app, role="rater", email=None) -> str:
    with _db(app) as session:
        user = create_user(session, email or f"api-{role}-{next(_emails)}@example.org", role, None)
        token = create_api_token(session, user, "test")
        session.commit()
        return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_next_then_submit_then_204_when_done(client, app, project):
    headers = bearer(token_for(app))
    seen = []
    while (response := client.get(f"/api/v1/projects/{project.id}/next", headers=headers)).status_code == 200:
        task = response.get_json()
        assert set(task) == {"lease_id", "item_id", "prompt", "responses", "rubric", "judgment_schema", "expires_at"}
        assert [r["position"] for r in task["responses"]] == ["A", "B"]
        assert "model" not in str(task["responses"]) and "is_gold" not in response.text
        assert task["rubric"]["slug"] == "pairwise-helpful-harmless" and len(task["rubric"]["sha256"]) == 64
        assert task["judgment_schema"]["type"] == "object"
        seen.append(task["item_id"])
        posted = client.post(
            f"/api/v1/leases/{task['lease_id']}/judgment",
            json={"answers": ANSWER, "idempotency_key": f"k{len(seen)}"},
            headers=headers,
        )
        assert posted.status_code == 201, posted.text
        assert posted.get_json()["created"] is True
    assert response.status_code == 204 and response.data == b""
    assert len(seen) == len(set(seen)) == 3
    with _db(app) as session:
        assert session.scalar(select(func.count()).select_from(Judgment)) == 3


def test_retry_with_the_same_key_records_one_judgment(client, app, project):
    headers = bearer(token_for(app))
    task = client.get(f"/api/v1/projects/{project.id}/next", headers=headers).get_json()
    url = f"/api/v1/leases/{task['lease_id']}/judgment"
    first = client.post(url, json={"answers": ANSWER, "idempotency_key": "same"}, headers=headers)
    second = client.post(url, json={"answers": ANSWER, "idempotency_key": "same"}, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json()["judgment_id"] == second.get_json()["judgment_id"]
    used = client.post(url, json={"answers": ANSWER, "idempotency_key": "other"}, headers=headers)
    assert used.status_code == 409 and "already submitted" in used.get_json()["error"]
    with _db(app) as session:
        assert session.scalar(select(func.count()).select_from(Judgment)) == 1


def test_schema_errors_come_back_as_json_and_store_nothing(client, app, project):
    headers = bearer(token_for(app))
    task = client.get(f"/api/v1/projects/{project.id}/next", headers=headers).get_json()
    bad = {"helpful": {"choice": "C"}, "harmless": {"choice": "tie"}}
    response = client.post(
        f"/api/v1/leases/{task['lease_id']}/judgment", json={"answers": bad, "idempotency_key": "k"}, headers=headers
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] and any(e["location"].startswith("/helpful") for e in body["errors"])
    not_json = client.post(f"/api/v1/leases/{task['lease_id']}/judgment", data="nope", headers=headers)
    assert not_json.status_code == 422 and "JSON object" in not_json.get_json()["error"]
    with _db(app) as session:
        assert session.scalar(select(func.count()).select_from(Judgment)) == 0
        assert session.get(Lease, task["lease_id"]).completed_at is None


def test_bad_tokens_and_roles(client, app, project):
    url = f"/api/v1/projects/{project.id}/next"
    missing = client.get(url)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert "tokens create" in missing.get_json()["error"]
    assert client.get(url, headers=bearer("wb_not-a-token")).status_code == 401
    assert client.get(url, headers={"Authorization": "Basic abc"}).status_code == 401
    researcher = client.get(url, headers=bearer(token_for(app, "researcher")))
    assert researcher.status_code == 403 and "researcher" in researcher.get_json()["error"]
    assert client.post("/api/v1/leases/1/judgment", json={}).status_code == 401


def test_another_raters_lease_is_404_and_an_unknown_project_too(client, app, project):
    mine, theirs = bearer(token_for(app)), bearer(token_for(app))
    task = client.get(f"/api/v1/projects/{project.id}/next", headers=mine).get_json()
    stolen = client.post(
        f"/api/v1/leases/{task['lease_id']}/judgment", json={"answers": ANSWER, "idempotency_key": "x"}, headers=theirs
    )
    assert stolen.status_code == 404 and stolen.is_json
    assert client.get("/api/v1/projects/999/next", headers=mine).status_code == 404


def test_api_needs_no_csrf_token_but_a_cookie_session_gets_none(client, app, auth, project):
    auth.login_as("rater")
    # A logged-in browser session without a bearer token cannot use the API (and so CSRF
    # exemption for bearer requests opens nothing to cookie-carrying requests).
    assert client.get(f"/api/v1/projects/{project.id}/next").status_code == 401


def test_gold_miss_feedback_in_the_api_unless_silent(client, app):
    with _db(app) as session:
        loud = make_project(session, overlap_k=1, qualification_items=1, name="loud")
        make_items(session, loud, 1)
        make_item(session, loud, is_gold=True, gold_answer={"helpful": {"choice": "A"}}, gold_rationale="Because.")
        silent = make_project(session, overlap_k=1, qualification_items=1, gold_feedback=False, name="silent")
        make_items(session, silent, 1)
        make_item(session, silent, is_gold=True, gold_answer={"helpful": {"choice": "A"}}, gold_rationale="Because.")
        session.commit()
        ids = (loud.id, silent.id)
    headers = bearer(token_for(app))
    bodies = []
    for project_id in ids:
        task = client.get(f"/api/v1/projects/{project_id}/next", headers=headers).get_json()
        with _db(app) as session:
            swapped = session.get(Lease, task["lease_id"]).display_order == [1, 0]
        wrong = {"helpful": {"choice": "A" if swapped else "B", "strength": 1}, "harmless": {"choice": "tie"}}
        bodies.append(
            client.post(
                f"/api/v1/leases/{task['lease_id']}/judgment",
                json={"answers": wrong, "idempotency_key": f"g{project_id}"},
                headers=headers,
            ).get_json()
        )
    assert bodies[0]["feedback"]["rationale"] == "Because."
    assert bodies[0]["feedback"]["misses"][0]["question_id"] == "helpful"
    assert "feedback" not in bodies[1]


def test_failed_qualification_is_403_not_204(client, app):
    with _db(app) as session:
        project = make_project(session, overlap_k=1, qualification_items=1, qualification_min_accuracy=1.0)
        make_items(session, project, 2)
        make_item(session, project, is_gold=True, gold_answer={"helpful": {"choice": "tie"}})
        session.commit()
    headers = bearer(token_for(app))
    task = client.get(f"/api/v1/projects/{project.id}/next", headers=headers).get_json()
    client.post(
        f"/api/v1/leases/{task['lease_id']}/judgment", json={"answers": ANSWER, "idempotency_key": "q"}, headers=headers
    )
    response = client.get(f"/api/v1/projects/{project.id}/next", headers=headers)
    assert response.status_code == 403 and "not qualified" in response.get_json()["error"]
