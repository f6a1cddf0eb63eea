"""A judge measured against people: reads human majorities and judge verdicts, returns figures.

Human raters are the live judgments (``superseded_by_id IS NULL``) of users that are not
machines: people rating in the app and raters imported with ``import-judgments`` unless
marked as machines there. Gold items are left out, as in the other statistics. The
question is a choice question of the project's current rubric version (pairwise choice,
categorical with one answer, yes/no); by default the first one. The judge's verdict on an
item is its primary ask (``swapped`` false); the swapped ask of a both-orders run is used
for position consistency and the left-pick share only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import InvalidInput, NotFound
from ..models import Item, Judge, JudgeVerdict, Judgment, Project, Response, User
from ..stats.binomial import Proportion
from ..stats.judge_alignment import (
    Agreement,
    LeftShare,
    ReliabilityDiagram,
    SideBias,
    human_majority,
    judge_agreement,
    left_share,
    position_consistency,
    reliability_diagram,
    side_bias,
)
from ..stats.judge_flags import JudgeThresholds, judge_flags
from .questions import MeasuredQuestion, measured_questions
from .rubrics import current_version

CHOICE_KINDS = ("pairwise", "categorical", "binary")


@dataclass(frozen=True)
class Verdict:
    code: int | None
    confidence: float | None
    display_order: tuple[int, ...]


@dataclass(frozen=True)
class JudgeVerdicts:
    """A judge's verdicts on one question, by item id: the primary ask and the swapped one."""

    primary: dict[int, Verdict]
    swapped: dict[int, Verdict]


@dataclass(frozen=True)
class JudgeAlignmentReport:
    judge: str
    model: str
    question: MeasuredQuestion
    labels: tuple[str, ...]  # answer of each code, in words
    n_verdicts: int  # primary verdicts answering the question
    n_human_items: int  # items with human judgments of the question
    agreement: Agreement
    consistency: Proportion
    left: LeftShare | None  # pairwise questions only
    length: SideBias | None  # pairwise questions only
    self_preference: SideBias | None  # pairwise items where one response is the judge's model's
    reliability: ReliabilityDiagram
    flags: tuple[str, ...]


def find_judge(session: Session, name: str) -> Judge:
    judge = session.scalar(select(Judge).where(Judge.name == name))
    if judge is None:
        known = ", ".join(session.scalars(select(Judge.name).order_by(Judge.name))) or "none"
        raise NotFound(f"no judge {name!r} (judges: {known})")
    return judge


def project_judges(session: Session, project: Project) -> list[Judge]:
    """The judges with verdicts in the project, by name."""
    ids = select(JudgeVerdict.judge_id).where(JudgeVerdict.project_id == project.id).distinct()
    return list(session.scalars(select(Judge).where(Judge.id.in_(ids)).order_by(Judge.name)))


def choice_question(document: dict[str, Any], question_id: str | None) -> MeasuredQuestion:
    """The choice question a judge is measured on (default: the first one of the version)."""
    choices = [q for q in measured_questions(document) if q.kind in CHOICE_KINDS and q.key == q.question_id]
    if not choices:
        raise InvalidInput("the rubric has no pairwise, categorical or yes/no question to measure a judge on")
    if question_id is None:
        return choices[0]
    for q in choices:
        if q.question_id == question_id:
            return q
    raise InvalidInput(f"{question_id!r} is not a choice question; choose from {', '.join(q.key for q in choices)}")


def labels_of(question: MeasuredQuestion) -> tuple[str, ...]:
    if question.kind == "binary":
        return ("no", "yes")
    return tuple(str(v) for v in question.domain)


def _code(question: MeasuredQuestion, answer: Any) -> int | None:
    value = question.code(answer)
    return None if value is None else int(value)


def human_votes(session: Session, project: Project, question: MeasuredQuestion) -> dict[int, list[int]]:
    """Codes of the live human judgments of each non-gold item, by item id (in judgment order)."""
    rows = session.execute(
        select(Judgment.item_id, Judgment.answers[question.question_id])
        .join(User, User.id == Judgment.rater_id)
        .join(Item, Item.id == Judgment.item_id)
        .where(
            Judgment.project_id == project.id,
            Judgment.superseded_by_id.is_(None),
            User.is_machine.is_(False),
            Item.is_gold.is_(False),
        )
        .order_by(Judgment.item_id, Judgment.id)
    )
    votes: dict[int, list[int]] = {}
    for item_id, answer in rows:
        code = _code(question, answer)
        if code is not None:
            votes.setdefault(item_id, []).append(code)
    return votes


