"""Pages offer each role only the links its group may follow (the groups of ``domain``)."""

from __future__ import annotations

import pytest

from tests.factories import make_items, make_project


@pytest.fixture
def project_id(app):
    with app.extensions["workbench"].sessionmaker() as session:
        project = make_project(session)
        make_items(session, project, 2)
        session.commit()
        return project.id


@pytest.mark.parametrize(
    ("role", "rates", "exports"),
    [("rater", True, False), ("author", False, False), ("researcher", False, True), ("admin", True, True)],
)
def test_dashboard_and_list_links_follow_the_role_groups(client, auth, project_id, role, rates, exports):
    auth.login_as(role)
    dashboard = client.get(f"/projects/{project_id}").text
    assert (f'href="/projects/{project_id}/rate"' in dashboard) is rates
    assert (f'href="/projects/{project_id}/export"' in dashboard) is exports
    listing = client.get("/").text
    assert (f'href="/projects/{project_id}/rate"' in listing) is rates
    # where a link is offered, following it is allowed
    if rates:
        assert client.get(f"/projects/{project_id}/rate").status_code == 200
    if exports:
        assert client.get(f"/projects/{project_id}/export").status_code == 200
