"""The project administration pages: create, settings, access and members, honeypots,
archive, and new rubrics, with the Flask test client."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from tests.factories import make_items, make_project, make_rater, make_user
from workbench.models import Item, Project, ProjectMember, Rubric, RubricVersion

GOOD = {
    "name": "Summaries, round 2",
    "rubric": "pairwise-helpful-harmless",
    "overlap": "2",
    "pin_version": "",
    "gold_rate": "0.1",
    "qualification_items": "3",
    "min_accuracy": "0.6",
    "repeat_rate": "0.05",
    "silent_gold": "on",
}


def _db(app):
    return app.extensions["workbench"].sessionmaker()


def _summary(response) -> list[str]:
    return [html.unescape(line) for line in re.findall(r"<li>(.*?)</li>", response.text)]


@pytest.fixture
def admin(auth):
    return auth.login_as("admin")


def test_admin_creates_a_project_from_a_shipped_rubric_not_loaded_yet(app, client, auth, admin):
    page = client.get("/admin/projects")
    assert page.status_code == 200 and 'id="create-project"' in page.text
    assert '<option value="pairwise-helpful-harmless"' in page.text  # shipped, offered before loading
    response = client.post("/admin/projects", data={**GOOD, "csrf_token": auth.csrf()})
    assert response.status_code == 303
    with _db(app) as session:
        project = session.scalar(select(Project))
        assert response.headers["Location"] == f"/admin/projects/{project.id}"
        assert (project.name, project.overlap_k, project.gold_rate, project.repeat_rate) == (
            "Summaries, round 2",
            2,
            0.1,
            0.05,
        )
        assert (project.qualification_items, project.qualification_min_accuracy) == (3, 0.6)
        assert project.gold_feedback is False and project.rubric_version_id is None
        assert session.scalar(select(Rubric.slug)) == "pairwise-helpful-harmless"
    shown = client.get(response.headers["Location"])
    assert "Created project Summaries, round 2." in shown.text
    assert (
        f'href="/projects/{project.id}/uploads"' in shown.text and f'href="/projects/{project.id}/items"' in shown.text
    )


def test_bad_settings_are_named_by_label_and_create_nothing(app, client, auth, admin):
    bad = {**GOOD, "name": " ", "overlap": "two", "gold_rate": "2", "repeat_rate": "-0.5", "csrf_token": auth.csrf()}
    response = client.post("/admin/projects", data=bad)
    assert response.status_code == 422
    assert _summary(response) == [
        "Overlap: give a whole number, not 'two'",
        "Name: a project needs a name",
        "Gold rate: gold rate is a share between 0 and 1, not 2.0",
        "Repeat rate: repeat rate is a share between 0 and 1, not -0.5",
    ]
    assert 'value="two"' in response.text  # what was typed stays in the form
    with _db(app) as session:
        assert session.scalar(select(func.count()).select_from(Project)) == 0


def test_a_taken_name_or_a_missing_pinned_version_creates_nothing(app, client, auth, admin):
    with _db(app) as session:
        make_project(session, name="taken")
        session.commit()
    response = client.post("/admin/projects", data={**GOOD, "name": "taken", "csrf_token": auth.csrf()})
    assert response.status_code == 422 and "a project named &#39;taken&#39; already exists" in response.text
    response = client.post("/admin/projects", data={**GOOD, "pin_version": "9", "csrf_token": auth.csrf()})
    assert response.status_code == 422 and "has no version 9" in response.text
    with _db(app) as session:
        assert session.scalar(select(func.count()).select_from(Project)) == 1


def test_a_form_without_the_csrf_token_is_refused(app, client, admin):
    assert client.post("/admin/projects", data=GOOD).status_code == 400
    with _db(app) as session:
        assert session.scalar(select(func.count()).select_from(Project)) == 0


def test_settings_are_saved_and_bad_ones_change_nothing(app, client, auth, admin):
    with _db(app) as session:
        project_id = make_project(session, name="p", overlap_k=3).id
        session.commit()
    path = f"/admin/projects/{project_id}/settings"
    data = {**GOOD, "name": "p renamed", "overlap": "5", "pin_version": "1", "silent_gold": ""}
    assert client.post(path, data={**data, "csrf_token": auth.csrf()}).status_code == 303
    refused = client.post(path, data={**data, "overlap": "0", "min_accuracy": "abc", "csrf_token": auth.csrf()})
    assert refused.status_code == 422
    assert _summary(refused) == [
        "Minimum accuracy: give a number such as 0.1, not 'abc'",
        "Overlap: overlap must be at least 1",
    ]
    with _db(app) as session:
        project = session.get(Project, project_id)
        assert (project.name, project.overlap_k, project.gold_feedback) == ("p renamed", 5, True)
        assert project.pinned_version.number == 1


def test_access_and_members(app, client, auth, admin):
    with _db(app) as session:
        project_id = make_project(session).id
        rater = make_rater(session, email="rita@example.org")
        make_user(session, "researcher", email="rex@example.org")
        session.commit()
    base = f"/admin/projects/{project_id}"
    assert (
        client.post(f"{base}/members", data={"member_email": "rita@example.org", "csrf_token": auth.csrf()}).status_code
        == 303
    )
    assert client.post(f"{base}/access", data={"members_only": "on", "csrf_token": auth.csrf()}).status_code == 303
    page = client.get(base).text
    assert "rita@example.org" in page and "Only the members below see this project" in page
    for email, message in (
        ("nobody@example.org", "Member e-mail: no user has the e-mail nobody@example.org"),
        (
            "rex@example.org",
            "Member e-mail: rex@example.org is researcher; staff see every project without being members",
        ),
    ):
        refused = client.post(f"{base}/members", data={"member_email": email, "csrf_token": auth.csrf()})
        assert refused.status_code == 422 and _summary(refused) == [message]
    with _db(app) as session:
        assert session.get(Project, project_id).members_only is True
        assert session.scalars(select(ProjectMember.user_id)).all() == [rater.id]
    removed = client.post(f"{base}/members/{rater.id}/remove", data={"csrf_token": auth.csrf()})
    assert removed.status_code == 303
    assert client.post(f"{base}/access", data={"csrf_token": auth.csrf()}).status_code == 303  # unticked: open
    with _db(app) as session:
        assert session.get(Project, project_id).members_only is False
        assert session.scalar(select(func.count()).select_from(ProjectMember)) == 0


def test_remove_and_archive_ask_first(client, admin, app):
    with _db(app) as session:
        project = make_project(session)
        rater = make_rater(session)
        session.add(ProjectMember(project_id=project.id, user_id=rater.id))
        session.commit()
    page = client.get(f"/admin/projects/{project.id}").text
    assert re.search(r'<form[^>]+/remove"[^>]+data-confirm="Remove ', page)
    assert re.search(r'<form id="archive-project"[^>]+data-confirm="Archive ', page)


def test_archive(app, client, auth, admin):
    with _db(app) as session:
        project_id = make_project(session).id
        session.commit()
    assert client.post(f"/admin/projects/{project_id}/archive", data={"csrf_token": auth.csrf()}).status_code == 303
    page = client.get(f"/admin/projects/{project_id}").text
    assert "Archived: the project serves no more items" in page and 'id="archive-project"' not in page
    with _db(app) as session:
        assert session.get(Project, project_id).archived_at is not None
    assert client.post(f"/admin/projects/{project_id}/archive", data={"csrf_token": auth.csrf()}).status_code == 409


def test_honeypots(app, client, auth, admin):
    with _db(app) as session:
        pairwise = make_project(session)
        make_items(session, pairwise, 4)
        single = make_project(session, rubric="response-quality")
        session.commit()
    path = f"/admin/projects/{pairwise.id}/honeypots"
    assert client.post(path, data={"count": "3", "csrf_token": auth.csrf()}).status_code == 303
    assert "Added 3 honeypots; 0 already present." in client.get(f"/admin/projects/{pairwise.id}").text
    refused = client.post(path, data={"count": "many", "csrf_token": auth.csrf()})
    assert refused.status_code == 422 and _summary(refused) == ["Honeypots to add: give a whole number, not 'many'"]
    assert 'id="generate-honeypots"' not in client.get(f"/admin/projects/{single.id}").text
    refused = client.post(f"/admin/projects/{single.id}/honeypots", data={"count": "2", "csrf_token": auth.csrf()})
    assert refused.status_code == 422 and "this project rates single responses" in refused.text
    with _db(app) as session:
        assert session.scalar(select(func.count()).select_from(Item).where(Item.external_id.like("honeypot:%"))) == 3


@pytest.mark.parametrize(("role", "status"), [("rater", 403), ("author", 403), ("researcher", 403), ("admin", 200)])
def test_only_admins_manage_projects_and_see_the_links(client, auth, role, status):
    auth.login_as(role)
    assert client.get("/admin/projects").status_code == status
    index = client.get("/").text
    assert ('href="/admin/projects">New project</a>' in index) is (role == "admin")
    assert ('href="/admin/projects">Projects admin</a>' in index) is (role == "admin")


def test_new_rubric_from_a_shipped_one_opens_the_editor(app, client, auth):
    auth.login_as("author")
    assert 'href="/admin/rubrics/new"' in client.get("/rubrics/").text
    form = client.get("/admin/rubrics/new")
    assert form.status_code == 200 and '<option value="safety"' in form.text
    data = {"slug": "safety-v2", "title": "Safety, our way", "source": "safety", "csrf_token": auth.csrf()}
    response = client.post("/admin/rubrics/new", data=data)
    assert response.status_code == 303 and response.headers["Location"] == "/rubrics/safety-v2/edit"
    editor = client.get("/rubrics/safety-v2/edit")
    assert editor.status_code == 200 and "Safety, our way" in editor.text
    with _db(app) as session:
        draft = session.scalar(select(RubricVersion))
        assert draft.status.value == "draft" and draft.document["slug"] == "safety-v2"
        assert draft.document["questions"]  # copied from the shipped file


def test_new_rubric_errors_are_named_by_label(app, client, auth):
    auth.login_as("admin")
    client.post("/admin/rubrics/new", data={"slug": "mine", "title": "Mine", "source": "", "csrf_token": auth.csrf()})
    response = client.post(
        "/admin/rubrics/new", data={"slug": "Bad Slug", "title": "", "source": "nope", "csrf_token": auth.csrf()}
    )
    assert response.status_code == 422
    assert _summary(response) == [
        "Slug: use 2 to 99 lower-case letters, digits and dashes, starting with a letter or digit",
        "Title: a rubric needs a title",
        "Start from: no shipped rubric 'nope'",
    ]
    again = client.post("/admin/rubrics/new", data={"slug": "mine", "title": "x", "csrf_token": auth.csrf()})
    assert again.status_code == 422 and _summary(again) == ["Slug: a rubric 'mine' already exists"]
    with _db(app) as session:
        assert session.scalars(select(Rubric.slug)).all() == ["mine"]
