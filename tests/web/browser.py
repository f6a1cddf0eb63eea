"""Helpers for the browser tests: a real HTTP server for the app, Chromium, and a page watcher.

Not a test module. The fixtures that use these live in ``tests/web/conftest.py``.

Chromium is Debian's ``/usr/bin/chromium``, always given as the executable path, so
Playwright never looks for (or downloads) a browser of its own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

if TYPE_CHECKING:  # pragma: no cover
    from playwright.sync_api import Browser, ConsoleMessage, Frame, Page, Response

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update"]
CHROMIUM_HOW = "apt-get install chromium (and pip install -e '.[test]' for playwright)"
VIEWPORT = {"width": 1280, "height": 900}
HOST = "127.0.0.1"


# -- the server ------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveServer:
    app: Flask
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __call__(self, path: str = "/") -> str:
        return self.url + path


_BODY_KEY = "workbench.tests.response_body"


class _ClosableBody:
    """A response body whose ``close()`` runs once, however often it is called."""

    def __init__(self, body: Any) -> None:
        self._body = body
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if hasattr(self._body, "close"):
                self._body.close()


def _remember_body(app: Flask) -> Callable[..., Any]:
    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> _ClosableBody:
        body = environ[_BODY_KEY] = _ClosableBody(app(environ, start_response))
        return body

    return wsgi


class _ClosingHandler(WSGIRequestHandler):
    """Closes every response, also when the browser drops the connection.

    Werkzeug reads what is left of the request before it closes the response; when the
    browser has already gone (a page navigated away while its favicon loaded), that read
    raises and the response, an open static file, is left to the garbage collector.
    """

    def run_wsgi(self) -> None:
        try:
            super().run_wsgi()
        finally:
            body = getattr(self, "environ", {}).get(_BODY_KEY)
            if body is not None:
                body.close()


@contextmanager
def serve(app: Flask) -> Iterator[LiveServer]:
    """Serve ``app`` on 127.0.0.1 on a free port from a background thread; stop and close it after."""
    server = make_server(HOST, 0, _remember_body(app), threaded=True, request_handler=_ClosingHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server", daemon=True
    )
    thread.start()
    try:
        yield LiveServer(app, HOST, server.server_port)
    finally:
        server.shutdown()
        server.server_close()  # joins the request threads and closes the listening socket
        thread.join(timeout=10)


def seed_demo_data(app: Flask):
    """The demo users, rubrics and projects (``workbench.services.demo.seed_demo``), committed."""
    from workbench.paths import DEMO_DIR, resource_dir
    from workbench.services.demo import seed_demo

    with app.extensions["workbench"].sessionmaker() as session:
        seed = seed_demo(session, resource_dir("rubrics"), DEMO_DIR)
        session.commit()
    return seed


# -- the browser -----------------------------------------------------------------------


@contextmanager
def launch_chromium(service_missing: Callable[[str, str], None]) -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright; skips (or fails under REQUIRE_SERVICES) without them."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_missing("Chromium", CHROMIUM_HOW)
        raise  # not reached: service_missing skips or fails
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        service_missing("Chromium", CHROMIUM_HOW)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# -- watching a page -------------------------------------------------------------------


@dataclass
class PageWatch:
    """Everything suspicious a page did: console errors, uncaught exceptions, dialogs,
    failed or >= 400 requests, and requests to anything but the app's own origin."""

    origin: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    bad_responses: list[tuple[int, str, str]] = field(default_factory=list)  # (status, method, url)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, url)
    navigations: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> Page:
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on("dialog", self._on_dialog)
        page.on("request", lambda r: self.requests.append((r.method, r.url)))
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)
        page.on("framenavigated", self._on_navigated)
        return page

    def _on_request_failed(self, request) -> None:
        # ERR_ABORTED is the browser cancelling a pending load (e.g. the favicon) because
        # the page navigated on; a real server failure shows up as a >= 400 response.
        if request.failure != "net::ERR_ABORTED":
            self.failed_requests.append(f"{request.method} {request.url}: {request.failure}")

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            location = message.location.get("url", "") if message.location else ""
            self.console_errors.append(f"{message.text} [{location}]")

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _on_navigated(self, frame: Frame) -> None:
        if frame.parent_frame is None:
            self.navigations.append(frame.url)

    def _on_response(self, response: Response) -> None:
        if response.status >= 400:
            self.bad_responses.append((response.status, response.request.method, response.url))

    def foreign_requests(self) -> list[str]:
        """Requests that did not go to the app's origin (scheme, host and port)."""
        own = urlsplit(self.origin)
        out = []
        for method, url in self.requests:
            parts = urlsplit(url)
            if (parts.scheme, parts.hostname, parts.port) != (own.scheme, own.hostname, own.port):
                out.append(f"{method} {url}")
        return out

    def problems(self, allow_status: tuple[tuple[int, str], ...] = ()) -> list[str]:
        """All problems, except responses whose (status, path) is in ``allow_status`` and the
        console line Chromium prints for each of them ("Failed to load resource ... 422")."""
        allowed_urls = set()
        out = []
        for status, method, url in self.bad_responses:
            if (status, urlsplit(url).path) in allow_status:
                allowed_urls.add(url)
            else:
                out.append(f"HTTP {status} for {method} {url}")
        for line in self.console_errors:
            if line.startswith("Failed to load resource") and any(line.endswith(f"[{u}]") for u in allowed_urls):
                continue
            out.append(f"console error: {line}")
        out += [f"uncaught exception: {e}" for e in self.page_errors]
        out += [f"dialog: {d}" for d in self.dialogs]
        out += [f"request failed: {r}" for r in self.failed_requests]
        out += [f"foreign request: {r}" for r in self.foreign_requests()]
        return out


# -- small page actions ----------------------------------------------------------------


def log_in(page: Page, base_url: str, email: str, password: str, path: str = "/login") -> None:
    """Fill in and send the login form (typing and Enter, no clicks)."""
    page.goto(base_url + path)
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    with page.expect_navigation():
        page.locator("input[name=password]").press("Enter")
    assert "/login" not in urlsplit(page.url).path, f"login as {email} failed: still on {page.url}"
