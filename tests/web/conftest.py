"""Browser fixtures: ``live_server`` (the app over real HTTP), ``demo`` (the demo data),
``browser`` (Debian's Chromium, one per test module), ``page`` (a fresh context per test,
1280×900) and ``watch`` (a ``PageWatch`` attached to ``page``, collecting console errors,
dialogs, failed requests and requests to other origins).

Tests that need them skip when Chromium or Playwright is missing, or fail under
``WORKBENCH_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import pytest

from tests.conftest import service_missing
from tests.web.browser import VIEWPORT, PageWatch, launch_chromium, seed_demo_data, serve


@pytest.fixture
def live_server(app):
    with serve(app) as server:
        yield server


@pytest.fixture
def demo(app):
    """The demo users and projects, seeded once into the test database."""
    return seed_demo_data(app)


@pytest.fixture(scope="module")
def browser():
    with launch_chromium(service_missing) as browser:
        yield browser


@pytest.fixture
def watch(live_server) -> PageWatch:
    return PageWatch(live_server.url)


@pytest.fixture
def page(browser, live_server, watch):
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    try:
        page = watch.attach(context.new_page())
        yield page
    finally:
        context.close()
