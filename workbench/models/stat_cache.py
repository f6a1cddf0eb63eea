"""The statistics cache table: a project's figures as last computed (``services.stat_cache``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base
from .core import UTCDateTime


class StatCache(Base):
    """A project's statistics as last computed, shared by every worker and host.

    ``state`` fingerprints what the figures were computed from (``services.stat_cache``);
    ``payload`` is the pickled result. Only the application writes it.
    """

    __tablename__ = "stat_cache"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(200))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
