"""Tour defects that are behaviour, checked in Chromium: publishing from the editor lands on a
whole page (top bar, navigation, title), retiring and discarding ask first, and the focus
stays on the editor's message after a save."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories import PASSWORD, make_user
from tests.web.browser import VIEWPORT, log_in
from workbench.domain import Role, VersionStatus
from workbench.models import RubricVersion
from workbench.paths import resource_dir
from workbench.rubric import load_rubric_file
from workbench.services.rubrics import load_rubric

try:
    from playwright.sync_api import expect
except ImportError:  # the ``browser`` fixture reports it
    expect = None

SLUG = "safety"


def _author(app) -> str:
    with app.extensions["workbench"].sessionmaker() as session:
        load_rubric(session, load_rubric_file(resource_dir("rubrics") / f"{SLUG}.yaml"))
        author = make_user(session, Role.AUTHOR)
        session.commit()
        return author.email


def _statuses(app) -> list[str]:
    with app.extensions["workbench"].sessionmaker() as session:
        rows = session.scalars(select(RubricVersion).order_by(RubricVersion.number))
        return [v.status.value for v in rows]


def test_browser_editor_saves_keep_focus_and_publish_lands_on_a_whole_page(page, watch, live_server, app):
    log_in(page, live_server.url, _author(app), PASSWORD)
    page.goto(f"{live_server.url}/rubrics/{SLUG}/edit")
    page.get_by_role("button", name="Start a draft").click()
    page.wait_for_url(f"**/rubrics/{SLUG}/edit")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#editor .notice")).to_have_text("Draft saved.")
    expect(page.locator("#editor .notice")).to_be_focused()  # not lost to the top of the page

    guidelines = page.locator("textarea[name=guidelines]")
    guidelines.fill(guidelines.input_value() + "\n\nRead the whole response first.")
    page.locator("input[name=changelog]").fill("Read the whole response first")
    page.get_by_role("button", name="Publish as v2").click()
    page.wait_for_url(f"**/rubrics/{SLUG}?**")
    expect(page.locator(".topbar")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.locator("#rubric .notice")).to_contain_text("Published v2")
    assert not page.title().startswith("Edit")
    assert _statuses(app) == [VersionStatus.PUBLISHED.value] * 2
    assert watch.problems() == []


def test_browser_retire_and_discard_ask_first(browser, live_server, app):
    # A page of its own: the shared page's watcher dismisses every dialog.
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    try:
        _retire_and_discard(context.new_page(), live_server, app)
    finally:
        context.close()


def _retire_and_discard(page, live_server, app):
    log_in(page, live_server.url, _author(app), PASSWORD)
    answers = []

    def answer(dialog):
        answers.append(dialog.message)
        dialog.accept() if len(answers) > 1 else dialog.dismiss()

    page.on("dialog", answer)
    page.goto(f"{live_server.url}/rubrics/{SLUG}")
    page.get_by_role("button", name="retire v1").click()  # dismissed: nothing happens
    page.wait_for_timeout(300)
    assert _statuses(app) == ["published"]
    page.get_by_role("button", name="retire v1").click()  # accepted
    expect(page.locator("#rubric .notice")).to_contain_text("Retired v1")
    assert _statuses(app) == ["retired"]
    assert [a.split("?")[0] for a in answers] == ["Retire v1", "Retire v1"]

    answers.clear()
    page.goto(f"{live_server.url}/rubrics/{SLUG}/edit")
    page.get_by_role("button", name="Start a draft").click()
    page.wait_for_url(f"**/rubrics/{SLUG}/edit")
    page.get_by_role("button", name="Discard the draft").click()  # dismissed
    page.wait_for_timeout(300)
    assert _statuses(app) == ["retired", "draft"]
    page.get_by_role("button", name="Discard the draft").click()  # accepted
    expect(page.locator("#rubric .notice")).to_contain_text("Draft discarded")
    assert _statuses(app) == ["retired"]
    assert answers[0].startswith("Discard draft v2?")
