"""Pseudonymous rater ids for exports and the API."""

from __future__ import annotations

import hashlib
import hmac

from ..models import Project


def pseudonym(project: Project, rater_id: int) -> str:
    """A stable pseudonymous rater id: the same rater keeps it across exports of the project.

    A hash of the project's id and creation time with the user id, so ids do not link
    raters across projects and cannot be reversed by counting user ids alone.
    """
    stamp = project.created_at.isoformat() if project.created_at else ""
    return "r-" + hashlib.sha256(f"{project.id}:{stamp}:{rater_id}".encode()).hexdigest()[:16]


def item_token(key: str | bytes, project_id: int, item_id: int) -> str:
    """The id a rater or adjudicator sees for an item: opaque and without order.

    A keyed hash (HMAC-SHA256 under the server's secret key) of the project and item, so
    gold, honeypot and live items have ids of one shape, sorting them says nothing about
    when they were imported, and an external id (which often names models) never shows.
    """
    secret = key.encode("utf-8") if isinstance(key, str) else key
    digest = hmac.new(secret, f"item:{project_id}:{item_id}".encode(), hashlib.sha256).hexdigest()
    return "i-" + digest[:16]
