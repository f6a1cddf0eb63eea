"""The only place that looks at htmx request headers.

``render`` returns the partial for a plain htmx request and the full page otherwise
(a boosted request or a history-restore miss wants the page), and always sets
``Vary: HX-Request`` so caches keep the two apart. ``hx_redirect`` sends the browser on
after a POST: a 303 for a plain form, ``HX-Redirect`` for htmx (which drops HX-* headers on
a 3xx and would swap the whole next page into the target). Not ``HX-Location``: htmx fetches
that target as an htmx request, gets the partial and swaps it into the body, leaving a page
without its top bar.
"""

from __future__ import annotations

from flask import Response, make_response, redirect, render_template, request


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


def hx_redirect(target: str) -> Response:
    """Send the browser to ``target``: 303 See Other for a plain request; for htmx, an empty
    204 with ``HX-Redirect``, so the browser loads the target as a whole page."""
    if not is_htmx():
        return redirect(target, 303)
    response = make_response("", 204)
    response.headers["HX-Redirect"] = target
    return response
