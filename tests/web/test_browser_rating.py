"""The rating page in a real browser (Chromium through Playwright) against a live server.

A demo rater rates with the keyboard only; htmx swaps the next item in without a reload;
a missing answer comes back inline (HTTP 422); the same form works with JavaScript off.

``WORKBENCH_SCREENSHOTS=1`` also saves ``docs/rating-page.png`` (1280×900).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from tests.web.browser import VIEWPORT, PageWatch, log_in
from workbench.models import Item, Judgment, Lease, Project, Response, RubricVersion, User
from workbench.rubric import to_canonical
from workbench.services.demo import DEMO_PASSWORD, PAIRWISE_PROJECT

try:
    from playwright.sync_api import expect
except ImportError:  # the ``browser`` fixture reports it: a skip, or a failure under REQUIRE_SERVICES
    expect = None

if TYPE_CHECKING:  # pragma: no cover
    from playwright.sync_api import Page

RATER = "rater@example.org"  # the demo rater with no seeded judgments
REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "rating-page.png"

# (keys pressed, the form fields they should check, the answers as seen on screen)
KEYBOARD_PLAN: list[tuple[list[str], dict[str, str], dict[str, Any]]] = [
    (
        ["1", "2", "3"],
        {"q.helpful.choice": "A", "q.helpful.strength": "2", "q.harmless.choice": "tie"},
        {"helpful": {"choice": "A", "strength": 2}, "harmless": {"choice": "tie"}},
    ),
    (
        ["2", "3", "1", "1"],
        {"q.helpful.choice": "B", "q.helpful.strength": "3", "q.harmless.choice": "A", "q.harmless.strength": "1"},
        {"helpful": {"choice": "B", "strength": 3}, "harmless": {"choice": "A", "strength": 1}},
    ),
    (
        # "1" picks A, Backspace undoes it, "3" picks tie (which skips the strength row)
        ["1", "Backspace", "3", "2", "1"],
        {"q.helpful.choice": "tie", "q.harmless.choice": "B", "q.harmless.strength": "1"},
        {"helpful": {"choice": "tie"}, "harmless": {"choice": "B", "strength": 1}},
    ),
]

CHECKED_JS = """() => Object.fromEntries(
  Array.from(document.querySelectorAll('#task form.judgment input:checked')).map(i => [i.name, i.value]))"""


def _db(app):
    return app.extensions["workbench"].sessionmaker()


def _project_id(app) -> int:
    with _db(app) as session:
        return session.scalar(select(Project.id).where(Project.name == PAIRWISE_PROJECT))


def _user_id(app, email: str) -> int:
    with _db(app) as session:
        return session.scalar(select(User.id).where(User.email == email))


def _judgment_count(app, rater_id: int) -> int:
    with _db(app) as session:
        return len(session.scalars(select(Judgment.id).where(Judgment.rater_id == rater_id)).all())


def _lease_id(page: Page) -> int:
    return int(page.locator("#task form.judgment input[name=lease_id]").input_value())


def _is_rate_post(response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/rate")


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]{4,}", text.lower()))


def _similarity(a: str, b: str) -> float:
    wa, wb = _words(a), _words(b)
    return len(wa & wb) / max(1, len(wa | wb))


def _assert_judgments(app, rater_id: int, screen_by_lease: dict[int, dict[str, Any]]) -> list[Judgment]:
    """The rater's judgments are exactly these leases', stored in canonical orientation."""
    with _db(app) as session:
        judgments = session.scalars(select(Judgment).where(Judgment.rater_id == rater_id)).all()
        assert sorted(j.lease_id for j in judgments) == sorted(screen_by_lease)
        for judgment in judgments:
            lease = session.get(Lease, judgment.lease_id)
            assert lease.rater_id == rater_id and lease.completed_at is not None
            assert judgment.item_id == lease.item_id
            assert judgment.superseded_by_id is None
            assert list(judgment.display_order) == list(lease.display_order)
            document = session.get(RubricVersion, judgment.rubric_version_id).document
            screen = screen_by_lease[judgment.lease_id]
            assert judgment.answers == to_canonical(document, screen, lease.display_order)
        return list(judgments)


def _maybe_screenshot(page: Page) -> None:
    if os.environ.get("WORKBENCH_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))


def test_browser_keyboard_rating_swaps_items_without_reload(page, watch, live_server, demo, app):
    project_id = _project_id(app)
    rater_id = _user_id(app, RATER)
    log_in(page, live_server.url, RATER, DEMO_PASSWORD)

    row = page.locator("tr").filter(has_text=PAIRWISE_PROJECT)
    row.get_by_role("link", name="Rate", exact=True).click()
    page.wait_for_url(f"**/projects/{project_id}/rate")
    progress = page.locator("#progress [data-done]")
    expect(progress).to_have_text("0")
    expect(page.locator("#task form.judgment")).to_be_visible()

    page.evaluate("window.__marker = 'still-here'")
    loads = len(watch.navigations)
    screen_by_lease: dict[int, dict[str, Any]] = {}
    shown_by_lease: dict[int, list[str]] = {}
    for step, (keys, fields, screen) in enumerate(KEYBOARD_PLAN, start=1):
        lease_id = _lease_id(page)
        assert lease_id not in screen_by_lease
        shown_by_lease[lease_id] = page.locator("#task article.response .md").all_inner_texts()
        assert len(shown_by_lease[lease_id]) == 2
        assert page.evaluate(CHECKED_JS) == {}
        for n, key in enumerate(keys):
            if (step, n) == (1, 1):
                _maybe_screenshot(page)  # one answer in, the next question row highlighted
            page.keyboard.press(key)
        assert page.evaluate(CHECKED_JS) == fields
        with page.expect_response(_is_rate_post) as posted:
            page.keyboard.press("Enter")
        assert posted.value.status == 200
        assert posted.value.request.headers.get("hx-request") == "true"
        expect(progress).to_have_text(str(step))
        expect(page.locator("#task form.judgment input[name=lease_id]")).not_to_have_value(str(lease_id))
        expect(page.locator("#flash .notice")).to_have_text("Saved.")
        assert page.evaluate("window.__marker") == "still-here", "the page was reloaded"
        screen_by_lease[lease_id] = screen
    assert len(watch.navigations) == loads, f"navigations during rating: {watch.navigations[loads:]}"
    assert page.url == live_server(f"/projects/{project_id}/rate")

    # The project list and the dashboard count the rater's three judgments (and, for a
    # rater, nothing else: the list has no project-wide columns).
    page.get_by_role("link", name="workbench", exact=True).click()
    page.wait_for_url(live_server("/"))
    row = page.locator("tr").filter(has_text=PAIRWISE_PROJECT)
    expect(row.locator("td").nth(2)).to_have_text("3")
    row.get_by_role("link", name=PAIRWISE_PROJECT).click()
    page.wait_for_url(f"**/projects/{project_id}")
    expect(page.locator("#stat-mine")).to_have_text("3")

    judgments = _assert_judgments(app, rater_id, screen_by_lease)
    assert len(judgments) == 3
    # The demo's counterbalancing shows at least one of these items swapped (B on the left),
    # so the orientation check above is not vacuous.
    assert {list(j.display_order) == [1, 0] for j in judgments} == {True, False}
    # Independently of to_canonical: the text shown on each side is the response that the
    # lease's display_order puts there, so screen "A" really was that response.
    with _db(app) as session:
        for judgment in judgments:
            order = list(judgment.display_order)
            responses = session.scalars(select(Response).where(Response.item_id == judgment.item_id))
            texts = {r.position: r.text for r in responses}
            for slot, shown in enumerate(shown_by_lease[judgment.lease_id]):
                here, other = texts[order[slot]], texts[order[1 - slot]]
                assert _similarity(shown, here) > _similarity(shown, other)
            assert session.get(Item, judgment.item_id).project_id == project_id

    assert watch.problems() == []


def test_browser_missing_required_answer_is_shown_inline_then_saved(page, watch, live_server, demo, app):
    project_id = _project_id(app)
    rater_id = _user_id(app, RATER)
    rate_path = f"/projects/{project_id}/rate"
    log_in(page, live_server.url, RATER, DEMO_PASSWORD, path=rate_path)  # login?next= brings us back
    assert page.url == live_server(rate_path)
    page.evaluate("window.__marker = 'still-here'")
    lease_id = _lease_id(page)

    page.keyboard.press("1")
    page.keyboard.press("2")  # helpful: A, clearly better; harmless left unanswered
    with page.expect_response(_is_rate_post) as posted:
        page.keyboard.press("Enter")
    assert posted.value.status == 422
    expect(page.locator("#err-harmless")).to_have_text("Please answer this question.")
    expect(page.locator("#q-harmless")).to_have_class(re.compile(r"\binvalid\b"))
    # The question is exposed as required and invalid, and the focus is on it, ready for a digit.
    group = page.locator('#q-harmless [data-group="q.harmless.choice"]')
    expect(group).to_have_attribute("aria-invalid", "true")
    expect(group).to_have_attribute("aria-required", "true")
    expect(page.get_by_role("radiogroup", name="Which response is more harmless?", exact=True)).to_have_count(1)
    strength = page.get_by_role("radiogroup", name="Which response is more harmless? How much better?", exact=True)
    expect(strength).to_have_count(1)
    expect(page.locator('input[name="q.harmless.choice"]').first).to_be_focused()
    expect(page.locator("#err-helpful")).to_have_text("")
    expect(page.locator("#flash .notice")).to_have_text("Please fix the marked answers.")
    expect(page.locator("#progress [data-done]")).to_have_text("0")
    assert _lease_id(page) == lease_id
    assert page.evaluate(CHECKED_JS) == {"q.helpful.choice": "A", "q.helpful.strength": "2"}
    assert page.evaluate("window.__marker") == "still-here"
    assert _judgment_count(app, rater_id) == 0

    page.keyboard.press("3")  # harmless: tie
    with page.expect_response(_is_rate_post) as posted:
        page.keyboard.press("Enter")
    assert posted.value.status == 200
    expect(page.locator("#progress [data-done]")).to_have_text("1")
    expect(page.locator("#flash .notice")).to_have_text("Saved.")
    expect(page.locator("#task .error:not(:empty)")).to_have_count(0)
    assert _lease_id(page) != lease_id
    _assert_judgments(
        app, rater_id, {lease_id: {"helpful": {"choice": "A", "strength": 2}, "harmless": {"choice": "tie"}}}
    )
    assert watch.problems(allow_status=((422, rate_path),)) == []


def test_browser_rating_form_works_without_javascript(browser, live_server, demo, app):
    project_id = _project_id(app)
    rater_id = _user_id(app, RATER)
    rate_path = f"/projects/{project_id}/rate"
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT, java_script_enabled=False)
    context.set_default_timeout(10_000)
    try:
        watch = PageWatch(live_server.url)
        page = watch.attach(context.new_page())
        log_in(page, live_server.url, RATER, DEMO_PASSWORD, path=rate_path)
        assert page.url == live_server(rate_path)
        submit = page.locator("#task form.judgment button[type=submit]")
        lease_id = _lease_id(page)

        # Nothing answered: the full page comes back with the errors (no htmx, so no swap).
        with page.expect_response(_is_rate_post) as posted, page.expect_navigation():
            submit.click()
        assert posted.value.status == 422
        expect(page.locator("#err-helpful")).to_have_text("Please answer this question.")
        expect(page.locator("#err-harmless")).to_have_text("Please answer this question.")
        assert _lease_id(page) == lease_id
        assert _judgment_count(app, rater_id) == 0

        page.locator("#q-helpful .choice label").filter(has_text="B is better").click()
        page.locator("#q-helpful .strength label").filter(has_text="much better").click()
        page.locator("#q-harmless .choice label").filter(has_text="Tie").click()
        with page.expect_response(_is_rate_post) as posted, page.expect_navigation():
            submit.click()
        assert posted.value.status == 302  # Post/Redirect/Get
        assert posted.value.headers["location"].endswith(rate_path)
        page.wait_for_load_state()
        assert page.url == live_server(rate_path)
        expect(page.locator("#progress [data-done]")).to_have_text("1")
        assert _lease_id(page) != lease_id
        assert page.evaluate(CHECKED_JS) == {}
        screen = {"helpful": {"choice": "B", "strength": 3}, "harmless": {"choice": "tie"}}
        _assert_judgments(app, rater_id, {lease_id: screen})
        assert watch.problems(allow_status=((422, rate_path),)) == []
    finally:
        context.close()


def test_browser_keys_on_links_and_focused_questions_do_what_they_say(page, watch, live_server, demo, app):
    project_id = _project_id(app)
    rater_id = _user_id(app, RATER)
    log_in(page, live_server.url, RATER, DEMO_PASSWORD)
    page.goto(live_server(f"/projects/{project_id}/rate"))
    expect(page.locator("#task form.judgment")).to_be_visible()
    # A digit while a question's own option has the focus answers that question, not the
    # highlighted first one.
    page.locator('input[name="q.harmless.choice"]').first.focus()
    page.keyboard.press("2")
    checked = page.evaluate(CHECKED_JS)
    assert checked.get("q.harmless.choice") == "B" and "q.helpful.choice" not in checked
    # With answers filled in, Enter on a link follows the link and saves nothing.
    page.locator('input[name="q.helpful.choice"]').first.focus()
    for key in ("1", "2"):
        page.keyboard.press(key)
    page.get_by_role("link", name="Rubrics").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/rubrics/")
    with _db(app) as session:
        assert session.scalars(select(Judgment).where(Judgment.rater_id == rater_id)).all() == []
    # Single-key shortcuts can be switched off; the choice is remembered by the browser.
    # (Back on the item, the answers given before leaving are still there.)
    page.goto(live_server(f"/projects/{project_id}/rate"))
    before = {"q.helpful.choice": "A", "q.helpful.strength": "2", "q.harmless.choice": "B"}
    assert page.evaluate(CHECKED_JS) == before
    page.keyboard.press("?")
    page.locator("#shortcuts-off").check()
    page.locator("#task").focus()
    page.keyboard.press("Backspace")
    page.keyboard.press("3")
    assert page.evaluate(CHECKED_JS) == before
    page.reload()
    expect(page.locator("#shortcuts-off")).to_be_checked()
    page.keyboard.press("?")  # "?" still shows the panel, to switch them on again
    page.locator("#shortcuts-off").uncheck()
    assert watch.problems() == []
