"""Untrusted text on the rating page: an XSS corpus in prompts and responses stays inert text.

The browser tests load a real page in Chromium and check that nothing ran (no dialog, no
inline handler, no extra script), nothing was fetched from anywhere else, the page is
still visible, the payloads are shown escaped rather than dropped, and legitimate Markdown
still renders. A test-client test checks that the rater never sees which model wrote what.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.factories import PASSWORD, make_project, make_rater
from tests.web.browser import log_in
from workbench.paths import resource_dir
from workbench.services.imports import import_items

try:
    from playwright.sync_api import expect
except ImportError:  # the ``browser`` fixture reports it: a skip, or a failure under REQUIRE_SERVICES
    expect = None

SCRIPT = "<script>alert(1)</script>"
IMG_ONERROR = "<img src=x onerror=alert(1)>"
XSS_CORPUS = [
    SCRIPT,
    IMG_ONERROR,
    "[click](javascript:alert(1))",
    "[CLICK](JaVaScRiPt:alert(1))",
    "[spaced](  javascript:alert(1))",
    "[entity](jav&#x61;script:alert(1))",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<a href="javascript:alert(1)">x</a>',
    "<a href='jav&#x61;script:alert(1)'>entity link</a>",
    "<style>body{display:none}</style>",
    '<iframe src="https://evil.example/frame"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '"><script>alert(1)</script>',
    "'\"><img src=x onerror=alert(1)>",
    "![pic](javascript:alert(1))",
    "![remote](https://evil.example/pixel.png)",
    "![pixel](data:image/png;base64,iVBORw0KGgo=)",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
    "<math href=javascript:alert(1)>CLICKME</math>",
    "<details open ontoggle=alert(1)>",
    "<object data=https://evil.example/x></object><embed src=https://evil.example/y>",
    "<base href=https://evil.example/>",
    "<meta http-equiv=refresh content='0;url=https://evil.example/'>",
    "<link rel=stylesheet href=https://evil.example/x.css>",
    "<form action=https://evil.example/><button>go</button></form>",
    "<video><source onerror=alert(1)></video>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;img src=x onerror=alert(1)&#62;",
    "`<script>alert(1)</script>` in code",
]
XSS_TEXT = "\n\n".join(XSS_CORPUS)
LEGIT_MARKDOWN = """Here is **bold text** and a list:

- first item
- second item

| name | value |
| ---- | ----- |
| a    | 1     |

```python
def add(a, b):
    return a + b
```

