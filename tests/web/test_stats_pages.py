"""Dashboard charts, the leaderboard page and a rater's own figures through the test client."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from workbench.models import Project, User
from workbench.paths import DEMO_DIR, resource_dir
from workbench.services.demo import MACHINE_JUDGE, PAIRWISE_PROJECT, seed_demo


@pytest.fixture
def demo(app):
    with app.extensions["workbench"].sessionmaker() as session:
        seed_demo(session, resource_dir("rubrics"), DEMO_DIR)
        session.commit()
        project = session.scalar(select(Project).where(Project.name == PAIRWISE_PROJECT))
        return project.id


def login(client, email):
    with client.session_transaction() as sess:
        sess["csrf"] = "t"
    response = client.post("/login", data={"email": email, "password": "workbench-demo", "csrf_token": "t"})
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("email", "status"),
    [
        ("rater@example.org", 403),
        ("researcher@example.org", 200),
        ("author@example.org", 200),
        ("admin@example.org", 200),
    ],
)
def test_leaderboard_roles(client, demo, email, status):
    login(client, email)
    assert client.get(f"/projects/{demo}/leaderboard").status_code == status


def test_leaderboard_page_shows_both_populations_with_svg(client, demo):
    login(client, "researcher@example.org")
    page = client.get(f"/projects/{demo}/leaderboard").text
    assert "<svg" in page and "<title" in page and "Elo scale" in page
    assert "Human raters" in page and "Machine raters" in page and "Humans vs machines" in page
    for model in ("gpt4", "gpt35", "vicuna-13b"):
        assert model in page
    fragment = client.get(f"/projects/{demo}/leaderboard", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="leaderboard"' in fragment.text


def test_dashboard_has_alpha_chart_rater_table_and_position_plot(client, demo):
    login(client, "researcher@example.org")
    page = client.get(f"/projects/{demo}").text
    assert 'id="alpha-chart"' in page and 'id="position-chart"' in page and 'id="raters"' in page
    assert "Rater Two" in page and MACHINE_JUDGE[1] in page and "machine" in page
    assert "Helpful (choice) · v1" in page


def test_rater_dashboard_has_no_other_raters(client, demo):
    login(client, "rater2@example.org")
    page = client.get(f"/projects/{demo}").text
    assert 'id="raters"' not in page and "Rater Three" not in page and "alpha-chart" not in page


def test_my_figures_show_only_my_own(client, app, demo):
    login(client, "rater2@example.org")
    page = client.get(f"/projects/{demo}/me").text
    assert "My figures" in page and "from your 12 judgments" in page
    assert "Rater Three" not in page and MACHINE_JUDGE[1] not in page
    assert re.search(r"Share of preferences for the left-hand response</th><td>\d+%", page)


def test_my_figures_before_judging(client, demo):
    login(client, "rater@example.org")
    assert "not judged anything" in client.get(f"/projects/{demo}/me").text


def test_researcher_cannot_open_my_figures(client, demo):
    login(client, "researcher@example.org")
    assert client.get(f"/projects/{demo}/me").status_code == 403
    with client.application.extensions["workbench"].sessionmaker() as session:
        assert session.scalar(select(User).where(User.email == "researcher@example.org")) is not None
