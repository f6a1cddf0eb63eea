"""Skip and report, the word diff and gold feedback through the Flask test client."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.factories import make_item, make_items, make_project
from workbench.models import ItemFlag, Judgment, Lease


def _db(app):
    return app.extensions["workbench"].sessionmaker()


def _fields(html: str) -> dict[str, str]:
    return {
        n: re.search(rf'name="{n}" value="([^"]*)"', html).group(1)
        for n in ("csrf_token", "lease_id", "idempotency_key")
    }


@pytest.fixture
def project(app):
    with _db(app) as session:
        project = make_project(session, overlap_k=1)
        item = make_item(session, project)
        item.responses[0].text = "Use <script>alert(1)</script> never; the safe answer is here."
        item.responses[1].text = "Use <img src=x onerror=alert(2)> never; the better answer is here."
        make_items(session, project, 1)
        session.commit()
        return project


def test_skip_without_javascript_records_the_reason_and_shows_the_next_item(client, auth, app, project):
    auth.login_as("rater")
    page = client.get(f"/projects/{project.id}/rate").text
    fields = _fields(page)
    response = client.post(
        f"/projects/{project.id}/skip",
        data={"csrf_token": fields["csrf_token"], "lease_id": fields["lease_id"], "kind": "broken", "reason": "broken"},
    )
    assert response.status_code == 302
    with _db(app) as session:
        flag = session.scalar(select(ItemFlag))
        assert (flag.kind.value, flag.reason, flag.lease_id) == (
            "broken",
            "Broken or empty response",
            int(fields["lease_id"]),
        )
        assert session.get(Lease, flag.lease_id).completed_at is not None
        assert session.scalar(select(func.count()).select_from(Judgment)) == 0
    assert _fields(client.get(f"/projects/{project.id}/rate").text)["lease_id"] != fields["lease_id"]


def test_skip_needs_the_csrf_token(client, auth, app, project):
    auth.login_as("rater")
    fields = _fields(client.get(f"/projects/{project.id}/rate").text)
    response = client.post(f"/projects/{project.id}/skip", data={"lease_id": fields["lease_id"], "reason": "unclear"})
    assert response.status_code == 400
    with _db(app) as session:
        assert session.scalar(select(func.count()).select_from(ItemFlag)) == 0


def test_word_diff_escapes_the_responses(client, auth, app, project):
    auth.login_as("rater")
    page = client.get(f"/projects/{project.id}/rate").text
    lease_id = _fields(page)["lease_id"]
    diff = client.get(f"/projects/{project.id}/leases/{lease_id}/diff", headers={"HX-Request": "true"})
    assert diff.status_code == 200
    assert "<script>" not in diff.text and "<img" not in diff.text
    assert "&lt;script&gt;" in diff.text or "&lt;img" in diff.text
    assert "<del>" in diff.text and "<ins>" in diff.text
    auth.logout()
    auth.login_as("rater")  # another rater cannot read this lease's diff
    assert client.get(f"/projects/{project.id}/leases/{lease_id}/diff").status_code == 404


def test_gold_miss_shows_feedback_and_silent_projects_do_not(client, auth, app):
    with _db(app) as session:
        ids = []
        for silent in (False, True):
            project = make_project(session, overlap_k=1, qualification_items=1, gold_feedback=not silent)
            make_items(session, project, 1)
            make_item(
                session,
                project,
                is_gold=True,
                gold_answer={"helpful": {"choice": "tie"}},
                gold_rationale="Both are *equally* good.",
            )
            ids.append(project.id)
        session.commit()
    auth.login_as("rater")
    pages = []
    for project_id in ids:
        fields = _fields(client.get(f"/projects/{project_id}/rate").text)
        data = {**fields, "q.helpful.choice": "A", "q.helpful.strength": "1", "q.harmless.choice": "tie"}
        pages.append(client.post(f"/projects/{project_id}/rate", data=data, headers={"HX-Request": "true"}).text)
    assert "check item" in pages[0] and "expected <em>Tie</em>" in pages[0] and "<em>equally</em>" in pages[0]
    assert "check item" not in pages[1] and "Saved." in pages[1]
