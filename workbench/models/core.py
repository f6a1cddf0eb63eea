"""Typed SQLAlchemy 2.0 models (DESIGN.md §3). No Flask, no business rules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from ..db import Base
from ..domain import FlagKind, LeasePurpose, Role, TaskKind, VersionStatus


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC timestamps on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def _enum(enum_cls, name: str) -> Enum:
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A machine rater is an LLM judge or script rating through the API; statistics report
    # machine and human raters separately.
    is_machine: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Bumped by logout, a password change or deactivation: a browser session remembers the
    # epoch it was made in and ends when the user's epoch has moved on.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role.value}>"


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # None: never expires. A revoked token stays listed, with when it was revoked.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class LoginThrottle(Base):
    """Failed logins in a row for one key: an (e-mail, address) pair or an address alone.

    Known and unknown e-mails are counted alike, so the answers never tell them apart. The
    key is the sha256 of what it counts (``services.login``).
    """

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Rubric(Base):
    __tablename__ = "rubrics"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    versions: Mapped[list[RubricVersion]] = relationship(back_populates="rubric", order_by="RubricVersion.number")


class RubricVersion(Base):
    """One immutable version of a rubric once published, identified by its content hash."""

    __tablename__ = "rubric_versions"
    __table_args__ = (
        UniqueConstraint("rubric_id", "number"),
        UniqueConstraint("rubric_id", "content_sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubrics.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[VersionStatus] = mapped_column(_enum(VersionStatus, "version_status"))
    document: Mapped[dict[str, Any]] = mapped_column(JSONType)
    content_sha256: Mapped[str] = mapped_column(String(64))
    changelog: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    rubric: Mapped[Rubric] = relationship(back_populates="versions")


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubrics.id"))
    rubric_version_id: Mapped[int | None] = mapped_column(ForeignKey("rubric_versions.id"))
    task_kind: Mapped[TaskKind] = mapped_column(_enum(TaskKind, "task_kind"))
    overlap_k: Mapped[int] = mapped_column(Integer, default=3)
    gold_rate: Mapped[float] = mapped_column(Float, default=0.0)
    qualification_items: Mapped[int] = mapped_column(Integer, default=0)
    qualification_min_accuracy: Mapped[float] = mapped_column(Float, default=0.0)
    lease_minutes: Mapped[int] = mapped_column(Integer, default=30)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    # Whether a rater who misses a gold item is shown the expected answer and why.
    gold_feedback: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Share of a rater's judged items shown to them again later, sides swapped.
    repeat_rate: Mapped[float] = mapped_column(Float, default=0.0, server_default=text("0"))
    # Members only: raters see the project only when listed in ``project_members``.
    members_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # archived: no items, off raters' lists
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    rubric: Mapped[Rubric] = relationship()
    pinned_version: Mapped[RubricVersion | None] = relationship()


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("project_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    prompt: Mapped[Any] = mapped_column(JSONType)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    is_gold: Mapped[bool] = mapped_column(Boolean, default=False)
    gold_answer: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    gold_rationale: Mapped[str | None] = mapped_column(Text)
    # Live judgments on the item, kept by ``services.judging`` (and ``recount_judgments``)
    # so the next-item query walks an index instead of counting every item's judgments.
    n_judgments: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    responses: Mapped[list[Response]] = relationship(
        back_populates="item", order_by="Response.position", cascade="all, delete-orphan"
    )


# The next-item query walks this in order: fullest items first, then by id.
Index("ix_items_next", Item.project_id, Item.is_gold, Item.n_judgments.desc(), Item.id)
# A project's newest item in one probe: part of the statistics cache's fingerprint.
Index("ix_items_project_newest", Item.project_id, Item.id)


class Response(Base):
    """A model output; ``position`` is its place in the item (canonical orientation)."""

    __tablename__ = "responses"
    __table_args__ = (UniqueConstraint("item_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    external_id: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)

    item: Mapped[Item] = relationship(back_populates="responses")


class Lease(Base):
    """An item reserved for one rater, with the order its responses were shown in."""

    __tablename__ = "leases"
    __table_args__ = (
        UniqueConstraint("item_id", "rater_id", "purpose"),
        Index("ix_leases_project_rater_open", "project_id", "rater_id", "completed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    rater_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    rubric_version_id: Mapped[int] = mapped_column(ForeignKey("rubric_versions.id"))
    purpose: Mapped[LeasePurpose] = mapped_column(
        _enum(LeasePurpose, "lease_purpose"), default=LeasePurpose.LIVE, server_default=LeasePurpose.LIVE.value
    )
    display_order: Mapped[list[int]] = mapped_column(JSONType)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    item: Mapped[Item] = relationship()
    rubric_version: Mapped[RubricVersion] = relationship()


class Judgment(Base):
    """One rater's answers on one item, in canonical orientation, pinned to a rubric version."""

    __tablename__ = "judgments"
    __table_args__ = (
        Index(
            "uq_judgments_live_item_rater",
            "item_id",
            "rater_id",
            unique=True,
            sqlite_where=text("superseded_by_id IS NULL"),
            postgresql_where=text("superseded_by_id IS NULL"),
        ),
        Index("ix_judgments_project_version", "project_id", "rubric_version_id", "item_id"),
        # A rater's judgments; with the item, the next-item walk's "judged by this rater"
        # probe is one exact lookup whichever of this and the unique index the planner takes.
        Index("ix_judgments_rater_item", "rater_id", "item_id"),
        # A project's newest judgment in one probe: the statistics cache's fingerprint reads
        # it on every page view (a count took 0.1-0.2 s at 300k judgments).
        Index("ix_judgments_project_newest", "project_id", "id"),
        # Idempotency keys are the rater's own: nobody can claim another rater's next key.
        UniqueConstraint("rater_id", "idempotency_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    rater_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    rubric_version_id: Mapped[int] = mapped_column(ForeignKey("rubric_versions.id"))
    lease_id: Mapped[int | None] = mapped_column(ForeignKey("leases.id", ondelete="SET NULL"))
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType)
    display_order: Mapped[list[int]] = mapped_column(JSONType)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(100))
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("judgments.id", ondelete="SET NULL"))

    item: Mapped[Item] = relationship()
    rater: Mapped[User] = relationship()
    rubric_version: Mapped[RubricVersion] = relationship()


