"""One-time account links: an invitation to choose a first password, or a password reset.

There is no mail server: an admin makes a link (``make_link``), copies the path it returns
and sends it however they like. Whoever opens it may set the user's password once, until
the link expires (setting ``ACCOUNT_LINK_HOURS``). Only the sha256 of the link's secret is
stored, a newer link spends the older ones, and using one ends every session, API token and
other link of the user, as any password change does (``users.set_password``).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..domain import LinkPurpose
from ..errors import FieldError, InvalidInput, NotFound
from ..models import AccountLink, User, utcnow
from .users import set_password, spend_links

LINK_PATH = "/links/"
# One message for a link that never existed, was used, was replaced or has expired: the
# answer tells a guesser nothing.
DEAD_LINK = "This link is not valid any more. Ask an admin for a new one."


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


def make_link(session: Session, user: User, purpose: LinkPurpose | str, lifetime: timedelta) -> str:
    """A new one-time link for ``user``; returns its path (``/links/<secret>``), shown once.

    The user's earlier unused links stop working.
    """
    purpose = LinkPurpose(purpose)
    if not user.active:
        raise InvalidInput("cannot make a link", [FieldError("user", f"{user.email} is deactivated")])
    spend_links(session, user)
    secret = secrets.token_urlsafe(32)
    session.add(
        AccountLink(
            user_id=user.id,
            token_sha256=_digest(secret),
            purpose=purpose,
            expires_at=utcnow() + lifetime,
        )
    )
    session.flush()
    return LINK_PATH + secret


def live_link(session: Session, secret: str, now: datetime | None = None) -> AccountLink:
    """The unspent, unexpired link with this secret, of an active user; ``NotFound`` otherwise."""
    now = now or utcnow()
    link = session.scalar(select(AccountLink).where(AccountLink.token_sha256 == _digest(secret)))
    if link is None or link.spent_at is not None or link.expires_at <= now or not link.user.active:
        raise NotFound(DEAD_LINK)
    return link


def use_link(session: Session, secret: str, password: str, again: str, now: datetime | None = None) -> User:
    """Set the password through a live link and spend it; returns the user.

    A refused password (too short, or the two differ) raises ``InvalidInput``; the caller
    rolls back and the link stays live. Two uses at once: the conditional update lets one
    through, the other finds the link spent.
    """
    now = now or utcnow()
    link = live_link(session, secret, now)
    if password != again:
        raise InvalidInput("cannot set the password", [FieldError("again", "the two passwords differ")])
    claimed = session.execute(
        update(AccountLink)
        .where(AccountLink.id == link.id, AccountLink.spent_at.is_(None))
        .values(spent_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise NotFound(DEAD_LINK)
    set_password(session, link.user, password)
    return link.user
