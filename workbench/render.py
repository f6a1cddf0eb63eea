"""Safe rendering of untrusted text (LLM outputs, prompts, guidelines) as HTML.

Markdown is parsed by markdown-it-py with raw HTML *disabled* (any ``<tag>`` in the input
comes out escaped), and the result is then cleaned by nh3 against a small allow-list,
which also drops ``javascript:`` and other unsafe link schemes. Two layers, so a bug in
either alone does not open a hole.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

from .textsafety import displayable

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td", "a",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "code": {"class"}}
URL_SCHEMES = {"http", "https", "mailto"}


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    md.enable("strikethrough")
    return md


def markdown_to_html(text: str) -> str:
    """Markdown → sanitized HTML fragment (lone surrogates stored before checks show as U+FFFD)."""
    html = _markdown().render(displayable(text or ""))
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