def judge_verdicts(session: Session, project: Project, judge: Judge, question: MeasuredQuestion) -> JudgeVerdicts:
    rows = session.execute(
        select(
            JudgeVerdict.item_id,
            JudgeVerdict.swapped,
            JudgeVerdict.answers,
            JudgeVerdict.confidences,
            JudgeVerdict.display_order,
        )
        .join(Item, Item.id == JudgeVerdict.item_id)
        .where(JudgeVerdict.project_id == project.id, JudgeVerdict.judge_id == judge.id, Item.is_gold.is_(False))
        .order_by(JudgeVerdict.item_id)
    )
    primary: dict[int, Verdict] = {}
    swapped: dict[int, Verdict] = {}
    qid = question.question_id
    for item_id, is_swapped, answers, confidences, order in rows:
        confidence = (confidences or {}).get(qid)
        verdict = Verdict(
            _code(question, (answers or {}).get(qid)),
            float(confidence) if isinstance(confidence, int | float) and not isinstance(confidence, bool) else None,
            tuple(order or ()),
        )
        (swapped if is_swapped else primary)[item_id] = verdict
    return JudgeVerdicts(primary, swapped)


def _responses(session: Session, project: Project) -> dict[int, dict[int, tuple[str, int]]]:
    """(model, length in characters) of the first two responses of every item."""
    rows = session.execute(
        select(Response.item_id, Response.position, Response.model, func.length(Response.text))
        .join(Item, Item.id == Response.item_id)
        .where(Item.project_id == project.id, Response.position.in_((0, 1)))
    )
    out: dict[int, dict[int, tuple[str, int]]] = {}
    for item_id, position, model, length in rows:
        out.setdefault(item_id, {})[position] = (model or "", int(length or 0))
    return out


def _picked_side(code: int | None) -> int | None:
    """Canonical position chosen by a pairwise code (A = 0, B = 1; ties and blanks: None)."""
    return code if code in (0, 1) else None


def _side_figures(judge: Judge, votes, verdicts: JudgeVerdicts, responses) -> tuple[SideBias, SideBias]:
    """Length bias and self-preference on the items both the judge and humans answered."""
    length_j, length_h, length_items = [], [], 0
    self_j, self_h, self_items = [], [], 0
    for item_id, verdict in verdicts.primary.items():
        pair = responses.get(item_id, {})
        if item_id not in votes or len(pair) < 2:
            continue
        (model_a, len_a), (model_b, len_b) = pair[0], pair[1]
        judge_side = _picked_side(verdict.code)
        human_sides = [s for s in (_picked_side(c) for c in votes[item_id]) if s is not None]
        if len_a != len_b:
            longer = 0 if len_a > len_b else 1
            length_items += 1
            if judge_side is not None:
                length_j.append(judge_side == longer)
            length_h.extend(s == longer for s in human_sides)
        own = [p for p, model in ((0, model_a), (1, model_b)) if model and model == judge.model]
        if len(own) == 1:
            self_items += 1
            if judge_side is not None:
                self_j.append(judge_side == own[0])
            self_h.extend(s == own[0] for s in human_sides)
    return side_bias(length_j, length_h, length_items), side_bias(self_j, self_h, self_items)


def _left_share(verdicts: JudgeVerdicts) -> LeftShare:
    chosen, left = [], []
    for verdict in [*verdicts.primary.values(), *verdicts.swapped.values()]:
        side = _picked_side(verdict.code)
        if side is not None and verdict.display_order:
            chosen.append(side)
            left.append(verdict.display_order[0])
    return left_share(chosen, left)


def judge_alignment(
    session: Session,
    project: Project,
    judge: Judge,
    question_id: str | None = None,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    thresholds: JudgeThresholds | None = None,
) -> JudgeAlignmentReport:
    """Every figure of one judge on one question of the project (see ``stats.judge_alignment``)."""
    question = choice_question(current_version(session, project).document, question_id)
    votes = human_votes(session, project, question)
    verdicts = judge_verdicts(session, project, judge, question)
    answered = {i: v.code for i, v in verdicts.primary.items() if v.code is not None}
    agreement = judge_agreement(
        votes, answered, len(question.domain), level=question.level, n_resamples=n_resamples, seed=seed
    )
    pairs = {
        i: (v.code, verdicts.swapped[i].code)
        for i, v in verdicts.primary.items()
        if i in verdicts.swapped and v.code is not None and verdicts.swapped[i].code is not None
    }
    consistency = position_consistency(pairs)
    confidences, agrees = [], []
    for item_id in sorted(answered):
        verdict = verdicts.primary[item_id]
        majority = human_majority(votes.get(item_id, []))
        if majority is not None and verdict.confidence is not None and 0.0 <= verdict.confidence <= 1.0:
            confidences.append(verdict.confidence)
            agrees.append(verdict.code == majority)
    reliability = reliability_diagram(confidences, agrees)
    left = length = self_preference = None
    if question.kind == "pairwise":
        left = _left_share(verdicts)
        length, self_preference = _side_figures(judge, votes, verdicts, _responses(session, project))
    flags = judge_flags(
        agreement,
        consistency,
        left or left_share([], []),
        length,
        self_preference,
        reliability,
        thresholds or JudgeThresholds(),
    )
    return JudgeAlignmentReport(
        judge=judge.name,
        model=judge.model,
        question=question,
        labels=labels_of(question),
        n_verdicts=len(answered),
        n_human_items=len(votes),
        agreement=agreement,
        consistency=consistency,
        left=left,
        length=length,
        self_preference=self_preference,
        reliability=reliability,
        flags=flags,
    )
