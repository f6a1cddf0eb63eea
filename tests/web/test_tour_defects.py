"""The defects a first tour of the pages found, each checked where it lives (server side here;
behaviour in the browser tests): wording, the filter form on a bad rule, confirmations, ways
back, tabs, the export form, the favicon, the adjudicator's note in the rater's terms."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.factories import make_item, make_project
from tests.services.test_quality_loop import judge, pair
from workbench.models import Adjudication
from workbench.services.rubrics import current_version

APP_CSS = Path(__file__).resolve().parents[2] / "workbench" / "static" / "app.css"


@pytest.fixture
def data(app, auth):
    r1, r2 = auth.create("rater"), auth.create("rater")
    with app.extensions["workbench"].sessionmaker() as session:
        project = make_project(session, overlap_k=2)
        items = [make_item(session, project) for _ in range(2)]
        judge(session, project, items[0], r1, pair("A", 2))
        judge(session, project, items[0], r2, pair("B", 1), order=(1, 0))  # r2 saw the sides swapped
        judge(session, project, items[1], r1, pair("A", 1))
        version = current_version(session, project)
        session.add(
            Adjudication(
                project_id=project.id,
                item_id=items[0].id,
                question_id="helpful",
                rubric_version_id=version.id,
                answer={"choice": "A", "strength": 2},
                note="A covers it fully.",
            )
        )
        session.commit()
        return project.id, [i.id for i in items], r1, r2, version.id


def test_a_bad_disagreement_rule_keeps_the_filter_form_and_says_it_once(client, auth, data):
    auth.login_as("researcher")
    for headers in ({}, {"HX-Request": "true"}):
        page = client.get(f"/projects/{data[0]}/disagreements?rule=bogus", headers=headers)
        assert page.status_code == 422
        assert 'class="filters"' in page.text and 'name="rule" value="bogus"' in page.text
        assert "Unknown rule &#39;bogus&#39;: use no-majority, any or spread&gt;N" in page.text
        assert "rule rule" not in page.text
        assert 'aria-invalid="true"' in page.text


def test_forbidden_and_missing_pages_speak_our_words(client, auth, data):
    auth.login_as("rater")
    forbidden = client.get(f"/projects/{data[0]}/disagreements")
    assert forbidden.status_code == 403
    assert "Your account (rater) cannot open this page" in forbidden.text
    assert "read-protected" not in forbidden.text
    missing = client.get("/rubrics/no-such-rubric")
    assert missing.status_code == 404 and "workbench rubrics load" not in missing.text
    assert "There is no page at this address" in client.get("/no/such/page").text


def test_raters_read_flags_and_notes_in_their_own_terms(client, auth, data):
    project_id, _, _, r2, _ = data
    auth.login(r2.email)
    feedback = client.get(f"/projects/{project_id}/feedback").text
    # The note says "A" in the item's own order; r2 saw that response on the right.
    assert "A covers it fully." in feedback
    assert "its A is the response you saw on the right (your B)" in feedback
    me = client.get(f"/projects/{project_id}/me").text
    assert "without this rater" not in me


def test_the_adjudication_form_shows_no_key_hints_and_explains_the_note(client, auth, data):
    project_id, items, *_ = data
    auth.login_as("researcher")
    page = client.get(f"/projects/{project_id}/items/{items[0]}/adjudicate?question=helpful").text
    form = re.search(r'<form class="card adjudication".*?</form>', page, re.S).group(0)
    assert "<kbd>" not in form  # the page has no keyboard shortcuts
    assert "write A and B in the item's own order" in form


def test_quality_tabs_lead_to_the_leaderboard_and_the_export_and_the_export_form_is_styled(client, auth, data):
    project_id = data[0]
    auth.login_as("researcher")
    for path in ("disagreements", "leaderboard", "export"):
        page = client.get(f"/projects/{project_id}/{path}").text
        tabs = re.search(r'<nav class="tabs quality-tabs".*?</nav>', page, re.S).group(0)
        assert f'href="/projects/{project_id}/leaderboard"' in tabs
        assert f'href="/projects/{project_id}/export"' in tabs
    export = client.get(f"/projects/{project_id}/export").text
    assert 'class="card export-form"' in export and "<legend>" in export
    assert "form.export-form" in APP_CSS.read_text()


def test_a_rubric_version_page_has_a_way_back_and_the_report_a_favicon(client, auth, data):
    project_id, _, _, r2, version_id = data
    auth.login(r2.email)
    page = client.get(f"/rubric-versions/{version_id}", headers={"Referer": "http://localhost/projects/1/feedback"})
    assert 'href="http://localhost/projects/1/feedback">← Back</a>' in page.text
    assert client.get(f"/rubric-versions/{version_id}").text.count('href="/">← Back</a>') == 1
    auth.logout()
    auth.login_as("researcher")
    report = client.get(f"/projects/{project_id}/report").text
    assert '<link rel="icon" href="data:image/svg+xml,' in report


def test_retire_and_discard_ask_first(client, auth, app):
    from workbench.paths import resource_dir
    from workbench.rubric import load_rubric_file
    from workbench.services.rubrics import load_rubric

    with app.extensions["workbench"].sessionmaker() as session:
        load_rubric(session, load_rubric_file(resource_dir("rubrics") / "safety.yaml"))
        session.commit()
    auth.login_as("author")
    show = client.get("/rubrics/safety").text
    assert "1 published or retired version</p>" in show
    assert re.search(
        r'<form method="post" action="/rubrics/safety/v/1/retire" class="inline"\s+data-confirm="Retire v1\?', show
    )
    client.post("/rubrics/safety/draft", data={"csrf_token": auth.csrf()})
    editor = client.get("/rubrics/safety/edit").text
    assert re.search(r'<form id="discard-draft"[^>]*data-confirm="Discard draft v2\?', editor)
    assert 'role="alert"' not in re.search(r'<div id="err-title">.*?</div>', editor, re.S).group(0)


def test_dashboard_progress_bar_fills_with_the_share(client, auth, data):
    auth.login_as("researcher")
    page = client.get(f"/projects/{data[0]}").text
    bar = re.search(r'<div class="bar" role="img" aria-label="([\d.]+)% [^"]*"><div class="fill (w\d+)"', page)
    share, width = float(bar.group(1)), int(bar.group(2)[1:])
    # 3 of 4 target judgments (2 items × overlap 2): 75%, drawn as the nearest 5% step.
    assert share == 75.0 and width == 75
    assert ".w75 { width: 75% !important; }" in APP_CSS.read_text()


def test_the_rating_page_counts_in_words(client, auth, app):
    with app.extensions["workbench"].sessionmaker() as session:
        project = make_project(session, overlap_k=1)
        for _ in range(2):
            make_item(session, project)
        session.commit()
    auth.login_as("rater")
    page = client.get(f"/projects/{project.id}/rate").text
    fields = {
        n: re.search(rf'name="{n}" value="([^"]*)"', page).group(1)
        for n in ("csrf_token", "lease_id", "idempotency_key")
    }
    answers = {"q.helpful.choice": "tie", "q.harmless.choice": "tie"}
    client.post(f"/projects/{project.id}/rate", data={**fields, **answers})
    progress = re.search(r'<div id="progress".*?</div>', client.get(f"/projects/{project.id}/rate").text, re.S).group(0)
    assert "last 8 h: 1 item," in progress and "1 items" not in progress
