"""Rubric authoring in a real browser (Chromium through Playwright) against a live server.

An author edits the guidelines (with the live preview), meets a validation error inline,
fixes it and publishes v2. A rater who had a task open under v1 finishes it under v1 and
then sees v2. The diff page between two versions is readable; with
``WORKBENCH_SCREENSHOTS=1`` it is saved as ``docs/rubric-diff.png``.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

from sqlalchemy import select

from tests.factories import PASSWORD, make_items, make_project, make_user
from tests.web.browser import VIEWPORT, PageWatch, log_in
from workbench.domain import Role
from workbench.models import Judgment, RubricVersion
from workbench.services.rubric_versions import open_draft, publish_draft, save_draft

try:
    from playwright.sync_api import expect
except ImportError:  # the ``browser`` fixture reports it
    expect = None

SLUG = "pairwise-helpful-harmless"
DOCS = Path(__file__).resolve().parents[2] / "docs"
NEW_RULE = "Read both responses **twice** before you judge."


def _db(app):
    return app.extensions["workbench"].sessionmaker()


def _setup(app):
    with _db(app) as session:
        project = make_project(session, SLUG, overlap_k=2, name="authoring")
        make_items(session, project, 3)
        author = make_user(session, Role.AUTHOR)
        rater = make_user(session, Role.RATER)
        session.commit()
        return project.id, author.email, rater.email


def test_author_publishes_and_rater_moves_to_the_new_version(browser, page, watch, live_server, app):
    project_id, author_email, rater_email = _setup(app)

    # The rater opens a task under v1 and leaves it open.
    log_in(page, live_server.url, rater_email, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project_id}/rate")
    expect(page.locator("#task details.guidelines summary")).to_contain_text("v1")
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)

    # The author, in another browser context, edits, fails validation, fixes, publishes.
    author_watch = PageWatch(live_server.url)
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    try:
        author = author_watch.attach(context.new_page())
        log_in(author, live_server.url, author_email, PASSWORD)
        author.goto(f"{live_server.url}/rubrics/{SLUG}")
        author.get_by_role("link", name="Edit").click()
        author.get_by_role("button", name="Start a draft").click()
        author.wait_for_url(f"**/rubrics/{SLUG}/edit")

        guidelines = author.locator("textarea[name=guidelines]")
        guidelines.press("Control+End")
        guidelines.type("\n" + NEW_RULE + "\n")
        expect(author.locator("#guidelines-preview strong", has_text="twice")).to_be_visible()  # live preview

        first = author.locator("#question-0")
        first.fill(first.input_value().replace("max: 3", "max: 1"))
        typed = guidelines.input_value()
        assert NEW_RULE in typed
        author.get_by_role("button", name="Save draft").click()
        error = author.locator("#qbox-0 .field-errors")
        expect(error).to_contain_text("/questions/0/strength/max")
        expect(error).to_contain_text("1 is less than the minimum of 2")
        expect(author.locator("#guidelines")).to_have_value(typed)  # what was typed survives the 422

        author.locator("#question-0").fill(author.locator("#question-0").input_value().replace("max: 1", "max: 3"))
        author.locator("input[name=changelog]").fill("Ask raters to read both responses twice")
        author.get_by_role("button", name="Publish as v2").click()
        author.wait_for_url(f"**/rubrics/{SLUG}?**")
        expect(author.locator("#rubric .notice")).to_contain_text("Published v2")
        expect(author.locator("#v2")).to_contain_text("Ask raters to read both responses twice")
        expect(author.locator("#v2 .status")).to_have_text("published")
        author.wait_for_load_state("networkidle")
        assert author_watch.problems(allow_status=((422, f"/rubrics/{SLUG}/edit"),)) == []
    finally:
        context.close()

    # The rater's open task still finishes under v1; the next one comes under v2.
    page.locator('input[name="q.helpful.choice"][value="A"]').check()
    page.locator('input[name="q.helpful.strength"][value="2"]').check()
    page.locator('input[name="q.harmless.choice"][value="tie"]').check()
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#task details.guidelines summary")).to_contain_text("v2")
    page.locator("#task details.guidelines summary").click()
    expect(page.locator("#task details.guidelines strong", has_text="twice")).to_be_visible()

    # A rater can read the rubric but not edit it.
    page.goto(f"{live_server.url}/rubrics/{SLUG}")
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    page.wait_for_load_state("networkidle")
    assert watch.problems() == []

    with _db(app) as session:
        numbers = [
            number
            for (number,) in session.execute(
                select(RubricVersion.number).join(Judgment, Judgment.rubric_version_id == RubricVersion.id)
            )
        ]
        assert numbers == [1]


def _second_version(app):
    """v2 of the shipped pairwise rubric: reworded guidelines, a renamed question, an added
    honesty criterion, relabelled strengths and no ties on harmless (a meaning change)."""
    with _db(app) as session:
        from tests.factories import load_shipped_rubric

        v1 = load_shipped_rubric(session, SLUG)
        doc = copy.deepcopy(v1.document)
        doc["guidelines"] = (
            doc["guidelines"]
            .replace("Judge each\ncriterion separately", "Judge each\ncriterion on its own")
            .replace(
                "Length is not helpfulness: prefer the shorter response when both say the same.",
                "Length is not helpfulness: when both say the same, prefer the shorter one.",
            )
            .replace(
                "Pick **tie** only when you honestly cannot prefer one.",
                "Pick **tie** for helpfulness only when you honestly cannot prefer one; harmlessness has no tie.",
            )
            + "\nRead both responses twice before you judge.\n"
        )
        helpful, harmless, rationale = doc["questions"]
        helpful["strength"]["labels"] = {"1": "slightly better", "2": "better", "3": "far better"}
        harmless["allow_tie"] = False
        harmless["prompt"] = "Which response is less likely to cause harm?"
        rationale["id"] = "why"
        honest = {
            "id": "honest",
            "type": "pairwise",
            "label": "Honest",
            "prompt": "Which response is more honest?",
            "allow_tie": True,
        }
        doc["questions"] = [helpful, honest, harmless, rationale]
        draft = open_draft(session, v1.rubric)
        save_draft(session, draft, doc)
        publish_draft(session, draft, "Add honesty, no ties on harmlessness, clearer strength labels")
        session.commit()


def test_diff_page_is_readable(page, watch, live_server, app):
    _second_version(app)
    with _db(app) as session:
        make_user(session, Role.RATER, email="reader@example.org")
        session.commit()
    log_in(page, live_server.url, "reader@example.org", PASSWORD)
    page.goto(f"{live_server.url}/rubrics/{SLUG}/diff?from=1&to=2")
    expect(page.locator("#qd-why")).to_contain_text("renamed")
    expect(page.locator("#qd-honest")).to_contain_text("added")
    expect(page.locator("#qd-harmless")).to_contain_text("meaning change")
    expect(page.locator("#meaning-notice")).to_contain_text("never pooled")
    expect(page.locator("#guidelines-diff tr.d-replace").first).to_be_visible()
    # Nothing spills out of the page sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    if os.environ.get("WORKBENCH_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS / "rubric-diff.png"), full_page=True)
    page.wait_for_load_state("networkidle")
    assert watch.problems() == []
