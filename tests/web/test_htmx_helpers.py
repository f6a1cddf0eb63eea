"""``web.htmx``: the redirect helper answers a plain request with 303, htmx with HX-Redirect."""

from __future__ import annotations

from flask import Flask
from htmx_flask import Htmx

from workbench.web.htmx import hx_redirect


def _app() -> Flask:
    app = Flask(__name__)
    Htmx(app)
    return app


def test_plain_request_gets_see_other():
    with _app().test_request_context("/x", method="POST"):
        response = hx_redirect("/next?a=1")
    assert response.status_code == 303
    assert response.headers["Location"] == "/next?a=1"
    assert "HX-Redirect" not in response.headers


def test_htmx_request_gets_a_whole_page_redirect_and_no_3xx():
    # HX-Redirect loads the target as a page; HX-Location would fetch it as an htmx request
    # and swap its partial into the body, without the top bar.
    with _app().test_request_context("/x", method="POST", headers={"HX-Request": "true"}):
        response = hx_redirect("/next")
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/next"
    assert "Location" not in response.headers and "HX-Location" not in response.headers


def test_boosted_request_is_treated_as_a_page_load():
    headers = {"HX-Request": "true", "HX-Boosted": "true"}
    with _app().test_request_context("/x", method="POST", headers=headers):
        response = hx_redirect("/next")
    assert response.status_code == 303
