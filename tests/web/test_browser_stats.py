"""The dashboard and the leaderboard in a real browser: charts drawn, nothing broken.

With WORKBENCH_SCREENSHOTS=1 the pages are saved to docs/ (dashboard.png, leaderboard.png).
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select

from tests.web.browser import log_in
from workbench.models import Project
from workbench.services.demo import DEMO_PASSWORD, PAIRWISE_PROJECT

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _project_id(app) -> int:
    with app.extensions["workbench"].sessionmaker() as session:
        return session.scalar(select(Project.id).where(Project.name == PAIRWISE_PROJECT))


def _save(page, name: str) -> None:
    if os.environ.get("WORKBENCH_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS / name), full_page=True)


def _chart_is_drawn(page, chart_id: str) -> None:
    box = page.locator(f"#{chart_id} svg").bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 40
    assert page.locator(f"#{chart_id} svg circle").count() >= 2
    assert page.locator(f"#{chart_id} svg title").text_content()


def test_dashboard_and_leaderboard_render(page, watch, live_server, demo, app):
    project_id = _project_id(app)
    log_in(page, live_server.url, "researcher@example.org", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/projects/{project_id}")
    _chart_is_drawn(page, "alpha-chart")
    _chart_is_drawn(page, "position-chart")
    assert page.locator("#raters tbody tr").count() == 3
    # Every chart label fits inside its SVG (nothing clipped at the left edge).
    for chart in ("alpha-chart", "position-chart"):
        left = page.locator(f"#{chart} svg").bounding_box()["x"]
        for text in page.locator(f"#{chart} svg text").all():
            assert text.bounding_box()["x"] >= left - 0.5, text.text_content()
    _save(page, "dashboard.png")
    page.wait_for_load_state("networkidle")  # let the favicon finish before navigating away

    page.get_by_role("link", name="Leaderboard").click()
    page.wait_for_url(f"**/projects/{project_id}/leaderboard")
    _chart_is_drawn(page, "human-chart")
    _chart_is_drawn(page, "machine-chart")
    assert "Humans vs machines" in page.content()
    _save(page, "leaderboard.png")
    page.wait_for_load_state("networkidle")
    assert watch.problems() == []
