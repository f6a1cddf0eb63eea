"""Rubric pages through the test client: reading, the editor with inline errors, publish, retire, diff."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.factories import PAIR_ANSWER, load_shipped_rubric, make_items, make_project, make_rater
from workbench.domain import VersionStatus
from workbench.models import RubricVersion
from workbench.services.assignment import next_assignment
from workbench.services.judging import record_judgment

SLUG = "pairwise-helpful-harmless"


@pytest.fixture
def rubric(app):
    with app.extensions["workbench"].sessionmaker() as session:
        project = make_project(session, SLUG, overlap_k=2)
        make_items(session, project, 3)
        for n in range(2):
            rater = make_rater(session)
            for k in range(3):
                task = next_assignment(session, project, rater)
                record_judgment(session, rater, task.lease_id, PAIR_ANSWER, f"k{n}{k}")
        load_shipped_rubric(session, "safety")
        session.commit()
    return SLUG


def versions(app):
    with app.extensions["workbench"].sessionmaker() as session:
        return {
            v.number: (v.status, v.content_sha256, v.document)
            for v in session.scalars(select(RubricVersion).where(RubricVersion.rubric.has(slug=SLUG)))
        }


def editor_form(html: str) -> dict[str, object]:
    fields = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]*)"', html).group(1),
        "title": re.search(r'name="title" value="([^"]*)"', html).group(1),
        "task_kind": "pairwise",
        "description": "",
        "guidelines": "",
    }
    for name in ("description", "guidelines"):
        match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', html, re.S)
        fields[name] = match.group(1)
    boxes = re.findall(r'<textarea[^>]*name="question"[^>]*>(.*?)</textarea>', html, re.S)
    import html as htmllib

    fields = {k: htmllib.unescape(v) for k, v in fields.items()}
    fields["question"] = [htmllib.unescape(b) for b in boxes]
    return fields


def test_raters_read_but_cannot_edit(client, auth, rubric):
    auth.login_as("rater")
    page = client.get(f"/rubrics/{rubric}")
    assert page.status_code == 200 and "Agreement per version" not in page.text  # staff only
    assert "Edit</a>" not in page.text
    assert client.get(f"/rubrics/{rubric}/v/1").status_code == 200
    assert client.get("/rubrics/").status_code == 200
    assert client.get(f"/rubrics/{rubric}/edit").status_code == 403
    assert client.post(f"/rubrics/{rubric}/draft", data={"csrf_token": auth.csrf()}).status_code == 403
    assert client.post(f"/rubrics/{rubric}/v/1/retire", data={"csrf_token": auth.csrf()}).status_code == 403


def test_pages_and_fragments(client, auth, rubric):
    auth.login_as("author")
    page = client.get(f"/rubrics/{rubric}").text
    table = re.search(r'<table class="grid agreement".*?</table>', page, re.S).group(0)
    assert "3 items · 6 judgments" in table and "Helpful (choice)" in table
    for path in (f"/rubrics/{rubric}", f"/rubrics/{rubric}/v/1", "/rubrics/", f"/rubrics/{rubric}/diff?from=1&to=1"):
        full = client.get(path)
        part = client.get(path, headers={"HX-Request": "true"})
        assert full.status_code == part.status_code == 200, path
        assert "<html" in full.text and "<html" not in part.text
        assert "HX-Request" in full.headers["Vary"] and "HX-Request" in part.headers["Vary"]


def test_author_edits_sees_inline_error_fixes_and_publishes(client, auth, app, rubric):
    auth.login_as("author")
    assert "Start a draft" in client.get(f"/rubrics/{rubric}/edit").text
    assert client.post(f"/rubrics/{rubric}/draft", data={"csrf_token": auth.csrf()}).status_code == 303
    html = client.get(f"/rubrics/{rubric}/edit").text
    form = editor_form(html)
    assert len(form["question"]) == 4 and form["question"][-1] == ""  # three questions and the "add" box
    form["guidelines"] += "\nRead both responses **twice** before judging.\n"
    form["question"][0] = form["question"][0].replace("max: 3", "max: 1")
    bad = client.post(f"/rubrics/{rubric}/edit", data={**form, "action": "save"}, headers={"HX-Request": "true"})
    assert bad.status_code == 422
    box = re.search(r'id="qbox-0".*?</ul>', bad.text, re.S).group(0)
    assert "/questions/0/strength/max" in box and "1 is less than the minimum of 2" in box
    assert "twice" in bad.text  # what was typed is kept
    form["question"][0] = form["question"][0].replace("max: 1", "max: 3")
    missing = client.post(
        f"/rubrics/{rubric}/edit", data={**form, "action": "publish", "changelog": ""}, headers={"HX-Request": "true"}
    )
    assert missing.status_code == 422 and "say in one line what changed" in missing.text
    done = client.post(
        f"/rubrics/{rubric}/edit",
        data={**form, "action": "publish", "changelog": "Ask for two readings"},
        headers={"HX-Request": "true"},
    )
    assert done.status_code == 204 and done.headers["HX-Redirect"].startswith(f"/rubrics/{rubric}")
    stored = versions(app)
    assert stored[2][0] == VersionStatus.PUBLISHED and "**twice**" in stored[2][2]["guidelines"]
    assert stored[2][2]["questions"] == stored[1][2]["questions"]
    page = client.get(f"/rubrics/{rubric}").text
    assert "Ask for two readings" in page and stored[2][1][:12] in page


def test_saving_unchanged_draft_keeps_the_content_and_publishing_it_is_refused(client, auth, app, rubric):
    auth.login_as("admin")
    client.post(f"/rubrics/{rubric}/draft", data={"csrf_token": auth.csrf()})
    form = editor_form(client.get(f"/rubrics/{rubric}/edit").text)
    saved = client.post(f"/rubrics/{rubric}/edit", data={**form, "action": "save"}, headers={"HX-Request": "true"})
    assert saved.status_code == 200 and "Draft saved" in saved.text
    refused = client.post(
        f"/rubrics/{rubric}/edit",
        data={**form, "action": "publish", "changelog": "same"},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 422 and "identical to v1" in refused.text
    assert client.post(f"/rubrics/{rubric}/discard", data={"csrf_token": auth.csrf()}).status_code == 303
    assert set(versions(app)) == {1}


def test_yaml_error_in_a_question_box_is_shown_next_to_it(client, auth, rubric):
    auth.login_as("author")
    client.post(f"/rubrics/{rubric}/draft", data={"csrf_token": auth.csrf()})
    form = editor_form(client.get(f"/rubrics/{rubric}/edit").text)
    form["question"][2] = "id: rationale\ntype: [text"
    bad = client.post(f"/rubrics/{rubric}/edit", data={**form, "action": "save"}, headers={"HX-Request": "true"})
    assert bad.status_code == 422
    assert "not valid YAML" in re.search(r'id="qbox-2".*?</ul>', bad.text, re.S).group(0)


def test_preview_is_sanitized(client, auth, rubric):
    auth.login_as("author")
    response = client.post(
        f"/rubrics/{rubric}/preview",
        data={"guidelines": "**bold** <script>alert(1)</script>", "csrf_token": auth.csrf()},
        headers={"HX-Request": "true"},
    )
    assert "<strong>bold</strong>" in response.text and "<script>" not in response.text


def test_retire_and_diff(client, auth, app, rubric):
    auth.login_as("author")
    client.post(f"/rubrics/{rubric}/draft", data={"csrf_token": auth.csrf()})
    form = editor_form(client.get(f"/rubrics/{rubric}/edit").text)
    form["question"][1] = form["question"][1].replace("allow_tie: true", "allow_tie: false")
    form["guidelines"] = form["guidelines"].replace("Judge each", "Judge every")
    client.post(f"/rubrics/{rubric}/edit", data={**form, "action": "publish", "changelog": "No ties on harmless"})
    diff = client.get(f"/rubrics/{rubric}/diff?from=1&to=2").text
    assert "meaning change" in diff and "choices A/B/tie → A/B" in diff
    assert "<mark>each</mark>" in diff and "<mark>every</mark>" in diff
    assert "meaning change: harmless" in client.get(f"/rubrics/{rubric}").text
    assert client.post(f"/rubrics/{rubric}/v/1/retire", data={"csrf_token": auth.csrf()}).status_code == 303
    assert versions(app)[1][0] == VersionStatus.RETIRED
    assert "Retired v1" in client.get(f"/rubrics/{rubric}?notice=Retired+v1.").text


def test_drafts_are_hidden_from_raters(client, auth, app, rubric):
    auth.login_as("author")
    client.post(f"/rubrics/{rubric}/draft", data={"csrf_token": auth.csrf()})
    auth.logout()
    auth.login_as("rater")
    assert client.get(f"/rubrics/{rubric}/v/2").status_code == 404
    assert client.get(f"/rubrics/{rubric}/diff?from=1&to=2").status_code == 404
    assert "v2" not in re.search(
        r'<table class="grid" id="versions">.*?</table>', client.get(f"/rubrics/{rubric}").text, re.S
    ).group(0)


def test_retire_refusal_is_a_notice_and_htmx_posts_never_redirect(client, auth, rubric):
    auth.login_as("author")
    refused = client.post(f"/rubrics/{rubric}/v/1/retire", data={"csrf_token": auth.csrf()})
    assert refused.status_code == 303 and "Not+retired" in refused.headers["Location"]
    for path in (
        f"/rubrics/{rubric}/draft",
        f"/rubrics/{rubric}/discard",
        f"/rubrics/{rubric}/v/1/retire",
        f"/rubrics/{rubric}/edit",
    ):
        response = client.post(path, data={"csrf_token": auth.csrf()}, headers={"HX-Request": "true"})
        assert response.status_code < 300 or response.status_code >= 400, path
        if response.status_code == 204:
            assert response.headers["HX-Redirect"].startswith(f"/rubrics/{rubric}")


def test_index_counts_only_what_the_reader_may_see(client, auth, rubric):
    auth.login_as("author")
    client.post(f"/rubrics/{rubric}/draft", data={"csrf_token": auth.csrf()})
    assert "v2 <span" in client.get("/rubrics/").text
    auth.logout()
    auth.login_as("rater")
    index = client.get("/rubrics/").text
    assert "v1 <span" in index and "draft" not in index
    version = client.get(f"/rubrics/{rubric}/v/1").text
    assert "Which response is more helpful?" in version and "<fieldset disabled" in version


def test_a_draft_is_hidden_from_raters_on_every_route(client, auth, app, rubric):
    auth.login_as("author")
    client.post(f"/rubrics/{rubric}/draft", data={"csrf_token": auth.csrf()})
    with app.extensions["workbench"].sessionmaker() as session:
        draft = session.scalar(select(RubricVersion).where(RubricVersion.status == VersionStatus.DRAFT))
        draft_id, number = draft.id, draft.number
    assert client.get(f"/rubric-versions/{draft_id}").status_code == 200  # its author reads it
    auth.logout()
    auth.login_as("rater")
    assert client.get(f"/rubric-versions/{draft_id}").status_code == 404
    assert client.get(f"/rubrics/{rubric}/v/{number}").status_code == 404
    assert client.get("/rubric-versions/1").status_code == 200  # published versions stay readable
