"""The rater's steps in Chromium: instructions first, answers kept across a reload, "Saved."
announced in the one persistent live region with an Undo button, Enter only from the form's
own answers, the word diff without JavaScript."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.web.browser import VIEWPORT, PageWatch, log_in
from workbench.models import Judgment, Project, User
from workbench.services.demo import DEMO_PASSWORD, PAIRWISE_PROJECT

try:
    from playwright.sync_api import expect
except ImportError:  # the ``browser`` fixture reports it
    expect = None

RATER = "rater@example.org"
CHECKED_JS = """() => Object.fromEntries(
  Array.from(document.querySelectorAll('#task form.judgment input:checked')).map(i => [i.name, i.value]))"""


def _db(app):
    return app.extensions["workbench"].sessionmaker()


def _project_id(app) -> int:
    with _db(app) as session:
        return session.scalar(select(Project.id).where(Project.name == PAIRWISE_PROJECT))


def _judgments(app) -> int:
    with _db(app) as session:
        rater = session.scalar(select(User.id).where(User.email == RATER))
        return session.scalar(select(func.count()).select_from(Judgment).where(Judgment.rater_id == rater))


def _lease_id(page) -> str:
    return page.locator("#task form.judgment input[name=lease_id]").input_value()


def _is_post(path: str):
    return lambda response: response.request.method == "POST" and response.url.endswith(path)


@pytest.mark.rater_instructions
def test_browser_instructions_then_rating(page, watch, live_server, demo, app):
    project_id = _project_id(app)
    log_in(page, live_server.url, RATER, DEMO_PASSWORD, path=f"/projects/{project_id}/rate")
    expect(page.get_by_role("heading", name="Guidelines")).to_be_visible()
    expect(page.locator("#task")).to_have_count(0)
    page.get_by_role("button", name="Start rating").click()
    expect(page.locator("#task form.judgment")).to_be_visible()
    page.reload()
    expect(page.locator("#task form.judgment")).to_be_visible()
    assert watch.problems() == []


def test_browser_answers_survive_a_reload_saved_is_announced_and_undo_brings_them_back(
    page, watch, live_server, demo, app
):
    project_id = _project_id(app)
    log_in(page, live_server.url, RATER, DEMO_PASSWORD, path=f"/projects/{project_id}/rate")
    lease = _lease_id(page)
    page.keyboard.press("1")
    page.keyboard.press("2")
    page.reload()
    assert _lease_id(page) == lease
    assert page.evaluate(CHECKED_JS) == {"q.helpful.choice": "A", "q.helpful.strength": "2"}
    page.locator('input[name="q.harmless.choice"]').first.focus()
    page.keyboard.press("3")

    page.evaluate("window.__flash = document.getElementById('flash')")
    with page.expect_response(_is_post("/rate")) as posted:
        page.keyboard.press("Enter")
    assert posted.value.status == 200
    expect(page.locator("#flash .notice")).to_contain_text("Saved.")
    # The same live region element, written into, not replaced by the swap.
    assert page.evaluate("window.__flash === document.getElementById('flash')")
    expect(page.locator("#flash")).to_have_attribute("aria-live", "polite")
    assert _judgments(app) == 1
    assert _lease_id(page) != lease

    with page.expect_response(_is_post("/undo")) as undone:
        page.locator("#flash").get_by_role("button", name="Undo").click()
    assert undone.value.status == 200
    expect(page.locator("#flash .notice")).to_contain_text("Undone")
    expect(page.locator("#task form.judgment input[name=lease_id]")).to_have_value(lease)
    page.wait_for_function("document.querySelectorAll('#task form.judgment input:checked').length > 0")
    assert page.evaluate(CHECKED_JS) == {
        "q.helpful.choice": "A",
        "q.helpful.strength": "2",
        "q.harmless.choice": "tie",
    }
    assert _judgments(app) == 0
    assert watch.problems() == []


def test_browser_enter_submits_only_from_the_forms_own_answers(page, watch, live_server, demo, app):
    project_id = _project_id(app)
    log_in(page, live_server.url, RATER, DEMO_PASSWORD, path=f"/projects/{project_id}/rate")
    for key in ("1", "2", "3"):
        page.keyboard.press(key)
    # Enter on the guidelines summary opens them; on the page itself, nothing is sent.
    page.locator("#task details.guidelines summary").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#task details.guidelines")).to_have_attribute("open", "")
    page.locator("#task").focus()
    page.keyboard.press("Enter")
    page.locator("#task details.skip summary").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#task details.skip")).to_have_attribute("open", "")
    page.wait_for_timeout(300)
    assert _judgments(app) == 0
    # From an answer, Enter submits.
    page.locator('input[name="q.harmless.choice"]:checked').focus()
    with page.expect_response(_is_post("/rate")):
        page.keyboard.press("Enter")
    assert _judgments(app) == 1
    assert watch.problems() == []


def test_browser_word_diff_and_saved_without_javascript(browser, live_server, demo, app):
    project_id = _project_id(app)
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT, java_script_enabled=False)
    context.set_default_timeout(10_000)
    try:
        watch = PageWatch(live_server.url)
        page = watch.attach(context.new_page())
        log_in(page, live_server.url, RATER, DEMO_PASSWORD, path=f"/projects/{project_id}/rate")
        page.locator("#task details.diff summary").click()
        page.get_by_role("link", name="Show the word differences").click()
        expect(page.get_by_role("heading", name="Word differences from A to B")).to_be_visible()
        expect(page.locator(".diff-text")).to_be_visible()
        page.get_by_role("link", name="Back to the item").click()

        page.locator("#q-helpful .choice label").filter(has_text="Tie").click()
        page.locator("#q-harmless .choice label").filter(has_text="Tie").click()
        page.locator("#task form.judgment button[type=submit]").click()
        expect(page.locator("#flash .notice")).to_contain_text("Saved.")
        expect(page.locator("#flash").get_by_role("button", name="Undo")).to_be_visible()
        assert _judgments(app) == 1
        assert watch.problems() == []
    finally:
        context.close()
