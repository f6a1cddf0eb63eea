"""Quality-loop pages through the test client: roles, htmx partials, adjudication round trip."""

from __future__ import annotations

import re

import pytest

from tests.factories import make_item, make_project
from tests.services.test_quality_loop import judge, pair
from workbench.models import Adjudication, Item
from workbench.services.rubrics import current_version


@pytest.fixture
def data(app, auth):
    r1, r2 = auth.create("rater"), auth.create("rater")
    with app.extensions["workbench"].sessionmaker() as session:
        project = make_project(session, overlap_k=2)
        items = [make_item(session, project) for _ in range(2)]
        judge(session, project, items[0], r1, pair("A", 2, rationale="A is *right*."))
        judge(session, project, items[0], r2, pair("B", 1), order=(1, 0))
        judge(session, project, items[1], r1, pair("A", 1))
        judge(session, project, items[1], r2, pair("A", 1))
        version_id = current_version(session, project).id
        session.commit()
        return project.id, [i.id for i in items], r1, r2, version_id


STAFF_PAGES = [
    "/projects/{p}/disagreements",
    "/projects/{p}/spot-checks",
    "/projects/{p}/compare",
    "/projects/{p}/failures",
]


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_staff_pages_page_and_partial(client, auth, data, path):
    project_id = data[0]
    auth.login_as("researcher")
    full = client.get(path.format(p=project_id))
    assert full.status_code == 200 and "<html" in full.text and "HX-Request" in full.headers["Vary"]
    partial = client.get(path.format(p=project_id), headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text


@pytest.mark.parametrize("path", [*STAFF_PAGES, "/projects/{p}/report", "/projects/{p}/items/1/adjudicate"])
def test_raters_cannot_open_staff_pages(client, auth, data, path):
    auth.login_as("rater")
    assert client.get(path.format(p=data[0])).status_code == 403


def test_adjudication_round_trip_and_feedback(client, auth, app, data):
    project_id, items, r1, r2, version_id = data
    auth.login_as("researcher")
    queue = client.get(f"/projects/{project_id}/disagreements?question=helpful").text
    assert queue.count("Adjudicate</a>") == 1
    case = client.get(f"/projects/{project_id}/items/{items[0]}/adjudicate?question=helpful").text
    assert "R1" in case and "R2" in case and "<em>right</em>" in case
    assert r1.name not in case and r2.name not in case and "model-a" not in case
    url = f"/projects/{project_id}/items/{items[0]}/adjudicate"
    missing = client.post(url, data={"csrf_token": auth.csrf(), "question": "helpful", "note": "x"})
    assert missing.status_code == 422 and "choose the final answer" in missing.text
    saved = client.post(
        url,
        data={
            "csrf_token": auth.csrf(),
            "question": "helpful",
            "q.helpful.choice": "A",
            "q.helpful.strength": "2",
            "note": "A follows the *guidelines*.",
        },
    )
    assert saved.status_code == 303
    queue = client.get(f"/projects/{project_id}/disagreements?question=helpful").text
    assert "No open disagreements" in queue and "A (first response) is better, strength 2" in queue
    promoted = client.post(f"/projects/{project_id}/items/{items[0]}/promote", data={"csrf_token": auth.csrf()})
    assert promoted.status_code == 303
    with app.extensions["workbench"].sessionmaker() as session:
        assert session.get(Item, items[0]).is_gold and session.query(Adjudication).one().promoted_to_gold

    auth.logout()
    auth.login(r2.email)
    page = client.get(f"/projects/{project_id}/feedback").text
    assert "The final answer differs from yours" in page and "<em>guidelines</em>" in page
    assert f"/rubric-versions/{version_id}#q-helpful" in page
    assert r1.name not in page
    me = client.get(f"/projects/{project_id}/me").text
    assert f'hx-get="/projects/{project_id}/feedback"' in me
    rubric = client.get(f"/rubric-versions/{version_id}").text
    assert 'id="q-helpful"' in rubric


def test_compare_report_and_spot_checks(client, auth, data):
    project_id, items, r1, r2, _ = data
    auth.login_as("researcher")
    page = client.get(f"/projects/{project_id}/compare?a={r1.id}&b={r2.id}&question=helpful").text
    assert 'id="kappa"' in page and 'id="confusion"' in page
    assert re.search(r"Items they disagree on <span[^>]*>\(1\)", page)
    report = client.get(f"/projects/{project_id}/report")
    assert report.status_code == 200 and "Quality report" in report.text and "<style>" not in report.text
    assert 'id="coverage"' in report.text and "<svg" in report.text
    sampled = client.post(
        f"/projects/{project_id}/spot-checks", data={"csrf_token": auth.csrf(), "per_rater": "1", "seed": "4"}
    )
    assert sampled.status_code == 303
    page = client.get(f"/projects/{project_id}/spot-checks").text
    check_ids = re.findall(r'id="check-(\d+)"', page)
    assert len(check_ids) == 2
    reviewed = client.post(
        f"/projects/{project_id}/spot-checks/{check_ids[0]}",
        data={"csrf_token": auth.csrf(), "correct": "no", "note": "Read the prompt again."},
    )
    assert reviewed.status_code == 303
    assert "Read the prompt again." in client.get(f"/projects/{project_id}/spot-checks").text
    assert (
        client.post(f"/projects/{project_id}/spot-checks/{check_ids[1]}", data={"csrf_token": auth.csrf()}).status_code
        == 422
    )
    dashboard = client.get(f"/projects/{project_id}").text
    assert "With spot checks" in dashboard and "] of 1</span>" in dashboard
    # Only the rater whose judgment was reviewed sees accuracy with spot checks on their page.
    pages = []
    for rater in (r1, r2):
        auth.logout()
        auth.login(rater.email)
        pages.append(client.get(f"/projects/{project_id}/me").text)
    assert sum('id="accuracy-with-checks"' in p for p in pages) == 1


def test_disagreement_queue_is_paged(client, auth, app, monkeypatch):
    from workbench.web.quality import disagreements

    monkeypatch.setattr(disagreements, "QUEUE_PAGE", 2)
    r1, r2 = auth.create("rater"), auth.create("rater")
    with app.extensions["workbench"].sessionmaker() as session:
        project = make_project(session, overlap_k=2)
        items = [make_item(session, project) for _ in range(5)]
        for item in items:
            judge(session, project, item, r1, pair("A", 1))
            judge(session, project, item, r2, pair("B", 1), order=(1, 0))
        project_id, external = project.id, [i.external_id for i in items]
        session.commit()
    auth.login_as("researcher")
    url = f"/projects/{project_id}/disagreements?question=helpful"
    pages = [client.get(f"{url}&page={n}").text for n in ("1", "2", "3")]
    shown = [[e for e in external if f"<code>{e}</code>" in page] for page in pages]
    assert shown == [external[:2], external[2:4], external[4:]]
    assert "1–2 of 5" in pages[0] and "5–5 of 5" in pages[2] and 'Open <span class="muted small">(5)' in pages[1]
    assert "page=2" in pages[0] and "Next" not in pages[2]
    # Out of range or not a number: the nearest page, never an error.
    assert [e for e in external if f"<code>{e}</code>" in client.get(f"{url}&page=99").text] == external[4:]
    assert [e for e in external if f"<code>{e}</code>" in client.get(f"{url}&page=x").text] == external[:2]
