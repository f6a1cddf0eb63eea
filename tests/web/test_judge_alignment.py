"""The judge alignment page through the test client."""

from __future__ import annotations

import pytest

from tests.factories import make_project
from tests.services.test_escalation import build
from workbench.services.escalation import escalate


@pytest.fixture
def project_id(app):
    with app.extensions["workbench"].sessionmaker() as session:
        project, judge = build(session)
        escalate(session, project, judge, 0.8, 0.1)
        session.commit()
        return project.id


@pytest.mark.parametrize(("role", "status"), [("rater", 403), ("researcher", 200), ("author", 200), ("admin", 200)])
def test_roles(client, auth, project_id, role, status):
    auth.login_as(role)
    assert client.get(f"/projects/{project_id}/judges/alignment").status_code == status


def test_page_shows_figures_chart_and_escalation(client, auth, project_id):
    auth.login_as("researcher")
    response = client.get(f"/projects/{project_id}/judges/alignment")
    page = response.text
    assert "<html" in page and "Vary" in response.headers and "HX-Request" in response.headers["Vary"]
    assert "gpt-judge" in page and "Cohen's κ" in page and "Krippendorff's α" in page
    assert "60 items (1 without a majority left out)" in page
    assert '<td class="num">40</td><td class="num">20</td>' in page  # confusion row A
    assert 'id="reliability-1"' in page and "<svg" in page and "<rect" in page
    assert "2 items accepted" in page and "<strong>3</strong> escalated" in page
    assert "threshold 0.501" in page
    # Flags: kappa is 0 (people always said A); alpha needs 10 units two people rated (there is 1).
    assert "kappa 0.00 &lt; 0.4" in page and "alpha falls" not in page
    assert "Picks the longer response" not in page  # no item with responses of different length
    fragment = client.get(f"/projects/{project_id}/judges/alignment", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="judge-alignment"' in fragment.text


def test_leaderboard_links_here_and_a_project_without_judges(client, auth, app, project_id):
    auth.login_as("researcher")
    assert f"/projects/{project_id}/judges/alignment" in client.get(f"/projects/{project_id}/leaderboard").text
    with app.extensions["workbench"].sessionmaker() as session:
        other = make_project(session, name="no judges").id
        session.commit()
    assert "No judge has verdicts" in client.get(f"/projects/{other}/judges/alignment").text
