"""Untrusted text renders as safe HTML, and real Markdown still works."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from workbench.render import ALLOWED_TAGS, markdown_to_html


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def parsed(html: str) -> list[tuple[str, dict]]:
    collector = _Collect()
    collector.feed(html)
    return collector.tags


PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "<svg onload=alert(1)></svg>",
    '<a href="javascript:alert(1)">x</a>',
    "![x](javascript:alert(1))",
    "<iframe src='https://example.org'></iframe>",
    "<style>body{display:none}</style>",
    '"><script>alert(1)</script>',
    "[x](JaVaScRiPt:alert(1))",
    "<details open ontoggle=alert(1)>",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_is_inert(payload):
    tags = parsed(markdown_to_html(payload))
    assert {tag for tag, _ in tags} <= ALLOWED_TAGS
    for tag, attrs in tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert not (attrs.get("href") or "").strip().lower().startswith(("javascript:", "data:", "vbscript:"))
        assert "src" not in attrs and "style" not in attrs


def test_script_text_stays_visible_as_text():
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markdown_to_html("<script>alert(1)</script>")


def test_javascript_link_loses_its_href():
    html = markdown_to_html("[click](javascript:alert(1))")
    assert 'href="javascript' not in html.lower()


def test_markdown_features_render():
    html = markdown_to_html(
        "**bold** and `code`\n\n```python\nprint(1 < 2)\n```\n\n- a\n- b\n\n| x | y |\n|---|---|\n| 1 | 2 |\n\n[ok](https://example.org)"
    )
    assert "<strong>bold</strong>" in html
    assert '<pre><code class="language-python">print(1 &lt; 2)' in html
    assert "<li>a</li>" in html and "<table>" in html
    assert 'href="https://example.org"' in html and 'rel="noopener noreferrer nofollow"' in html
