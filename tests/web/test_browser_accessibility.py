"""Accessibility and phone widths of every page, found by crawling, in Chromium.

For each role of the demo, a crawler logs in and follows the same-origin links from ``/``
(one URL per route: the endpoint that serves it, whatever ids or query), skipping logout,
downloads, the JSON API and static files, so a page added later is covered as soon as a
link leads to it. Every page it reaches must:

- have no axe-core violation of WCAG 2.1 A and AA (axe 4.10.3, vendored in ``vendor/``);
- answer below 400 (a link that leads a role to a refusal is a defect too);
- fit a 390 × 844 phone screen: ``document.documentElement.scrollWidth <= 390``.

The rating page is also checked in the states a crawler does not reach: after answering,
with every panel open, after a failed submit and at 200% zoom. ``bypass_csp`` lets the test
inject axe into pages whose CSP allows only the app's own scripts.
"""

from __future__ import annotations

import re
from collections import deque
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.exceptions import HTTPException

from tests.web.browser import log_in
from workbench.services.demo import DEMO_PASSWORD, PAIRWISE_PROJECT

AXE = (Path(__file__).resolve().parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
ROLES = {
    "rater": "rater@example.org",
    "author": "author@example.org",
    "researcher": "researcher@example.org",
    "admin": "admin@example.org",
}
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
MAX_PAGES_PER_ROLE = 60
SKIP_PATH = re.compile(r"^/(static|api)/|^/logout$|/download$|\.(zip|jsonl|parquet|csv|json)$")

RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""
LINKS = """() => Array.from(document.querySelectorAll('a[href]'))
  .filter(a => !a.hasAttribute('download')).map(a => a.href)"""
WIDTH = "() => document.documentElement.scrollWidth"


def route_of(app):
    """One crawl per route: a URL's pattern is the endpoint that serves it (ids, slugs and
    query values folded), so a list of fifty items costs one visit."""
    adapter = app.url_map.bind("localhost")

    def pattern(url: str) -> str:
        try:
            endpoint, _ = adapter.match(urlsplit(url).path, method="GET")
        except HTTPException:
            return urlsplit(url).path
        return endpoint

    return pattern


def settle(page) -> None:
    """The page is loaded and htmx has no request in flight (panels that load themselves)."""
    page.wait_for_load_state("load")
    page.wait_for_function("!document.querySelector('.htmx-request')")


def axe_violations(page) -> list[str]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE)
    return [f"{v['id']} ({v['impact']}): {v['help']} at {v['targets']}" for v in page.evaluate(RUN_AXE, AXE_TAGS)]


def crawl(page, origin: str, pattern) -> tuple[list[str], list[str]]:
    """Visit every route reachable from ``/``; return (the URLs visited, the problems found)."""
    queue, seen, visited, problems = deque([origin + "/"]), set(), [], []
    while queue and len(visited) < MAX_PAGES_PER_ROLE:
        url = queue.popleft()
        key = pattern(url)
        if key in seen:
            continue
        seen.add(key)
        response = page.goto(url)
        settle(page)
        visited.append(url)
        if response is None or response.status >= 400:
            problems.append(f"{url}: HTTP {response.status if response else 'none'}")
            continue
        problems += [f"{url}: {v}" for v in axe_violations(page)]
        # The same page on a phone: the viewport narrows, the page reflows, no second load.
        page.set_viewport_size(PHONE)
        width = page.evaluate(WIDTH)
        if width > PHONE["width"]:
            problems.append(f"{url}: {width} px wide on a {PHONE['width']} px phone")
        page.set_viewport_size(DESKTOP)
        for link in page.evaluate(LINKS):
            link = link.split("#")[0]
            parts = urlsplit(link)
            if link.startswith(origin) and not SKIP_PATH.search(parts.path) and pattern(link) not in seen:
                queue.append(link)
    return visited, problems


@pytest.mark.rater_instructions  # the instructions step is a page too
def test_every_page_of_every_role_passes_axe_and_fits_a_phone(browser, live_server, demo, app):
    pattern = route_of(app)
    visited_by_role: dict[str, list[str]] = {}
    problems: list[str] = []
    for role, email in ROLES.items():
        context = browser.new_context(base_url=live_server.url, viewport=DESKTOP, bypass_csp=True)
        context.set_default_timeout(15_000)
        try:
            page = context.new_page()
            log_in(page, live_server.url, email, DEMO_PASSWORD)
            visited, found = crawl(page, live_server.url, pattern)
            visited_by_role[role] = visited
            problems += [f"[{role}] {p}" for p in found]
        finally:
            context.close()
    # The crawl must actually reach the pages it is meant to check.
    reached = {role: {pattern(u) for u in urls} for role, urls in visited_by_role.items()}
    assert {"judge.show_task", "quality.show_feedback", "stats.show_my_quality"} <= reached["rater"], reached
    assert {"projects.show_dashboard", "quality.show_disagreements", "quality.show_case"} <= reached["researcher"]
    assert {"exports.show_export", "stats.show_leaderboard"} <= reached["researcher"]
    assert {"rubrics.edit_draft", "rubrics.show_diff"} <= reached["author"]
    assert problems == []


