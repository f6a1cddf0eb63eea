"""Selective evaluation of a project: which items a judge may label alone, which go to people.

The *calibration set* is the non-gold items with a strict human majority on the question
and a primary judge verdict with a confidence. On it, ``stats.selective.select_threshold``
picks the lowest confidence threshold at which the judge agrees with the human majority at
least ``target_agreement`` of the time with probability at least ``1 - delta`` (Jung et al.
2025). Every non-gold item *without* human judgments of the question is then decided:
**accepted** when the judge's verdict has a confidence at or above the threshold,
**escalated** otherwise (no threshold, low confidence, no verdict or no confidence).
Items with human judgments but no majority are neither: people already disagree there.

``escalate`` replaces the judge's ``Escalation`` rows for the project; it flushes but never
commits (the caller owns the transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.orm import Session

from ..errors import InvalidInput
from ..models import Escalation, Item, Judge, JudgeVerdict, Project, utcnow
from ..stats.judge_alignment import human_majority
from ..stats.selective import MIN_CALIBRATION, SelectiveThreshold, select_threshold, threshold_grid
from .judge_alignment import choice_question, human_votes, judge_verdicts
from .rubrics import current_version


@dataclass(frozen=True)
class EscalationReport:
    judge: str
    question_id: str
    selection: SelectiveThreshold
    accepted: tuple[str, ...]  # external item ids, sorted
    escalated: tuple[str, ...]
    n_escalated_without_verdict: int  # no verdict, or a verdict without a confidence
    n_calibration_without_confidence: int  # human-majority items whose verdict has no confidence
    n_human_no_majority: int  # items people judged without a strict majority (not decided)


@dataclass(frozen=True)
class EscalationSummary:
    """The stored decisions of one judge in a project (the latest ``judge escalate``)."""

    question_id: str
    threshold: float | None
    target_agreement: float
    delta: float
    accepted: int
    escalated: int
    decided_at: datetime


def escalate(
    session: Session,
    project: Project,
    judge: Judge,
    target_agreement: float,
    delta: float,
    question_id: str | None = None,
    *,
    min_calibration: int = MIN_CALIBRATION,
    grid_step: float = 0.001,
) -> EscalationReport:
    """Choose the threshold on the calibration set and decide every item without human labels."""
    for name, value in (("target agreement", target_agreement), ("delta", delta)):
        if not 0.0 < value < 1.0:
            raise InvalidInput(f"the {name} must be strictly between 0 and 1, got {value!r}")
    question = choice_question(current_version(session, project).document, question_id)
    votes = human_votes(session, project, question)
    verdicts = judge_verdicts(session, project, judge, question).primary
    confidences, agrees, without_confidence, no_majority = [], [], 0, 0
    for item_id in sorted(votes):
        majority = human_majority(votes[item_id])
        if majority is None:
            no_majority += 1
            continue
        verdict = verdicts.get(item_id)
        if verdict is None or verdict.code is None:
            continue
        if verdict.confidence is None:
            without_confidence += 1
            continue
        confidences.append(verdict.confidence)
        agrees.append(verdict.code == majority)
    selection = select_threshold(
        confidences, agrees, target_agreement, delta, grid=threshold_grid(grid_step), min_calibration=min_calibration
    )

    items = session.execute(
        select(Item.id, Item.external_id)
        .where(Item.project_id == project.id, Item.is_gold.is_(False))
        .order_by(Item.id)
    ).all()
    now = utcnow()
    rows: list[dict[str, Any]] = []
    accepted, escalated, unjudged = [], [], 0
    for item_id, external_id in items:
        if item_id in votes:
            continue
        verdict = verdicts.get(item_id)
        confidence = verdict.confidence if verdict is not None and verdict.code is not None else None
        ok = selection.threshold is not None and confidence is not None and confidence >= selection.threshold
        unjudged += confidence is None
        (accepted if ok else escalated).append(external_id)
        rows.append(
            {
                "project_id": project.id,
                "item_id": item_id,
                "judge_id": judge.id,
                "accepted": ok,
                "confidence": confidence,
                "threshold": selection.threshold,
                "target_agreement": target_agreement,
                "delta": delta,
                "question_id": question.question_id,
                "created_at": now,
            }
        )
    session.execute(delete(Escalation).where(Escalation.project_id == project.id, Escalation.judge_id == judge.id))
    for start in range(0, len(rows), 5000):
        session.execute(insert(Escalation), rows[start : start + 5000])
    session.flush()
    return EscalationReport(
        judge=judge.name,
        question_id=question.question_id,
        selection=selection,
        accepted=tuple(sorted(accepted)),
        escalated=tuple(sorted(escalated)),
        n_escalated_without_verdict=unjudged,
        n_calibration_without_confidence=without_confidence,
        n_human_no_majority=no_majority,
    )


def latest_escalation(session: Session, project: Project, judge: Judge) -> EscalationSummary | None:
    """Counts and settings of the judge's stored decisions in the project (None: never run)."""
    row = session.execute(
        select(
            func.count(),
            func.sum(case((Escalation.accepted.is_(True), 1), else_=0)),
            func.max(Escalation.threshold),
            func.max(Escalation.target_agreement),
            func.max(Escalation.delta),
            func.max(Escalation.question_id),
            func.max(Escalation.created_at),
        ).where(Escalation.project_id == project.id, Escalation.judge_id == judge.id)
    ).one()
    total, n_accepted, threshold, target, delta, question_id, decided_at = row
    if not total:
        return None
    n_accepted = int(n_accepted or 0)
    return EscalationSummary(question_id, threshold, target, delta, n_accepted, int(total) - n_accepted, decided_at)


