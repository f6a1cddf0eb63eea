"""Uploads and the item browser in a real browser: a researcher uploads a file with bad rows
(every bad line and field shown, nothing imported), then a good file with a drag and drop,
browses and filters the items, opens one, and resolves a rater's report from the queue.

``WORKBENCH_SCREENSHOTS=1`` also saves ``docs/uploads.png``, ``docs/items.png``,
``docs/item.png`` and ``docs/flags.png`` at 1280 px, and ``docs/items-phone.png`` at 390 px.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy import func, select

from tests.factories import make_project, make_rater
from tests.services.test_item_browser import flag
from tests.web.browser import log_in
from workbench.models import Item
from workbench.services.users import create_user

try:
    from playwright.sync_api import expect
except ImportError:  # the ``browser`` fixture reports it
    expect = None

PASSWORD = "a long enough password"
DOCS = Path(__file__).resolve().parents[2] / "docs"


def _db(app):
    return app.extensions["workbench"].sessionmaker()


def _row(n: int, **over) -> str:
    row = {
        "id": f"trip-{n}",
        "prompt": f"Plan a {n}-day trip to Lisbon.",
        "responses": [
            {"id": "a", "model": "model-large", "text": f"Day 1: Alfama. ({n})"},
            {"id": "b", "model": "model-small", "text": "Go to Lisbon."},
        ],
    }
    row.update(over)
    return json.dumps(row) + "\n"


def _save(page, name: str) -> None:
    if os.environ.get("WORKBENCH_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / name), full_page=True)


def _count(app, project_id: int) -> int:
    with _db(app) as session:
        return session.scalar(select(func.count()).select_from(Item).where(Item.project_id == project_id))


def test_browser_upload_browse_and_resolve(page, watch, live_server, app, tmp_path):
    with _db(app) as session:
        project = make_project(session, overlap_k=2, name="Lisbon trips")
        project_id = project.id
        create_user(session, "lead@example.org", "researcher", PASSWORD, name="Lead Researcher")
        session.commit()
    bad = tmp_path / "items.jsonl"
    bad.write_text(_row(1) + _row(2, prompt=42) + _row(3, responses=[{"text": "only one"}]) + "{oops\n")
    good = tmp_path / "good-items.jsonl"
    good.write_text("".join(_row(n) for n in range(1, 8)))

    # From the dashboard to the uploads page.
    log_in(page, live_server.url, "lead@example.org", PASSWORD, path=f"/projects/{project_id}")
    page.get_by_role("link", name="Uploads").click()
    page.wait_for_url(f"**/projects/{project_id}/uploads")

    # A bad file: every bad line and field, nothing imported.
    form = page.locator("#upload-items")
    form.get_by_label("Items file").set_input_files(str(bad))
    form.get_by_role("button", name="Upload items").click()
    result = page.locator(".upload-result")
    expect(result).to_contain_text("nothing was imported")
    expect(result).to_contain_text("line 2: prompt:")
    expect(result).to_contain_text("line 3: responses:")
    expect(result).to_contain_text("line 4: not valid JSON")
    expect(page.locator("#upload-progress")).to_have_attribute("value", "100")
    assert _count(app, project_id) == 0
    _save(page, "uploads.png")

    # A good file, dropped on the drop zone.
    drop = form.locator("[data-drop]")
    transfer = page.evaluate_handle(
        """([name, text]) => {
            const data = new DataTransfer();
            data.items.add(new File([text], name, {type: "application/x-ndjson"}));
            return data;
        }""",
        [good.name, good.read_text()],
    )
    drop.dispatch_event("drop", {"dataTransfer": transfer})
    expect(drop).to_contain_text("good-items.jsonl")
    form.get_by_role("button", name="Upload items").click()
    expect(result).to_contain_text("Imported 7 items; 0 already present")
    assert _count(app, project_id) == 7

    # A rater reports one of the new items.
    with _db(app) as session:
        rater = make_rater(session)
        reported = session.scalar(select(Item).where(Item.external_id == "trip-3"))
        flag(session, session.merge(project), reported, rater, "broken", "Response B says almost nothing")
        session.commit()

    # Browse: search, filter by model and status, then open an item.
    result.get_by_role("link", name="Browse the items").click()
    page.wait_for_url(f"**/projects/{project_id}/items")
    rows = page.locator("#item-list tbody tr")
    expect(rows).to_have_count(7)
    page.get_by_label("Search").fill("5-day")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("trip-5")
    assert "q=5-day" in page.url  # the filter is in the address, so a reload keeps it
    page.get_by_label("Search").fill("")
    page.get_by_label("Model").select_option("model-small")
    page.get_by_label("Status").select_option("flagged")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("trip-3")
    _save(page, "items.png")
    rows.first.get_by_role("link", name="trip-3").click()
    page.wait_for_url(f"**/projects/{project_id}/items/*")
    expect(page.locator("h1")).to_contain_text("trip-3")
    expect(page.locator("#item-detail")).to_contain_text("Response B says almost nothing")
    _save(page, "item.png")

    # The reports queue: the reason, then Resolve.
    page.get_by_role("link", name="Reports").click()
    page.wait_for_url(f"**/projects/{project_id}/flags")
    queue = page.locator("#flag-queue")
    expect(queue).to_contain_text("Response B says almost nothing")
    _save(page, "flags.png")
    queue.get_by_role("button", name="Resolve").click()
    expect(queue).to_contain_text("No open skips or reports")

    # On a phone the item list scrolls inside its box; the page is no wider than the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server(f"/projects/{project_id}/items"))
    expect(page.locator("#item-list tbody tr")).to_have_count(7)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _save(page, "items-phone.png")
    page.goto(live_server(f"/projects/{project_id}/uploads"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.wait_for_load_state("networkidle")
    assert watch.problems(allow_status=((422, f"/projects/{project_id}/uploads/items"),)) == []


def test_browser_upload_without_javascript(browser, live_server, app, tmp_path):
    """The plain form: a multipart POST answered with the whole page, result included."""
    with _db(app) as session:
        project_id = make_project(session, overlap_k=2, name="No script").id
        create_user(session, "lead@example.org", "researcher", PASSWORD, name="Lead Researcher")
        session.commit()
    bad = tmp_path / "items.csv"
    bad.write_text("id,prompt,response_1,response_2\nc1,First?,One,Two\nc2,,One,Two\n")
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        log_in(page, live_server.url, "lead@example.org", PASSWORD, path=f"/projects/{project_id}/uploads")
        form = page.locator("#upload-items")
        form.get_by_label("Items file").set_input_files(str(bad))
        with page.expect_navigation() as navigation:
            form.get_by_role("button", name="Upload items").click()
        assert navigation.value.status == 422
        expect(page.locator(".upload-result")).to_contain_text("line 3: ")
        expect(page.locator(".upload-result")).to_contain_text("nothing was imported")
        assert _count(app, project_id) == 0
        form = page.locator("#upload-items")
        form.get_by_label("Items file").set_input_files(str(bad))
        form.get_by_label("Import the good rows").check()
        with page.expect_navigation():
            form.get_by_role("button", name="Upload items").click()
        expect(page.locator(".upload-result")).to_contain_text("Imported 1 item;")
        assert _count(app, project_id) == 1
    finally:
        context.close()
