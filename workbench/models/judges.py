"""LLM judges: machine raters with an endpoint, their runs, verdicts and escalations.

A judge's verdicts live apart from ``Judgment`` (like ``RepeatJudgment``) so that a judge
never fills a human overlap slot and never counts as a human vote; alignment, escalation
and exports read them from here. A judge takes work through ``Lease`` rows of purpose
``judge`` under its machine ``User``, so several runners share one run without judging an
item twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from .core import Item, JSONType, User, UTCDateTime, utcnow


class Judge(Base):
    """An OpenAI-compatible chat-completions endpoint and model, rating as a machine user.

    The API key is never stored: ``api_key_env`` names the environment variable read at
    run time.
    """

    __tablename__ = "judges"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    base_url: Mapped[str] = mapped_column(String(500))
    model: Mapped[str] = mapped_column(String(200))
    api_key_env: Mapped[str | None] = mapped_column(String(100))
    temperature: Mapped[float] = mapped_column(Float, default=0.0)
    max_tokens: Mapped[int] = mapped_column(Integer, default=1024)
    concurrency: Mapped[int] = mapped_column(Integer, default=4)
    # A Jinja template replacing the built-in prompt (same variables); None: the built-in one.
    prompt_template: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class JudgeRun(Base):
    """One ``workbench judge run`` invocation: what it did and what it cost."""

    __tablename__ = "judge_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("judges.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    both_orders: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    judged: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    # Price per million tokens given for the run, and the resulting cost (None: not given).
    price_in: Mapped[float | None] = mapped_column(Float)
    price_out: Mapped[float | None] = mapped_column(Float)
    cost: Mapped[float | None] = mapped_column(Float)

    judge: Mapped[Judge] = relationship()


class JudgeVerdict(Base):
    """A judge's validated answers on one item, in canonical orientation.

    ``swapped`` marks the second ask of a both-orders run (sides swapped), the judge's
    counterpart of a human repeat. ``confidences`` maps each choice question (pairwise,
    categorical, binary) to the probability of the chosen option; ``confidence_method``
    says how it was got (``logprobs``, or ``consistency`` across orders and samples).
    """

    __tablename__ = "judge_verdicts"
    __table_args__ = (
        UniqueConstraint("item_id", "judge_id", "swapped"),
        Index("ix_judge_verdicts_project_judge", "project_id", "judge_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    judge_id: Mapped[int] = mapped_column(ForeignKey("judges.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("judge_runs.id", ondelete="SET NULL"))
    lease_id: Mapped[int | None] = mapped_column(ForeignKey("leases.id", ondelete="SET NULL"))
    rubric_version_id: Mapped[int] = mapped_column(ForeignKey("rubric_versions.id"))
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType)
    display_order: Mapped[list[int]] = mapped_column(JSONType)
    swapped: Mapped[bool] = mapped_column(Boolean, default=False)
    confidences: Mapped[dict[str, float]] = mapped_column(JSONType, default=dict)
    confidence_method: Mapped[str | None] = mapped_column(String(20))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[Item] = relationship()
    judge: Mapped[Judge] = relationship()


class JudgeAttempt(Base):
    """An answer that never became a verdict: invalid after the retries, or an endpoint error."""

    __tablename__ = "judge_attempts"
    __table_args__ = (Index("ix_judge_attempts_project_judge", "project_id", "judge_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    judge_id: Mapped[int] = mapped_column(ForeignKey("judges.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("judge_runs.id", ondelete="SET NULL"))
    swapped: Mapped[bool] = mapped_column(Boolean, default=False)
    raw: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Escalation(Base):
    """The latest selective-evaluation decision for an item without human labels.

    ``accepted``: the judge's verdict is trusted (confidence at or above ``threshold``);
    otherwise the item is escalated and the assignment engine serves it to humans first.
    ``judge escalate`` replaces a project's decisions for that judge.
    """

    __tablename__ = "escalations"
    __table_args__ = (
        UniqueConstraint("item_id", "judge_id"),
        Index("ix_escalations_project_accepted", "project_id", "accepted"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    judge_id: Mapped[int] = mapped_column(ForeignKey("judges.id", ondelete="CASCADE"))
    accepted: Mapped[bool] = mapped_column(Boolean)
    confidence: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    target_agreement: Mapped[float] = mapped_column(Float)
    delta: Mapped[float] = mapped_column(Float)
    question_id: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