@dataclass(frozen=True)
class AcceptedLabel:
    """A judge's canonical answers on an item it was trusted with, and where they come from."""

    item_id: int
    external_id: str
    answers: dict[str, Any]  # the primary verdict's answers, canonical orientation
    provenance: dict[str, Any]


def accepted_judge_labels(session: Session, project: Project, judge: Judge | None = None) -> list[AcceptedLabel]:
    """Per item accepted by the latest ``escalate`` (of ``judge``, or of every judge), the
    judge's primary verdict and its provenance, ordered by item id then judge name.

    ``provenance`` holds ``source`` ("judge"), ``judge``, ``model``, ``question_id`` (the
    question the guarantee is about), ``confidence``, ``threshold``, ``target_agreement``,
    ``delta``, ``decided_at`` (ISO 8601), ``verdict_id`` and ``rubric_version_id``. An item
    two judges were trusted with appears once per judge; the caller chooses.
    """
    query = (
        select(Escalation, JudgeVerdict, Judge, Item.external_id)
        .join(Judge, Judge.id == Escalation.judge_id)
        .join(Item, Item.id == Escalation.item_id)
        .join(
            JudgeVerdict,
            (JudgeVerdict.item_id == Escalation.item_id)
            & (JudgeVerdict.judge_id == Escalation.judge_id)
            & JudgeVerdict.swapped.is_(False),
        )
        .where(Escalation.project_id == project.id, Escalation.accepted.is_(True))
        .order_by(Escalation.item_id, Judge.name)
    )
    if judge is not None:
        query = query.where(Escalation.judge_id == judge.id)
    labels = []
    for decision, verdict, who, external_id in session.execute(query):
        provenance = {
            "source": "judge",
            "judge": who.name,
            "model": who.model,
            "question_id": decision.question_id,
            "confidence": decision.confidence,
            "threshold": decision.threshold,
            "target_agreement": decision.target_agreement,
            "delta": decision.delta,
            "decided_at": decision.created_at.isoformat(),
            "verdict_id": verdict.id,
            "rubric_version_id": verdict.rubric_version_id,
        }
        labels.append(AcceptedLabel(decision.item_id, external_id, dict(verdict.answers), provenance))
    return labels