See [the docs](https://docs.python.org/3/).
"""
AS_TEXT = (  # payloads that must come out as exactly this paragraph text
    '"><script>alert(1)</script>',
    "<svg onload=alert(1)>",
    "<style>body{display:none}</style>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "<details open ontoggle=alert(1)>",
    '<iframe src="https://evil.example/frame"></iframe>',
)
PYTHON_CODE = "def add(a, b):\n    return a + b"
OWN_STATIC = {"/static/app.css", "/static/htmx.min.js", "/static/app.js", "/static/favicon.svg"}
BASE_SCRIPTS = len(re.findall(r"<script\b", (Path(resource_dir("templates")) / "base.html").read_text()))

ON_ATTRIBUTES_JS = """() => Array.from(document.querySelectorAll('*')).flatMap(el =>
  Array.from(el.attributes)
    .filter(a => a.name.toLowerCase().startsWith('on'))
    .map(a => el.tagName + '[' + a.name + ']'))"""
LINK_PROTOCOLS_JS = """() => Array.from(document.querySelectorAll('a[href]')).map(a => a.protocol)"""
FORBIDDEN_ELEMENTS = "iframe, frame, object, embed, img, svg, math, style, base, meta[http-equiv], video, audio, source, details[ontoggle]"


def _xss_row(external_id: str, chat: bool) -> dict:
    prompt = (
        [
            {"role": "system", "content": XSS_TEXT},
            {"role": "user", "content": LEGIT_MARKDOWN + "\n\n" + XSS_TEXT},
        ]
        if chat
        else LEGIT_MARKDOWN + "\n\n" + XSS_TEXT
    )
    return {
        "id": external_id,
        "prompt": prompt,
        "responses": [
            {"id": "a", "model": "model-a", "text": LEGIT_MARKDOWN + "\n\n" + XSS_TEXT},
            {"id": "b", "model": "model-b", "text": XSS_TEXT + "\n\n" + LEGIT_MARKDOWN},
        ],
    }


def _import(app, rows: list[dict]) -> tuple[int, str]:
    """A pairwise project holding ``rows`` and a new rater; returns (project id, rater e-mail)."""
    with app.extensions["workbench"].sessionmaker() as session:
        project = make_project(session, overlap_k=3)
        import_items(session, project, [json.dumps(row) for row in rows])
        rater = make_rater(session)
        session.commit()
        return project.id, rater.email


def _assert_inert(page, watch, rate_path: str, copies: int) -> None:
    """Everything the XSS corpus could have done, checked on the current page."""
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)  # time for onload / ontoggle / onerror handlers, were there any
    assert watch.dialogs == []
    for method, url in watch.requests:
        parts = urlsplit(url)
        assert parts.hostname == "127.0.0.1", f"request left the server: {method} {url}"
        assert parts.path in OWN_STATIC | {"/login", "/", rate_path}, f"unexpected request: {method} {url}"
    assert BASE_SCRIPTS == 2
    assert page.evaluate("document.querySelectorAll('script').length") == BASE_SCRIPTS
    assert page.evaluate(ON_ATTRIBUTES_JS) == []
    assert page.locator("a[href^='javascript' i]").count() == 0
    assert set(page.evaluate(LINK_PROTOCOLS_JS)) <= {"http:", "https:", "mailto:"}
    assert page.locator(FORBIDDEN_ELEMENTS).count() == 0
    assert page.evaluate("document.styleSheets.length") == 1  # app.css only
    expect(page.locator("body")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.body).display") != "none"
    expect(page.locator("#task .prompt")).to_be_visible()
    expect(page.locator("#task article.response")).to_have_count(2)

    # The legitimate Markdown rendered...
    task = page.locator("#task")
    expect(task.locator("pre code").first).to_contain_text(PYTHON_CODE)
    expect(task.locator("strong", has_text="bold text").first).to_be_visible()
    expect(task.locator("table td", has_text="a").first).to_be_visible()
    expect(task.locator("li", has_text="first item").first).to_be_visible()
    docs = task.locator("a[href='https://docs.python.org/3/']").first
    expect(docs).to_have_text("the docs")
    expect(docs).to_have_attribute("rel", re.compile(r"\bnoopener\b"))
    # ...and the payloads are shown as text, not dropped: each copy of the corpus (one per
    # Markdown block that holds it) has its own paragraphs, with exactly these texts.
    blocks = task.locator(".md").filter(has_text="onerror")
    expect(blocks).to_have_count(copies)
    for n in range(copies):
        texts = blocks.nth(n).locator("p").all_inner_texts()
        assert texts.count(SCRIPT) == 2, texts  # the raw tag and its &lt;entity&gt; spelling
        assert texts.count(IMG_ONERROR) == 2, texts
        for shown in AS_TEXT:
            assert shown in texts


@pytest.mark.parametrize("chat", [False, True], ids=["text-prompt", "chat-prompt"])
def test_browser_xss_corpus_stays_inert(page, watch, live_server, app, chat):
    project_id, email = _import(app, [_xss_row("xss-1", chat)])
    rate_path = f"/projects/{project_id}/rate"
    log_in(page, live_server.url, email, PASSWORD, path=rate_path)
    assert page.url == live_server(rate_path)
    _assert_inert(page, watch, rate_path, copies=4 if chat else 3)
    if chat:
        expect(page.locator("#task .prompt .msg-role")).to_have_text(["system", "user"])

    # The same item swapped back in by htmx (a 422: harmless left unanswered) is inert too.
    page.keyboard.press("1")
    page.keyboard.press("2")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(rate_path)) as posted:
        page.keyboard.press("Enter")
    assert posted.value.status == 422
    expect(page.locator("#err-harmless")).not_to_be_empty()
    _assert_inert(page, watch, rate_path, copies=4 if chat else 3)

    # The word diff of A and B shows the payloads as text too.
    page.keyboard.press("d")
    diff = page.locator("#task .diff-text")
    expect(diff).to_contain_text(SCRIPT)
    assert diff.locator("script, img, svg, iframe, a, style, object, embed, math, video").count() == 0
    assert watch.dialogs == []
    assert watch.problems(allow_status=((422, rate_path),)) == []


SECRETS = ("SECRET-MODEL-NAME-1", "SECRET-MODEL-NAME-2", "SECRET-RESPONSE-ID-1", "SECRET-RESPONSE-ID-2")


def _form_fields(html: str) -> dict[str, str]:
    return {
        name: re.search(rf'name="{name}" value="([^"]*)"', html).group(1)
        for name in ("csrf_token", "lease_id", "idempotency_key")
    }


def test_rating_page_never_shows_model_names(client, auth, app):
    rows = [
        {
            "id": f"secret-{n}",
            "prompt": f"Which is better, number {n}?",
            "responses": [
                {"id": "SECRET-RESPONSE-ID-1", "model": "SECRET-MODEL-NAME-1", "text": f"First answer {n}."},
                {"id": "SECRET-RESPONSE-ID-2", "model": "SECRET-MODEL-NAME-2", "text": f"Second answer {n}."},
            ],
        }
        for n in range(2)
    ]
    with app.extensions["workbench"].sessionmaker() as session:
        project = make_project(session, overlap_k=3)
        import_items(session, project, [json.dumps(row) for row in rows])
        session.commit()
        project_id = project.id
    auth.login_as("rater")
    rate = f"/projects/{project_id}/rate"
    htmx = {"HX-Request": "true"}

    def check(response, status: int = 200) -> str:
        assert response.status_code == status, response.text
        html = response.get_data(as_text=True)
        for secret in SECRETS:
            assert secret not in html
        return html

    full = check(client.get(rate))
    assert "First answer 0." in full and "Second answer 0." in full  # the item is really there
    check(client.get(rate, headers=htmx))
    fields = _form_fields(full)
    check(client.post(rate, data={**fields, "q.helpful.choice": "A"}, headers=htmx), status=422)
    answer = {"q.helpful.choice": "A", "q.helpful.strength": "1", "q.harmless.choice": "tie"}
    after = check(client.post(rate, data={**fields, **answer}, headers=htmx))
    assert "First answer 1." in after and "Second answer 1." in after  # the next item came in
    check(client.get(rate))
    check(client.get(f"/projects/{project_id}"))
    check(client.get("/"))
