"""A team runs a whole project from the browser.

On a fresh database whose only account is an admin made by ``workbench users create``,
everything else happens in Chromium: the admin creates a project from a shipped rubric,
uploads a bad item file (the line and field are shown, nothing is imported), then a good
one, and creates two raters and a researcher; each rater reads the instructions and rates
every item by keyboard; the researcher sees the agreement on the dashboard and downloads
the export zip; the admin deactivates a rater, whose open session ends at its next request.
"""

from __future__ import annotations

import json
import zipfile
from urllib.parse import urlsplit

import pytest

from tests.web.browser import VIEWPORT, log_in, serve
from workbench.cli import main

try:
    from playwright.sync_api import expect
except ImportError:  # the ``browser`` fixture reports it
    expect = None

ADMIN = ("admin@example.org", "the admin's long password")
PASSWORD = "a rater's long password"
RATERS = ("ada@example.org", "grace@example.org")
RESEARCHER = "rosalind@example.org"
PROMPTS = [f"Question {n}: how do tides work, in one sentence?" for n in range(6)]


def _items_file(bad: bool) -> bytes:
    rows = [
        {
            "id": f"tides-{n}",
            "prompt": prompt,
            "responses": [
                {"model": "model-x", "text": f"The moon's gravity pulls the oceans ({n})."},
                {"model": "model-y", "text": f"Wind makes the tides, mostly ({n})."},
            ],
        }
        for n, prompt in enumerate(PROMPTS)
    ]
    if bad:
        rows[2] = {"id": "tides-2", "responses": rows[2]["responses"]}  # line 3: no prompt
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


@pytest.fixture
def team_server(database_url, runner, monkeypatch, tmp_path):
    """A fresh database migrated and given one admin by the command line, served over HTTP."""
    from workbench.app import create_app

    monkeypatch.setenv("WORKBENCH_DATABASE_URL", database_url)
    monkeypatch.setenv("WORKBENCH_INSTANCE_PATH", str(tmp_path / "instance"))
    for args in (["db", "upgrade"], ["users", "create", ADMIN[0], "--role", "admin", "--password", ADMIN[1]]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
    app = create_app(
        {"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "team-secret"}
    )
    try:
        with serve(app) as server:
            yield server
    finally:
        app.extensions["workbench"].engine.dispose()


def _context(browser, server):
    context = browser.new_context(base_url=server.url, viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations of destructive actions
    return context, page


def _create_user(admin, email: str, role: str) -> str:
    admin.goto("/admin/users")
    form = admin.locator("#create-user")
    form.get_by_label("E-mail").fill(email)
    form.get_by_label("Name").fill(email.split("@")[0].title())
    form.get_by_label("Role").select_option(role)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Create user").click()
    admin.wait_for_url("**/admin/users/*")
    return urlsplit(admin.url).path


def _rate_everything(page, server, email: str, project_name: str) -> int:
    log_in(page, server.url, email, PASSWORD)
    page.get_by_role("row", name=project_name).get_by_role("link", name="Rate").click()
    page.get_by_role("button", name="Start rating").click()  # the instructions come first
    rated = 0
    while page.locator("#task form.judgment").count():
        before = page.locator("#task form.judgment input[name=lease_id]").input_value()
        page.locator("#task form.judgment").focus()
        for key in ("1", "1", "3"):  # helpful: A, strength 1; harmless: tie
            page.keyboard.press(key)
        with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/rate")) as posted:
            page.keyboard.press("Enter")
        assert posted.value.status == 200
        rated += 1
        page.wait_for_function(
            "before => { const i = document.querySelector('#task form.judgment input[name=lease_id]');"
            " return !i || i.value !== before; }",
            arg=before,
        )
        assert rated <= len(PROMPTS), "served more items than there are"
    return rated


def test_a_team_runs_a_project_from_the_browser(browser, team_server):
    server = team_server
    admin_context, admin = _context(browser, server)
    log_in(admin, server.url, *ADMIN)

    # A project from a shipped rubric, reached by links from the front page.
    admin.goto("/")
    admin.get_by_role("link", name="New project").click()
    form = admin.locator("#create-project")
    form.get_by_label("Name").fill("Tides")
    form.get_by_label("Rubric").select_option("pairwise-helpful-harmless")
    form.get_by_label("Overlap").fill("2")
    form.get_by_role("button", name="Create project").click()
    admin.wait_for_url("**/admin/projects/*")
    expect(admin.get_by_role("heading", level=1)).to_contain_text("Tides")

    # A bad file: the line and field are named, nothing is imported.
    admin.get_by_role("link", name="Upload items").click()
    upload = admin.locator("#upload-items")
    upload.get_by_label("Items file").set_input_files(
        {"name": "items.jsonl", "mimeType": "application/x-ndjson", "buffer": _items_file(bad=True)}
    )
    upload.get_by_role("button", name="Upload items").click()
    result = admin.locator(".upload-result")
    expect(result).to_contain_text("nothing was imported")
    problems = result.locator("ul.problems li")
    expect(problems).to_have_count(1)
    expect(problems).to_contain_text("line 3")
    expect(problems).to_contain_text("prompt")
    uploads_url = admin.url
    admin.goto(uploads_url.replace("/uploads", "/items"))
    expect(admin.get_by_text("No items match.")).to_be_visible()

    # The good file.
    admin.goto(uploads_url)
    upload = admin.locator("#upload-items")
    upload.get_by_label("Items file").set_input_files(
        {"name": "items.jsonl", "mimeType": "application/x-ndjson", "buffer": _items_file(bad=False)}
    )
    upload.get_by_role("button", name="Upload items").click()
    expect(admin.locator(".upload-result")).to_contain_text("imported 6")
    admin.goto(uploads_url.replace("/uploads", "/items"))
    expect(admin.locator("#item-list")).to_contain_text("tides-5")

    # Two raters and a researcher, with passwords.
    rater_pages = {email: _create_user(admin, email, "rater") for email in RATERS}
    _create_user(admin, RESEARCHER, "researcher")

    # Each rater rates every item by keyboard.
    rater_sessions = {}
    for email in RATERS:
        context, page = _context(browser, server)
        assert _rate_everything(page, server, email, "Tides") == len(PROMPTS)
        rater_sessions[email] = (context, page)

    # The researcher sees agreement and downloads the export.
    context, researcher = _context(browser, server)
    log_in(researcher, server.url, RESEARCHER, PASSWORD)
    researcher.get_by_role("link", name="Tides").first.click()
    agreement = researcher.locator("#agreement")
    expect(agreement).to_be_visible()
    expect(agreement).to_contain_text("Helpful")
    researcher.get_by_role("link", name="Export").first.click()
    with researcher.expect_download() as download:
        researcher.locator("#export-form").get_by_role("button", name="Download", exact=False).click()
    with zipfile.ZipFile(download.value.path()) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read(next(n for n in names if n.endswith("manifest.json"))))
    assert any(n.endswith(".jsonl") or n.endswith(".parquet") for n in names), names
    assert manifest
    context.close()

    # The admin deactivates the first rater, whose open session ends.
    gone_email = RATERS[0]
    admin.goto(rater_pages[gone_email])
    admin.get_by_role("button", name="Deactivate").click()
    expect(admin.get_by_role("button", name="Reactivate")).to_be_visible()
    _, gone = rater_sessions[gone_email]
    gone.goto("/")
    assert urlsplit(gone.url).path == "/login", gone.url
    _, kept = rater_sessions[RATERS[1]]
    kept.goto("/")
    assert urlsplit(kept.url).path != "/login"
    for context, _ in rater_sessions.values():
        context.close()
    admin_context.close()
