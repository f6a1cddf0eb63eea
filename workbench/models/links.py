"""One-time account links: an invitation to choose a first password, or a password reset."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from ..domain import LinkPurpose
from .core import User, UTCDateTime, _enum, utcnow


class AccountLink(Base):
    """A link that lets whoever holds it set ``user``'s password once, until it expires.

    Only the sha256 of the link's secret is stored; the secret itself is shown once. A
    link is spent when used, and replaced (spent) when a newer link is made for the user.
    """

    __tablename__ = "account_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[LinkPurpose] = mapped_column(_enum(LinkPurpose, "link_purpose"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the link was used or replaced; a spent link never works again.
    spent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