# -- the rating page in the states a crawler does not reach ------------------------------------


def _rating_page(browser, live_server, viewport, **options):
    context = browser.new_context(base_url=live_server.url, viewport=viewport, bypass_csp=True, **options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, live_server.url, ROLES["rater"], DEMO_PASSWORD)
    page.get_by_role("row").filter(has_text=PAIRWISE_PROJECT).get_by_role("link", name="Rate", exact=True).click()
    page.locator("#task form.judgment").wait_for()
    return context, page


def _open_panels(page) -> None:
    page.locator("#task details.guidelines summary").click()
    for summary in page.locator("#task details.help summary").all():
        summary.click()
    page.locator("#task details.diff summary").click()
    page.locator("#task .diff-text").wait_for()
    page.locator("#task details.skip summary").click()
    page.locator("#task").focus()
    page.keyboard.press("?")


CONTRAST = """(selector) => {
  const lum = (rgb) => {
    const [r, g, b] = rgb.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number).map(c => {
      c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  return Array.from(document.querySelectorAll(selector)).map(el => {
    let bg = el, color = 'rgba(0, 0, 0, 0)';
    while (bg && (color = getComputedStyle(bg).backgroundColor) === 'rgba(0, 0, 0, 0)') { bg = bg.parentElement; }
    const a = lum(getComputedStyle(el).color), b = lum(color);
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  });
}"""


def test_the_rating_page_passes_axe_in_every_state(browser, live_server, demo, app):
    context, page = _rating_page(browser, live_server, DESKTOP)
    try:
        problems = [f"fresh: {v}" for v in axe_violations(page)]
        page.keyboard.press("3")  # helpful: a tie switches the strength row off
        ratios = page.evaluate(CONTRAST, '.options.strength[aria-disabled="true"] label.opt')
        assert ratios and min(ratios) >= 4.5, ratios  # readable although switched off
        problems += [f"answered: {v}" for v in axe_violations(page)]
        page.keyboard.press("Enter")  # harmless unanswered: refused, shown inline
        page.locator("#q-harmless.invalid").wait_for()
        problems += [f"failed submit: {v}" for v in axe_violations(page)]
        _open_panels(page)
        problems += [f"panels open: {v}" for v in axe_violations(page)]
        assert problems == []
    finally:
        context.close()


FOCUS_RING = """() => {
  const label = document.activeElement.closest('label.opt');
  const style = label && getComputedStyle(label);
  return style ? [style.outlineStyle, parseFloat(style.outlineWidth)] : null;
}"""


def test_the_focused_option_shows_a_focus_ring(browser, live_server, demo, app):
    context, page = _rating_page(browser, live_server, DESKTOP)
    try:
        page.locator('input[name="q.helpful.choice"]').first.focus()
        page.keyboard.press("Tab")  # a keyboard focus, so :focus-visible applies
        page.keyboard.press("Shift+Tab")
        style, width = page.evaluate(FOCUS_RING)
        assert style != "none" and width >= 2
    finally:
        context.close()


def test_the_rubric_editor_with_errors_passes_axe(browser, live_server, app):
    from tests.factories import PASSWORD, load_shipped_rubric, make_user
    from workbench.domain import Role

    with app.extensions["workbench"].sessionmaker() as session:
        load_shipped_rubric(session, "safety")
        email = make_user(session, Role.AUTHOR).email
        session.commit()
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP, bypass_csp=True)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        log_in(page, live_server.url, email, PASSWORD)
        page.goto(live_server("/rubrics/safety/edit"))
        page.get_by_role("button", name="Start a draft").click()
        page.locator("#question-0").fill("id: broken\ntype: nonsense")
        page.get_by_role("button", name="Save draft").click()
        page.locator("#qbox-0 .field-errors li").first.wait_for()
        assert axe_violations(page) == []
    finally:
        context.close()


def test_the_rating_page_at_200_percent_zoom(browser, live_server, demo, app):
    # 200% zoom of a 1280 × 900 window: half the CSS pixels, each drawn twice as large.
    zoomed = {"width": DESKTOP["width"] // 2, "height": DESKTOP["height"] // 2}
    context, page = _rating_page(browser, live_server, zoomed, device_scale_factor=2)
    try:
        page.locator("#task").focus()
        page.keyboard.press("?")
        panel = page.locator("#shortcuts")
        box = panel.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= zoomed["height"], box
        assert box["x"] >= 0 and box["x"] + box["width"] <= zoomed["width"], box
        # Every row of the panel can be reached: it scrolls inside itself when it is taller.
        last = page.locator("#shortcuts-off")
        last.scroll_into_view_if_needed()
        assert last.is_visible()
        assert page.evaluate(WIDTH) <= zoomed["width"]
        assert axe_violations(page) == []
    finally:
        context.close()
