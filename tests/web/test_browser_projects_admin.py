"""Project administration in a real browser (Chromium through Playwright).

An admin starts from the projects index, creates a project from a shipped rubric, makes it
members only and adds one rater. That rater sees and rates it; another rater finds it
nowhere. Removing the member asks first, and then the project is gone for them too. The
admin pages fit a 390 px wide phone; with ``WORKBENCH_SCREENSHOTS=1`` they are saved as
``docs/projects-admin*.png``.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select

from tests.factories import PASSWORD, make_items, make_user
from tests.web.browser import VIEWPORT, PageWatch, log_in
from workbench.domain import Role
from workbench.models import Project

try:
    from playwright.sync_api import expect
except ImportError:  # the ``browser`` fixture reports it
    expect = None

DOCS = Path(__file__).resolve().parents[2] / "docs"
PHONE = {"width": 390, "height": 844}
NAME = "Closed study"


def _db(app):
    return app.extensions["workbench"].sessionmaker()


def _context(browser, live_server, viewport=VIEWPORT):
    context = browser.new_context(base_url=live_server.url, viewport=viewport)
    context.set_default_timeout(10_000)
    return context


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def test_admin_makes_a_members_only_project_that_only_its_member_sees(browser, page, watch, live_server, app):
    with _db(app) as session:
        admin = make_user(session, Role.ADMIN, email="ada@example.org")
        member = make_user(session, Role.RATER, email="mia@example.org")
        outsider = make_user(session, Role.RATER, email="otto@example.org")
        session.commit()
    screenshots = os.environ.get("WORKBENCH_SCREENSHOTS") == "1"

    # The admin, in a context of their own that accepts the confirmation dialogs.
    admin_watch = PageWatch(live_server.url)
    context = _context(browser, live_server)
    try:
        ada = admin_watch.attach(context.new_page())
        ada.remove_listener("dialog", admin_watch._on_dialog)
        asked: list[str] = []
        ada.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
        log_in(ada, live_server.url, admin.email, PASSWORD)
        ada.get_by_role("link", name="New project").click()
        ada.wait_for_url("**/admin/projects")
        form = ada.locator("#create-project")
        form.get_by_label("Name", exact=True).fill(NAME)
        form.get_by_label("Rubric").select_option("pairwise-helpful-harmless")
        form.get_by_label("Overlap").fill("2")
        form.get_by_label("Gold rate").fill("0")
        form.get_by_role("button", name="Create project").click()
        ada.wait_for_url("**/admin/projects/*")
        expect(ada.locator("#flash")).to_contain_text(f"Created project {NAME}.")
        with _db(app) as session:
            project = session.scalar(select(Project).where(Project.name == NAME))
            make_items(session, project, 3)
            session.commit()
        assert ada.url.endswith(f"/admin/projects/{project.id}")

        ada.get_by_label("Members only").check()
        ada.get_by_role("button", name="Save access").click()
        expect(ada.locator("#flash")).to_contain_text("Members only.")
        ada.get_by_label("Member e-mail").fill(member.email)
        ada.get_by_role("button", name="Add member").click()
        expect(ada.locator("#member-list")).to_contain_text(member.email)
        expect(ada.get_by_label("Members only")).to_be_checked()
        ada.wait_for_load_state("networkidle")
        if screenshots:
            ada.screenshot(path=str(DOCS / "projects-admin-project.png"), full_page=True)
            ada.goto(f"{live_server.url}/admin/projects")
            ada.screenshot(path=str(DOCS / "projects-admin.png"), full_page=True)

        # The member sees the project and gets an item.
        log_in(page, live_server.url, member.email, PASSWORD)
        expect(page.get_by_role("link", name=NAME)).to_be_visible()
        page.goto(f"{live_server.url}/projects/{project.id}/rate")
        expect(page.locator("#task")).to_be_visible()

        # The other rater finds it nowhere.
        other_watch = PageWatch(live_server.url)
        other_context = _context(browser, live_server)
        try:
            otto = other_watch.attach(other_context.new_page())
            log_in(otto, live_server.url, outsider.email, PASSWORD)
            expect(otto.locator("main")).not_to_contain_text(NAME)
            response = otto.goto(f"{live_server.url}/projects/{project.id}/rate")
            assert response.status == 404
            expect(otto.locator("main")).not_to_contain_text(NAME)
        finally:
            other_context.close()
        assert other_watch.problems(allow_status=((404, f"/projects/{project.id}/rate"),)) == []

        # Removing the member asks first; then the project is gone for them as well.
        ada.goto(f"{live_server.url}/admin/projects/{project.id}")
        ada.locator("#member-list").get_by_role("button", name="Remove").click()
        expect(ada.locator("#flash")).to_contain_text(f"Removed {member.email}.")
        assert asked == [f"Remove {member.email} from {NAME}?"]
        page.goto(f"{live_server.url}/")
        expect(page.locator("main")).not_to_contain_text(NAME)
        ada.wait_for_load_state("networkidle")
        assert admin_watch.problems() == []
    finally:
        context.close()
    page.wait_for_load_state("networkidle")
    assert watch.problems() == []


def test_admin_pages_fit_a_phone(browser, live_server, app):
    with _db(app) as session:
        admin = make_user(session, Role.ADMIN)
        session.commit()
    context = _context(browser, live_server, PHONE)
    try:
        phone = context.new_page()
        log_in(phone, live_server.url, admin.email, PASSWORD)
        phone.goto(f"{live_server.url}/admin/projects")
        phone.get_by_label("Name", exact=True).fill("Phone project")
        phone.get_by_role("button", name="Create project").click()
        phone.wait_for_url("**/admin/projects/*")
        _fits(phone, PHONE["width"])
        if os.environ.get("WORKBENCH_SCREENSHOTS") == "1":
            phone.screenshot(path=str(DOCS / "projects-admin-phone.png"), full_page=True)
        for path in ("/admin/projects", "/admin/rubrics/new", "/"):
            phone.goto(f"{live_server.url}{path}")
            _fits(phone, PHONE["width"])
    finally:
        context.close()
