"""An admin runs accounts from the browser: creates a user with an invitation link, the new
user chooses a password through it and logs in, then the admin deactivates them and the page
they have open sends them to the login on its next request. Both pages fit a 390 px screen.

``WORKBENCH_SCREENSHOTS=1`` also saves ``docs/admin-users.png``, ``docs/admin-user.png``
(1280 wide) and ``docs/admin-users-phone.png``, ``docs/admin-user-phone.png`` (390 wide).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from tests.web.browser import VIEWPORT, PageWatch, log_in
from workbench.services.users import create_user, get_user_by_email

try:
    from playwright.sync_api import expect
except ImportError:  # the ``browser`` fixture reports it
    expect = None

ADMIN, ADMIN_PASSWORD = "boss@example.org", "the admin password"
NEWCOMER, NEW_PASSWORD = "newcomer@example.org", "my own new password"
DOCS = Path(__file__).resolve().parents[2] / "docs"
PHONE = {"width": 390, "height": 844}


class AcceptingWatch(PageWatch):
    """A page watch that accepts confirmation dialogs (and keeps their messages) instead of
    counting them as problems."""

    def __init__(self, origin: str):
        super().__init__(origin)
        self.confirmed: list[str] = []

    def _on_dialog(self, dialog) -> None:
        self.confirmed.append(dialog.message)
        dialog.accept()


def _screenshot(page, name: str) -> None:
    if os.environ.get("WORKBENCH_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / name), full_page=True)


def _fits_a_phone(page, name: str) -> None:
    page.set_viewport_size(PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide at 390"
    _screenshot(page, name)
    page.set_viewport_size(VIEWPORT)


def test_browser_admin_invites_a_user_then_deactivates_them(browser, live_server, app):
    with app.extensions["workbench"].sessionmaker() as session:
        create_user(session, ADMIN, "admin", ADMIN_PASSWORD, name="Boss")
        create_user(session, "someone.with.a.rather.long.address@example.org", "researcher", None, name="Long")
        session.commit()
    admin_watch, user_watch = AcceptingWatch(live_server.url), PageWatch(live_server.url)
    admin_context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
    user_context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
    try:
        admin = admin_watch.attach(admin_context.new_page())
        theirs = user_watch.attach(user_context.new_page())
        for page in (admin, theirs):
            page.set_default_timeout(10_000)

        # The admin reaches the users page from the top bar and creates a user without a password.
        log_in(admin, live_server.url, ADMIN, ADMIN_PASSWORD)
        admin.get_by_role("link", name="Users", exact=True).click()
        expect(admin).to_have_url(re.compile(r"/admin/users$"))
        form = admin.locator("#create-user")
        form.get_by_label("E-mail").fill(NEWCOMER)
        form.get_by_label("Name").fill("New <b>Comer</b>")
        form.get_by_label("Role").select_option("rater")
        expect(form.get_by_label("Password")).to_have_value("")
        form.get_by_role("button", name="Create user").click()
        expect(admin).to_have_url(re.compile(r"/admin/users/\d+$"))
        link = admin.locator("#one-time-link").inner_text()
        assert link.startswith(live_server.url + "/links/")
        expect(admin.get_by_role("heading", level=1)).to_have_text("New <b>Comer</b>")
        _screenshot(admin, "admin-user.png")
        admin.reload()
        expect(admin.locator("#one-time-link")).to_have_count(0)  # shown once
        admin.get_by_label("Token name").fill("their script")
        admin.get_by_role("button", name="Create token").click()
        expect(admin.locator("#new-token")).to_contain_text("wb_")
        expect(admin.locator("#token-list")).to_contain_text("their script")
        _fits_a_phone(admin, "admin-user-phone.png")
        admin.get_by_role("link", name="← All users").click()
        expect(admin.locator("#user-list")).to_contain_text(NEWCOMER)
        expect(admin.locator("#user-list")).to_contain_text("invited")
        _screenshot(admin, "admin-users.png")
        _fits_a_phone(admin, "admin-users-phone.png")

        # The newcomer opens the link, chooses a password and logs in with it.
        theirs.goto(link)
        theirs.get_by_label("New password").fill(NEW_PASSWORD)
        theirs.get_by_label("Repeat password").fill(NEW_PASSWORD)
        theirs.get_by_role("button", name="Set password").click()
        expect(theirs).to_have_url(re.compile(r"/login\?password_set=1$"))
        expect(theirs.get_by_role("status").filter(has_text="password is set")).to_be_visible()
        log_in(theirs, live_server.url, NEWCOMER, NEW_PASSWORD, path="/login?next=/account")
        expect(theirs).to_have_url(re.compile(r"/account$"))
        theirs.goto(link)
        expect(theirs.get_by_text("not valid any more")).to_be_visible()
        theirs.goto(live_server("/account"))

        # The admin deactivates them (after confirming); their open page's next request logs them out.
        admin.get_by_role("link", name=NEWCOMER).click()
        admin.get_by_role("button", name="Deactivate").click()
        expect(admin.locator("dl.facts")).to_contain_text("deactivated")
        assert admin_watch.confirmed and NEWCOMER in admin_watch.confirmed[0]
        expect(admin.get_by_role("button", name="Reactivate")).to_be_visible()
        expect(admin.locator("header.topbar")).to_have_count(1)  # one whole page, not a page in a page
        expect(admin.locator("header.topbar")).to_contain_text("Log out")
        expect(admin).to_have_title(f"{NEWCOMER} · workbench")

        theirs.get_by_role("link", name="Rubrics").click()
        expect(theirs).to_have_url(re.compile(r"/login\?next="))
        assert urlsplit(theirs.url).path == "/login"
        with app.extensions["workbench"].sessionmaker() as session:
            assert not get_user_by_email(session, NEWCOMER).active

        assert admin_watch.problems() == []
        assert user_watch.problems(allow_status=((404, urlsplit(link).path),)) == []
    finally:
        admin_context.close()
        user_context.close()
