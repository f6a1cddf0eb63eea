"""Feedback for a rater: adjudication outcomes and reviewer notes on their own judgments.

Newest first, each with the guideline passage the item touched and the rubric version it
belongs to. Answers are shown in the rater's own screen terms (the sides as they saw them);
other raters' answers and identities never appear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Adjudication, Judgment, Project, RubricVersion, SpotCheck, User
from ..rubric.questions import Questions, is_swapped
from .adjudication import prompt_text


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
    item_id: int  # shown to the rater only as an opaque reference (``pseudonyms.item_token``)
    prompt: str
    your_answer: str
    outcome: str
    agreed: bool | None
    note: str
    guideline: GuidelinePassage | None
    # How to read A and B in the note: an adjudicator writes in the item's own order, which
    # is not what a rater who saw the sides swapped called them.
    note_terms: str = ""


SIDES_SWAPPED = (
    "In this note A and B are the item's own order: its A is the response you saw on the right (your B), "
    "its B the one on the left (your A)."
)
SIDES_AS_SEEN = "In this note A and B are the responses as you saw them: A on the left, B on the right."


def note_terms(note: str, display_order) -> str:
    if not note or len(display_order or []) != 2:
        return ""
    return SIDES_SWAPPED if is_swapped(display_order) else SIDES_AS_SEEN


def _paragraphs(markdown: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", markdown or "") if p.strip()]


def guideline_passage(version: RubricVersion, question_id: str | None) -> GuidelinePassage | None:
    """The guideline paragraphs that name the question (by label or id), else its prompt and help."""
    document = version.document
    questions = Questions.of(document).answerable
    question = next((q for q in questions if q.id == question_id), questions[0] if questions else None)
    if question is None:
        return None
    label = question.label
    words = {label.lower(), question.id.lower()}
    paragraphs = [p for p in _paragraphs(document.get("guidelines", "")) if not p.startswith("#")]
    # A paragraph that defines the term (it appears in bold) beats one that merely mentions it.
    found = [p for p in paragraphs if any(f"**{w}**" in p.lower() for w in words)] or [
        p for p in paragraphs if any(re.search(rf"\b{re.escape(w)}\b", p.lower()) for w in words)
    ][:2]
    passage = "\n\n".join(found) or "\n\n".join(filter(None, [question.prompt, question.help]))
    return GuidelinePassage(version.id, version.number, question.id, label, passage)


def rater_feedback(session: Session, project: Project, rater: User) -> list[FeedbackEntry]:
    entries: list[FeedbackEntry] = []
    rows = session.execute(
        select(Adjudication, Judgment)
        .join(Judgment, (Judgment.item_id == Adjudication.item_id) & (Judgment.rater_id == rater.id))
        .where(Adjudication.project_id == project.id, Judgment.superseded_by_id.is_(None))
    ).all()
    for adjudication, judgment in rows:
        questions = Questions.of(judgment.rubric_version.document)
        question = questions.get(adjudication.question_id)
        if question is None:
            continue
        mine = judgment.answers.get(question.id)
        agreed = question.same(mine, adjudication.answer)
        final_text = question.words_on_screen(adjudication.answer, judgment.display_order)
        entries.append(
            FeedbackEntry(
                kind="adjudication",
                at=adjudication.created_at,
                item_id=adjudication.item_id,
                prompt=prompt_text(adjudication.item.prompt),
                your_answer=question.words_on_screen(mine, judgment.display_order),
                outcome=(
                    "Your answer matched the final answer: " if agreed else "The final answer differs from yours: "
                )
                + final_text,
                agreed=agreed,
                note=adjudication.note,
                guideline=guideline_passage(adjudication.rubric_version, question.id),
                note_terms=note_terms(adjudication.note, judgment.display_order),
            )
        )
    checks = session.scalars(
        select(SpotCheck).where(
            SpotCheck.project_id == project.id, SpotCheck.rater_id == rater.id, SpotCheck.correct.is_not(None)
        )
    ).all()
    for check in checks:
        judgment = check.judgment
        questions = Questions.of(judgment.rubric_version.document)
        question = questions.get(check.question_id)
        asked = (question,) if question is not None else [q for q in questions.answerable if q.id in judgment.answers]
        mine = "; ".join(
            f"{q.label}: {q.words_on_screen(judgment.answers.get(q.id), judgment.display_order)}" for q in asked
        )
        entries.append(
            FeedbackEntry(
                kind="spot check",
                at=check.reviewed_at,
                item_id=judgment.item_id,
                prompt=prompt_text(judgment.item.prompt),
                your_answer=mine,
                outcome="A reviewer marked this judgment correct."
                if check.correct
                else "A reviewer marked this judgment incorrect.",
                agreed=bool(check.correct),
                note=check.note,
                guideline=guideline_passage(judgment.rubric_version, check.question_id),
            )
        )
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries


__all__ = ["FeedbackEntry", "GuidelinePassage", "guideline_passage", "rater_feedback"]
