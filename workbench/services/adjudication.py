"""Disagreement queue and adjudication.

Items whose live judgments disagree on a question under a rule (``DisagreementRule``) are
listed for adjudicators. An adjudicator sees every judgment under a pseudonymous rater id
("R1", "R2", ... in the order the raters first judged in the project) with its rationale,
and records a final answer, in canonical orientation, with a note. An adjudicated item can
be promoted to gold: its final answers become the gold answer and the notes the rationale.

Exports prefer adjudicated answers over aggregation through :func:`adjudicated_answers`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import jsonschema
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import FieldError, InvalidInput, NotFound, schema_message
from ..models import Adjudication, Item, Judgment, Project, RubricVersion, User, utcnow
from ..rubric.questions import Question, Questions
from .questions import MeasuredQuestion, find_question, measured_questions
from .rubrics import current_version

RULES = ("no-majority", "any", "spread")


# --------------------------------------------------------------------------- the rule


@dataclass(frozen=True)
class DisagreementRule:
    """When the judgments of an item disagree on a question.

    - ``no-majority``: no single answer is held by more than half of the judgments;
    - ``any``: the judgments are not unanimous;
    - ``spread>N``: on a scale (Likert, or a pairwise signed strength), highest minus lowest
      answer exceeds N.
    """

    kind: str = "no-majority"
    spread: float = 2.0

    def __str__(self) -> str:
        return f"spread>{self.spread:g}" if self.kind == "spread" else self.kind

    def disagrees(self, codes: list[float], question: MeasuredQuestion) -> bool:
        if len(codes) < 2:
            return False
        if self.kind == "spread":
            return max(codes) - min(codes) > self.spread
        counts = Counter(codes)
        if self.kind == "any":
            return len(counts) > 1
        return counts.most_common(1)[0][1] * 2 <= len(codes)


def parse_rule(text: str | None) -> DisagreementRule:
    """``no-majority`` (default), ``any`` or ``spread>N`` (e.g. ``spread>2``)."""
    text = (text or "no-majority").strip().replace(" ", "")
    if text in ("no-majority", "any"):
        return DisagreementRule(text)
    match = re.fullmatch(r"spread>(\d+(?:\.\d+)?)", text)
    if match:
        return DisagreementRule("spread", float(match.group(1)))
    raise InvalidInput(
        "unknown disagreement rule", [FieldError("rule", "use no-majority, any or spread>N (e.g. spread>2)")]
    )


# --------------------------------------------------------------------------- helpers


def rater_pseudonyms(session: Session, project: Project) -> dict[int, str]:
    """``R1``, ``R2``, ... by the order in which raters first judged in the project."""
    rows = session.execute(
        select(Judgment.rater_id, func.min(Judgment.id))
        .where(Judgment.project_id == project.id)
        .group_by(Judgment.rater_id)
    ).all()
    ordered = sorted(rows, key=lambda r: r[1])
    return {rater_id: f"R{n}" for n, (rater_id, _) in enumerate(ordered, start=1)}


def _live_answers(session: Session, project: Project, question_id: str, item_ids=None):
    query = (
        select(Judgment.item_id, Judgment.answers[question_id])
        .join(Item, Item.id == Judgment.item_id)
        .where(Judgment.project_id == project.id, Judgment.superseded_by_id.is_(None), Item.is_gold.is_(False))
        .order_by(Judgment.item_id, Judgment.id)
    )
    if item_ids is not None:
        query = query.where(Judgment.item_id.in_(item_ids))
    by_item: dict[int, list[Any]] = {}
    for item_id, answer in session.execute(query):
        by_item.setdefault(item_id, []).append(answer)
    return by_item


def majority_answer(question: MeasuredQuestion, answers: list[Any]) -> Any | None:
    """The answer held by more than half of the judgments (pairwise: by choice), else None."""
    codes = [question.code(a) for a in answers]
    counted = Counter(c for c in codes if c is not None)
    if not counted:
        return None
    code, n = counted.most_common(1)[0]
    if n * 2 <= len(answers):
        return None
    return next(a for a, c in zip(answers, codes, strict=True) if c == code)


# --------------------------------------------------------------------------- the queue


@dataclass(frozen=True)
class QueueRow:
    item_id: int
    external_id: str
    prompt: str
    n_judgments: int
    answers: tuple[tuple[str, int], ...]  # (answer in words, how many judgments gave it)
    majority: str | None  # what aggregation would use, in words (None: no majority)
    final: str | None  # the adjudicated answer in words
    note: str
    promoted: bool


@dataclass(frozen=True)
class DisagreementQueue:
    question: MeasuredQuestion
    questions: tuple[MeasuredQuestion, ...]
    rule: DisagreementRule
    open: tuple[QueueRow, ...]
    resolved: tuple[QueueRow, ...]


def prompt_text(prompt: Any) -> str:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list):
        return "\n\n".join(str(m.get("content", "")) for m in prompt if isinstance(m, Mapping))
    return str(prompt)


@dataclass(frozen=True)
class Disagreements:
    """The items whose live judgments disagree on a question under a rule, as rows without
    their adjudication: the costly part of the queue, which can be shared for a while."""

    question: MeasuredQuestion
    questions: tuple[MeasuredQuestion, ...]
    rule: DisagreementRule
    rows: tuple[QueueRow, ...]


def _rows(session: Session, question: MeasuredQuestion, by_item: Mapping[int, list], item_ids) -> list[QueueRow]:
    items = {i.id: i for i in session.scalars(select(Item).where(Item.id.in_(item_ids)))} if item_ids else {}
    rows = []
    for item_id in sorted(items):
        answers = by_item.get(item_id, [])
        counted = Counter(question.question.words(a) for a in answers if question.code(a) is not None)
        majority = majority_answer(question, answers)
        rows.append(
            QueueRow(
                item_id=item_id,
                external_id=items[item_id].external_id,
                prompt=prompt_text(items[item_id].prompt),
                n_judgments=len(answers),
                answers=tuple(sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))),
                majority=None if majority is None else question.question.words(majority),
                final=None,
                note="",
                promoted=False,
            )
        )
    return rows


def disagreeing_items(
    session: Session, project: Project, question_key: str | None = None, rule: DisagreementRule | None = None
) -> Disagreements:
    """Every item whose live judgments disagree on one question (adjudicated or not)."""
    document = current_version(session, project).document
    question = find_question(document, question_key)
    rule = rule or DisagreementRule()
    if rule.kind == "spread" and question.level.value == "nominal":
        raise InvalidInput(
            "a spread rule needs a scale", [FieldError("rule", f"{question.label} is nominal; use no-majority or any")]
        )
    by_item = _live_answers(session, project, question.question_id)
    flagged = [
        item_id
        for item_id, answers in by_item.items()
        if rule.disagrees([c for c in (question.code(a) for a in answers) if c is not None], question)
    ]
    rows = _rows(session, question, by_item, flagged)
    return Disagreements(question, tuple(measured_questions(document)), rule, tuple(rows))


def disagreement_queue(
    session: Session,
    project: Project,
    question_key: str | None = None,
    rule: DisagreementRule | None = None,
    found: Disagreements | None = None,
) -> DisagreementQueue:
    """Open disagreements (not yet adjudicated) and adjudicated items for one question.

    ``found``: ``disagreeing_items`` computed earlier (shared through the statistics cache);
    the adjudications are always read afresh, so a decision shows at once.
    """
    found = found or disagreeing_items(session, project, question_key, rule)
    question = found.question
    decided = {
        a.item_id: a
        for a in session.scalars(
            select(Adjudication).where(
                Adjudication.project_id == project.id, Adjudication.question_id == question.question_id
            )
        )
    }
    rows = {row.item_id: row for row in found.rows}
    # Adjudicated items the judgments agree on now (or that became gold, so no longer live).
    if missing := sorted(set(decided) - set(rows)):
        by_item = _live_answers(session, project, question.question_id, missing)
        rows.update((row.item_id, row) for row in _rows(session, question, by_item, missing))
    open_rows, resolved_rows = [], []
    for item_id in sorted(rows):
        adjudication = decided.get(item_id)
        if adjudication is None:
            open_rows.append(rows[item_id])
            continue
        final = question.question.words(adjudication.answer)
        promoted = bool(adjudication.promoted_to_gold)
        resolved_rows.append(replace(rows[item_id], final=final, note=adjudication.note, promoted=promoted))
    return DisagreementQueue(question, found.questions, found.rule, tuple(open_rows), tuple(resolved_rows))


# --------------------------------------------------------------------------- one case


@dataclass(frozen=True)
class JudgmentView:
    pseudonym: str
    answer: str  # this question's answer in words, canonical orientation
    others: tuple[tuple[str, str], ...]  # (question label, answer in words) for the other questions
    rationale: str


@dataclass(frozen=True)
class AdjudicationCase:
    project: Project
    item: Item
    version: RubricVersion
    question: Question  # the rubric's question
    judgments: tuple[JudgmentView, ...]
    existing: Adjudication | None


def adjudication_case(
    session: Session, project: Project, item_id: int, question_id: str | None = None
) -> AdjudicationCase:
    item = session.get(Item, item_id)
    if item is None or item.project_id != project.id:
        raise NotFound(f"no item {item_id} in this project")
    version = current_version(session, project)
    questions = Questions.of(version.document)
    question_id = question_id or questions.measure(None).question_id
    question_id = question_id.removesuffix(".strength")
    question = questions.question(question_id)
    names = rater_pseudonyms(session, project)
    judgments = session.scalars(
        select(Judgment).where(Judgment.item_id == item.id, Judgment.superseded_by_id.is_(None)).order_by(Judgment.id)
    ).all()
    views = []
    for j in judgments:
        asked = Questions.of(j.rubric_version.document)
        texts = [str(j.answers[q.id]) for q in asked.of_type("text") if j.answers.get(q.id)]
        others = tuple(
            (q.label, q.words(j.answers[q.id])) for q in asked.answerable if q.id != question_id and q.id in j.answers
        )
        views.append(
            JudgmentView(
                names.get(j.rater_id, "R?"), question.words(j.answers.get(question_id)), others, "\n\n".join(texts)
            )
        )
    existing = session.scalar(
        select(Adjudication).where(Adjudication.item_id == item.id, Adjudication.question_id == question_id)
    )
    return AdjudicationCase(project, item, version, question, tuple(views), existing)


def record_adjudication(
    session: Session, project: Project, item_id: int, question_id: str, answer: Any, note: str, adjudicator: User
) -> Adjudication:
    """Store (or replace) the final answer of one question of an item, canonical orientation."""
    item = session.get(Item, item_id)
    if item is None or item.project_id != project.id:
        raise NotFound(f"no item {item_id} in this project")
    version = current_version(session, project)
    question = Questions.of(version.document).question(question_id)
    note = (note or "").strip()
    errors = []
    if answer is None:
        errors.append(FieldError(question_id, "choose the final answer"))
    else:
        errors += [
            FieldError("/".join([question_id, *map(str, e.absolute_path)]), schema_message(e))
            for e in jsonschema.Draft202012Validator(question.schema()).iter_errors(answer)
        ]
    if len(note) > 5000:
        errors.append(FieldError("note", "a note has at most 5000 characters"))
    if errors:
        raise InvalidInput("the adjudication is incomplete", errors)
    adjudication = session.scalar(
        select(Adjudication).where(Adjudication.item_id == item.id, Adjudication.question_id == question_id)
    )
    if adjudication is None:
        adjudication = Adjudication(project_id=project.id, item_id=item.id, question_id=question_id)
        session.add(adjudication)
    adjudication.rubric_version_id = version.id
    adjudication.answer = answer
    adjudication.note = note
    adjudication.adjudicator_id = adjudicator.id
    adjudication.created_at = utcnow()
    session.flush()
    return adjudication


def promote_to_gold(session: Session, project: Project, item_id: int) -> Item:
    """Make an adjudicated item a gold item: final answers as the gold answer, notes as rationale."""
    item = session.get(Item, item_id)
    if item is None or item.project_id != project.id:
        raise NotFound(f"no item {item_id} in this project")
    decided = session.scalars(
        select(Adjudication).where(Adjudication.item_id == item.id).order_by(Adjudication.question_id)
    ).all()
    if not decided:
        raise InvalidInput("only an adjudicated item can become gold", [FieldError("item", "adjudicate it first")])
    item.is_gold = True
    item.gold_answer = {**(item.gold_answer or {}), **{a.question_id: a.answer for a in decided}}
    item.gold_rationale = "\n\n".join(a.note for a in decided if a.note) or None
    for a in decided:
        a.promoted_to_gold = True
    session.flush()
    return item


def adjudicated_answers(session: Session, project: Project) -> dict[int, dict[str, Any]]:
    """Item id → {question id: final answer} for every adjudicated item of the project.

    Answers are in canonical orientation (``A`` = the item's first response), in the shape
    of a judgment's answers, so an export can use them in place of the aggregated answer:
    for each item and question, prefer ``adjudicated_answers(...)[item_id][question_id]``
    when present, and aggregate the raters' judgments otherwise.
    """
    out: dict[int, dict[str, Any]] = {}
    rows = session.execute(
        select(Adjudication.item_id, Adjudication.question_id, Adjudication.answer)
        .where(Adjudication.project_id == project.id)
        .order_by(Adjudication.item_id, Adjudication.question_id)
    )
    for item_id, question_id, answer in rows:
        out.setdefault(item_id, {})[question_id] = answer
    return out


@dataclass(frozen=True)
class AdjudicationCounts:
    open: int
    adjudicated: int
    promoted: int


def adjudication_counts(session: Session, project: Project, rule: DisagreementRule | None = None) -> AdjudicationCounts:
    queue = disagreement_queue(session, project, None, rule)
    promoted = (
        session.scalar(
            select(func.count(func.distinct(Adjudication.item_id))).where(
                Adjudication.project_id == project.id, Adjudication.promoted_to_gold.is_(True)
            )
        )
        or 0
    )
    adjudicated = (
        session.scalar(
            select(func.count(func.distinct(Adjudication.item_id))).where(Adjudication.project_id == project.id)
        )
        or 0
    )
    return AdjudicationCounts(len(queue.open), int(adjudicated), int(promoted))
