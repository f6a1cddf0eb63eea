"""A rater who is not a member of a members-only project meets it nowhere: not on the
projects index, not on any project page open to raters, not in the rater API."""

from __future__ import annotations

import pytest

from tests.factories import make_items, make_project, make_rater
from workbench.services.assignment import next_assignment
from workbench.services.membership import add_member, archive_project, set_members_only
from workbench.services.users import create_api_token

SECRET_NAME = "Closed Project Zeta"
RATER_PAGES = ("", "/rate", "/me", "/feedback")


@pytest.fixture
def closed(app):
    """A members-only project with items; a member holding a task; an outsider."""
    with app.extensions["workbench"].sessionmaker() as session:
        project = make_project(session, name=SECRET_NAME)
        make_items(session, project, 3)
        member, outsider = make_rater(session), make_rater(session)
        add_member(session, project, member.email)
        set_members_only(session, project, True)
        lease_id = next_assignment(session, project, member).lease_id
        tokens = {
            "member": create_api_token(session, member, "t"),
            "outsider": create_api_token(session, outsider, "t"),
        }
        session.commit()
        return {
            "id": project.id,
            "member": member.email,
            "outsider": outsider.email,
            "lease": lease_id,
            "tokens": tokens,
        }


def test_the_outsider_sees_nothing_of_it_on_any_page(client, auth, closed):
    auth.login(closed["outsider"])
    index = client.get("/")
    assert index.status_code == 200 and SECRET_NAME not in index.text
    base = f"/projects/{closed['id']}"
    for page in RATER_PAGES:
        response = client.get(base + page)
        assert response.status_code == 404, page
        assert SECRET_NAME not in response.text
    csrf = auth.csrf()
    for action in ("/rate", "/skip"):
        response = client.post(base + action, data={"csrf_token": csrf, "lease_id": closed["lease"]})
        assert response.status_code == 404, action
    assert client.get(f"{base}/leases/{closed['lease']}/diff").status_code == 404
    rubric = client.get("/rubrics/pairwise-helpful-harmless")  # the projects using the rubric
    assert rubric.status_code == 200 and SECRET_NAME not in rubric.text


def test_the_member_rates_it(client, auth, closed):
    auth.login(closed["member"])
    assert SECRET_NAME in client.get("/").text
    assert SECRET_NAME in client.get("/rubrics/pairwise-helpful-harmless").text
    for page in RATER_PAGES:
        assert client.get(f"/projects/{closed['id']}{page}").status_code == 200, page


def test_the_rater_api_answers_404_to_the_outsider_and_serves_the_member(client, closed):
    path = f"/api/v1/projects/{closed['id']}/next"
    refused = client.get(path, headers={"Authorization": f"Bearer {closed['tokens']['outsider']}"})
    assert refused.status_code == 404
    assert SECRET_NAME not in refused.text and "prompt" not in refused.get_json()
    served = client.get(path, headers={"Authorization": f"Bearer {closed['tokens']['member']}"})
    assert served.status_code == 200 and served.get_json()["lease_id"] == closed["lease"]


def test_an_archived_project_is_gone_for_raters_and_kept_for_staff(app, client, auth, closed):
    with app.extensions["workbench"].sessionmaker() as session:
        from workbench.models import Project

        archive_project(session, session.get(Project, closed["id"]))
        session.commit()
    auth.login(closed["member"])
    assert SECRET_NAME not in client.get("/").text
    assert client.get(f"/projects/{closed['id']}/rate").status_code == 404
    api = client.get(
        f"/api/v1/projects/{closed['id']}/next", headers={"Authorization": f"Bearer {closed['tokens']['member']}"}
    )
    assert api.status_code == 404
    auth.logout()
    auth.login_as("researcher")
    assert SECRET_NAME in client.get("/").text
    assert client.get(f"/projects/{closed['id']}").status_code == 200