class RepeatJudgment(Base):
    """A rater's second look at an item they judged, sides swapped: a consistency check.

    Kept apart from ``Judgment`` so that it is never counted as a second vote.
    """

    __tablename__ = "repeat_judgments"
    __table_args__ = (UniqueConstraint("rater_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    rater_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    original_id: Mapped[int] = mapped_column(ForeignKey("judgments.id", ondelete="CASCADE"), unique=True)
    rubric_version_id: Mapped[int] = mapped_column(ForeignKey("rubric_versions.id"))
    lease_id: Mapped[int | None] = mapped_column(ForeignKey("leases.id", ondelete="SET NULL"))
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType)
    display_order: Mapped[list[int]] = mapped_column(JSONType)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(100))

    original: Mapped[Judgment] = relationship()


class ItemFlag(Base):
    """A rater skipped an item (with a reason) or reported it as broken."""

    __tablename__ = "item_flags"
    __table_args__ = (Index("ix_item_flags_project_kind", "project_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    rater_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    lease_id: Mapped[int | None] = mapped_column(ForeignKey("leases.id", ondelete="SET NULL"), unique=True)
    kind: Mapped[FlagKind] = mapped_column(_enum(FlagKind, "flag_kind"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Staff resolve a flag once they have looked at the item; open flags have neither.
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    item: Mapped[Item] = relationship()
    rater: Mapped[User] = relationship(foreign_keys=[rater_id])


class Adjudication(Base):
    """An adjudicator's final answer (canonical orientation) for one question of one item.

    Recorded where the raters disagreed; exports may prefer it over aggregation
    (``services.adjudication.adjudicated_answers``). One per (item, question); deciding
    again replaces the answer and note.
    """

    __tablename__ = "adjudications"
    __table_args__ = (UniqueConstraint("item_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(100))
    rubric_version_id: Mapped[int] = mapped_column(ForeignKey("rubric_versions.id"))
    answer: Mapped[Any] = mapped_column(JSONType)
    note: Mapped[str] = mapped_column(Text, default="")
    adjudicator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    promoted_to_gold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[Item] = relationship()
    rubric_version: Mapped[RubricVersion] = relationship()


class SpotCheck(Base):
    """A reviewer's verdict on one sampled judgment: correct or not, with a note."""

    __tablename__ = "spot_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    judgment_id: Mapped[int] = mapped_column(ForeignKey("judgments.id", ondelete="CASCADE"), unique=True)
    rater_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The question the verdict and note are about (None: the judgment as a whole).
    question_id: Mapped[str | None] = mapped_column(String(100))
    # None until reviewed: a sampled judgment waiting for its verdict.
    correct: Mapped[bool | None] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    judgment: Mapped[Judgment] = relationship()
