"""What the rating page remembers about a rater in a project beyond their judgments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base
from .core import UTCDateTime, utcnow


class InstructionsSeen(Base):
    """A rater read a project's instructions (guidelines and worked examples) and started rating."""

    __tablename__ = "instructions_seen"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    rater_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
