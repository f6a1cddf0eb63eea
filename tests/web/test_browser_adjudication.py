"""The quality loop in a real browser: two raters disagree on an item, it shows up in the
disagreement queue, a researcher adjudicates it, the export's answer for the item becomes the
adjudicated one, and the rater who disagreed sees the outcome on their page.

``WORKBENCH_SCREENSHOTS=1`` also saves ``docs/adjudication.png`` and ``docs/rater-feedback.png``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.factories import make_item, make_project
from tests.web.browser import log_in
from workbench.export import PREFERENCES_FILE, export_preferences
from workbench.models import Item, Lease, Project
from workbench.rubric import to_screen
from workbench.services.adjudication import adjudicated_answers
from workbench.services.assignment import next_assignment
from workbench.services.judging import record_judgment
from workbench.services.users import create_user

try:
    from playwright.sync_api import expect
except ImportError:  # the ``browser`` fixture reports it
    expect = None

PASSWORD = "a long enough password"
DOCS = Path(__file__).resolve().parents[2] / "docs"


def _db(app):
    return app.extensions["workbench"].sessionmaker()


def _rate(session, project, rater, helpful: dict, rationale: str) -> None:
    """Rate through the real path: lease the next item, answer in screen terms, record."""
    task = next_assignment(session, project, rater)
    canonical = {"helpful": helpful, "harmless": {"choice": "tie"}, "rationale": rationale}
    order = session.get(Lease, task.lease_id).display_order
    record_judgment(session, rater, task.lease_id, to_screen(task.rubric_document, canonical, order), f"k-{rater.id}")


def _setup(app) -> int:
    with _db(app) as session:
        project = make_project(session, overlap_k=2, name="adjudication demo")
        item = make_item(
            session, project, external_id="capital-of-australia", prompt="What is the capital of Australia?"
        )
        item.responses[0].text = "The capital of Australia is **Canberra**."
        item.responses[1].text = "Sydney is the capital of Australia."
        alice = create_user(session, "alice@example.org", "rater", PASSWORD, name="Alice Rater")
        bob = create_user(session, "bob@example.org", "rater", PASSWORD, name="Bob Rater")
        create_user(session, "lead@example.org", "researcher", PASSWORD, name="Lead Researcher")
        _rate(session, project, alice, {"choice": "A", "strength": 3}, "Canberra is right; Sydney is a common mistake.")
        _rate(session, project, bob, {"choice": "B", "strength": 1}, "B is shorter and more direct.")
        session.commit()
        return project.id


def _save(page, name: str) -> None:
    if os.environ.get("WORKBENCH_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / name), full_page=True)


def test_browser_disagreement_is_adjudicated_exported_and_fed_back(page, watch, live_server, app, tmp_path):
    project_id = _setup(app)

    # The researcher finds the item in the queue from the project dashboard.
    log_in(page, live_server.url, "lead@example.org", PASSWORD, path=f"/projects/{project_id}")
    page.get_by_role("link", name="Disagreements").click()
    page.wait_for_url(f"**/projects/{project_id}/disagreements")
    rows = page.locator("#open-disagreements tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("capital-of-australia")
    expect(rows.first).to_contain_text("A (first response) is better, strength 3")
    expect(rows.first).to_contain_text("B (second response) is better, strength 1")

    # Every judgment with a pseudonym and its rationale; no names, no models.
    rows.first.get_by_role("link", name="Adjudicate").click()
    page.wait_for_url("**/adjudicate?*")
    judgments = page.locator("#judgments tbody tr")
    expect(judgments).to_have_count(2)
    expect(judgments.nth(0)).to_contain_text("R1")
    expect(judgments.nth(0)).to_contain_text("Sydney is a common mistake")
    expect(judgments.nth(1)).to_contain_text("R2")
    body = page.locator("main").inner_text()
    assert "Alice" not in body and "Bob" not in body and "model-a" not in body

    # The final answer: A, clearly better, with a note for the raters.
    form = page.locator("form.adjudication")
    form.get_by_label("A is better").check()
    form.get_by_label("clearly better").check()
    form.locator("textarea[name=note]").fill("Canberra is the capital; **correctness first**, then brevity.")
    _save(page, "adjudication.png")
    with page.expect_navigation():
        form.get_by_role("button", name="Save the final answer").click()
    page.wait_for_url(f"**/projects/{project_id}/disagreements*")
    expect(page.locator("#open-disagreements")).to_have_count(0)
    resolved = page.locator("#adjudicated tbody tr")
    expect(resolved).to_have_count(1)
    expect(resolved.first.locator("td.final")).to_contain_text("A (first response) is better, strength 2")
    expect(resolved.first).to_contain_text("no majority")

    # What the export takes for this item: the adjudicated answer, not an aggregate.
    with _db(app) as session:
        project = session.get(Project, project_id)
        answers = adjudicated_answers(session, project)
        assert list(answers.values()) == [{"helpful": {"choice": "A", "strength": 2}}]
        # The raters split 1:1 (no majority), so only the adjudication puts the item in the export.
        [item_id] = answers
        first, second = sorted(session.get(Item, item_id).responses, key=lambda r: r.position)
        summary = export_preferences(session, project, tmp_path / "export")
        rows = [json.loads(line) for line in (tmp_path / "export" / PREFERENCES_FILE).read_text().splitlines()]
        assert summary.adjudicated == 1
        assert [(r["chosen"], r["rejected"]) for r in rows] == [(first.text, second.text)]
    page.wait_for_load_state("networkidle")

    # Bob, who preferred B, sees the outcome and the guideline passage on his page.
    page.context.clear_cookies()
    log_in(page, live_server.url, "bob@example.org", PASSWORD, path=f"/projects/{project_id}")
    page.get_by_role("link", name="My figures").click()
    page.wait_for_url(f"**/projects/{project_id}/me")
    entry = page.locator("#feedback .feedback-entry")
    expect(entry).to_have_count(1)  # loaded by htmx into the page
    expect(entry).to_contain_text("The final answer differs from yours")
    expect(entry.locator(".note strong")).to_have_text("correctness first")
    expect(entry.locator("blockquote.guideline")).to_contain_text("Helpful means")
    assert "Alice" not in entry.inner_text() and "R1" not in entry.inner_text()
    _save(page, "rater-feedback.png")
    entry.get_by_role("link", name="Guidelines v1: Helpful").click()
    page.wait_for_url("**/rubric-versions/*#q-helpful")
    expect(page.locator("#q-helpful")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert watch.problems() == []
