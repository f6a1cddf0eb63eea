"""Feedback for a rater: adjudication outcomes and reviewer notes on their own judgments.

Newest first, each with the guideline passage the item touched and the rubric version it
belongs to. Answers are shown in the rater's own screen terms (the sides as they saw them);
other raters' answers and identities never appear.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Adjudication, Judgment, Project, RubricVersion, SpotCheck, User
from ..rubric import to_screen
from .adjudication import describe_answer, prompt_text


@dataclass(frozen=True)
class GuidelinePassage:
    version_id: int
    version_number: int
    question_id: str
    question_label: str
    passage: str  # Markdown


@dataclass(frozen=True)
class FeedbackEntry:
    kind: str  # "adjudication" or "spot check"
    at: datetime
    item_external_id: str
    prompt: str
    your_answer: str
    outcome: str
    agreed: bool | None
    note: str
    guideline: GuidelinePassage | None


def _paragraphs(markdown: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", markdown or "") if p.strip()]


def guideline_passage(version: RubricVersion, question_id: str | None) -> GuidelinePassage | None:
    """The guideline paragraphs that name the question (by label or id), else its prompt and help."""
    document = version.document
    questions = [q for q in document["questions"] if q["type"] != "text"]
    question = next((q for q in questions if q["id"] == question_id), questions[0] if questions else None)
    if question is None:
        return None
    label = question.get("label", question["id"])
    words = {label.lower(), question["id"].lower()}
    paragraphs = [p for p in _paragraphs(document.get("guidelines", "")) if not p.startswith("#")]
    # A paragraph that defines the term (it appears in bold) beats one that merely mentions it.
    found = [p for p in paragraphs if any(f"**{w}**" in p.lower() for w in words)] or [
        p for p in paragraphs if any(re.search(rf"\b{re.escape(w)}\b", p.lower()) for w in words)
    ][:2]
    passage = "\n\n".join(found) or "\n\n".join(filter(None, [question.get("prompt"), question.get("help")]))
    return GuidelinePassage(version.id, version.number, question["id"], label, passage)


def _question(document: Mapping[str, Any], question_id: str | None) -> dict[str, Any] | None:
    return next((q for q in document["questions"] if q["id"] == question_id), None)


def rater_feedback(session: Session, project: Project, rater: User) -> list[FeedbackEntry]:
    entries: list[FeedbackEntry] = []
    rows = session.execute(
        select(Adjudication, Judgment)
        .join(Judgment, (Judgment.item_id == Adjudication.item_id) & (Judgment.rater_id == rater.id))
        .where(Adjudication.project_id == project.id, Judgment.superseded_by_id.is_(None))
    ).all()
    for adjudication, judgment in rows:
        document = judgment.rubric_version.document
        question = _question(document, adjudication.question_id)
        if question is None:
            continue
        qid = question["id"]
        mine = to_screen(document, {qid: judgment.answers.get(qid)}, judgment.display_order).get(qid)
        final = to_screen(document, {qid: adjudication.answer}, judgment.display_order).get(qid)
        agreed = _same(question, judgment.answers.get(qid), adjudication.answer)
        final_text = _screen_words(question, final)
        entries.append(
            FeedbackEntry(
                kind="adjudication",
                at=adjudication.created_at,
                item_external_id=adjudication.item.external_id,
                prompt=prompt_text(adjudication.item.prompt),
                your_answer=_screen_words(question, mine),
                outcome=("Your answer matched the final answer: " if agreed else "The final answer differs from yours: ") + final_text,
                agreed=agreed,
                note=adjudication.note,
                guideline=guideline_passage(adjudication.rubric_version, qid),
            )
        )
    checks = session.scalars(
        select(SpotCheck).where(
            SpotCheck.project_id == project.id, SpotCheck.rater_id == rater.id, SpotCheck.correct.is_not(None)
        )
    ).all()
    for check in checks:
        judgment = check.judgment
        document = judgment.rubric_version.document
        question = _question(document, check.question_id)
        if question is not None:
            qid = question["id"]
            mine = _screen_words(question, to_screen(document, {qid: judgment.answers.get(qid)}, judgment.display_order).get(qid))
            mine = f"{question.get('label', qid)}: {mine}"
        else:
            screen = to_screen(document, judgment.answers, judgment.display_order)
            mine = "; ".join(
                f"{q.get('label', q['id'])}: {_screen_words(q, screen[q['id']])}"
                for q in document["questions"] if q["type"] != "text" and q["id"] in screen
            )
        entries.append(
            FeedbackEntry(
                kind="spot check",
                at=check.reviewed_at,
                item_external_id=judgment.item.external_id,
                prompt=prompt_text(judgment.item.prompt),
                your_answer=mine,
                outcome="A reviewer marked this judgment correct." if check.correct else "A reviewer marked this judgment incorrect.",
                agreed=bool(check.correct),
                note=check.note,
                guideline=guideline_passage(judgment.rubric_version, check.question_id),
            )
        )
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries


def _screen_words(question: Mapping[str, Any], value: Any) -> str:
    """An answer in the rater's screen terms: A is the left response, B the right one."""
    text = describe_answer(question, value)
    return text.replace("A (first response)", "A (left)").replace("B (second response)", "B (right)")


def _same(question: Mapping[str, Any], a: Any, b: Any) -> bool:
    if question["type"] == "pairwise":
        return isinstance(a, Mapping) and isinstance(b, Mapping) and a.get("choice") == b.get("choice")
    if question["type"] == "categorical" and isinstance(b, list):
        return isinstance(a, list) and sorted(a) == sorted(b)
    return a == b


__all__ = ["FeedbackEntry", "GuidelinePassage", "guideline_passage", "rater_feedback"]
