"""The only place that looks at htmx request headers.

``render`` returns the partial for a plain htmx request and the full page otherwise
(a boosted request or a history-restore miss wants the page), and always sets
``Vary: HX-Request`` so caches keep the two apart.
"""

from __future__ import annotations

from flask import Response, make_response, render_template, request


def is_htmx() -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(page: str, partial: str, status: int = 200, oob: tuple[str, ...] = (), **context) -> Response:
    if is_htmx():
        body = render_template(partial, **context)
        for snippet in oob:
            body += render_template(snippet, **context)
    else:
        body = render_template(page, **context)
    response = make_response(body, status)
    response.headers.add("Vary", "HX-Request")
    return response
