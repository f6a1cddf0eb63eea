"""Model error analysis from a rubric's failure tags (a categorical question with ``multiple``).

Each live judgment of a single-response item tags that response's model with zero or more
failures. Per model and tag: the share of its judgments with the tag, with a 95% Wilson
interval. The top recurring failure modes come with example items.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import InvalidInput
from ..models import Item, Judgment, Project, Response, RubricVersion
from ..rubric.questions import CategoricalQuestion, Questions
from ..stats.binomial import Proportion, wilson_interval
from .adjudication import prompt_text
from .rubrics import current_version


@dataclass(frozen=True)
class FailureExample:
    item_id: int
    external_id: str
    model: str
    prompt: str


@dataclass(frozen=True)
class FailureMode:
    tag: str
    label: str
    count: int
    share: float  # of all tagged-question judgments
    examples: tuple[FailureExample, ...]


@dataclass(frozen=True)
class ModelFailures:
    model: str
    n_judgments: int
    rates: tuple[Proportion, ...]  # in the order of ErrorAnalysis.tags


@dataclass(frozen=True)
class ErrorAnalysis:
    question_id: str
    question_label: str
    tags: tuple[tuple[str, str], ...]  # (value, label)
    n_judgments: int
    models: tuple[ModelFailures, ...]
    top: tuple[FailureMode, ...]


def failure_question(document: Any, question_id: str | None = None) -> CategoricalQuestion | None:
    """The rubric's failure-tag question: ``question_id``, or the first multiple-choice categorical."""
    candidates = [q for q in Questions.of(document).of_type("categorical") if q.multiple]
    if question_id is None:
        return candidates[0] if candidates else None
    found = next((q for q in candidates if q.id == question_id), None)
    if found is None:
        raise InvalidInput(f"{question_id!r} is not a failure-tag question (a categorical with multiple: true)")
    return found


def error_analysis(
    session: Session, project: Project, question_id: str | None = None, n_examples: int = 3
) -> ErrorAnalysis | None:
    """Failure rates per model and the top failure modes; None if the rubric has no tag question."""
    question = failure_question(current_version(session, project).document, question_id)
    if question is None:
        return None
    qid = question.id
    versions = [
        v.id
        for v in session.scalars(select(RubricVersion).where(RubricVersion.rubric_id == project.rubric_id))
        if Questions.of(v.document).get(qid) is not None
    ]
    single = (
        select(Response.item_id)
        .join(Item, Item.id == Response.item_id)
        .where(Item.project_id == project.id)
        .group_by(Response.item_id)
        .having(func.count() == 1)
    )
    rows = session.execute(
        select(Judgment.item_id, Judgment.answers[qid], Response.model, Item.external_id, Item.prompt)
        .join(Item, Item.id == Judgment.item_id)
        .join(Response, (Response.item_id == Judgment.item_id) & (Response.position == 0))
        .where(
            Judgment.project_id == project.id,
            Judgment.superseded_by_id.is_(None),
            Item.is_gold.is_(False),
            Judgment.rubric_version_id.in_(versions),
            Judgment.item_id.in_(single),
        )
        .order_by(Judgment.id)
    ).all()
    tags = tuple((o.value, o.label) for o in question.options)
    known = {t for t, _ in tags}
    per_model: dict[str, Counter] = defaultdict(Counter)
    judged: Counter = Counter()
    overall: Counter = Counter()
    examples: dict[str, list[FailureExample]] = defaultdict(list)
    for item_id, answer, model, external_id, prompt in rows:
        judged[model] += 1
        chosen = {a for a in answer if a in known} if isinstance(answer, list) else set()
        for tag in chosen:
            per_model[model][tag] += 1
            overall[tag] += 1
            seen = {e.item_id for e in examples[tag]}
            if len(examples[tag]) < n_examples and item_id not in seen:
                examples[tag].append(FailureExample(item_id, external_id, model, prompt_text(prompt)))
    models = tuple(
        ModelFailures(model, judged[model], tuple(wilson_interval(per_model[model][t], judged[model]) for t, _ in tags))
        for model in sorted(judged)
    )
    labels = dict(tags)
    total = sum(judged.values())
    top = tuple(
        FailureMode(tag, labels[tag], n, n / total, tuple(examples[tag]))
        for tag, n in sorted(overall.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    return ErrorAnalysis(qid, question.label, tags, total, models, top)
