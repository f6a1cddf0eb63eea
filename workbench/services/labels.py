"""Aggregated labels: one label per item for a categorical or binary question.

``item_labels`` reads the live judgments of the question (every rubric version, every
item, gold items included) and aggregates them per item:

- ``majority``: the answer held by more than half of the item's ratings
  (``adjudication.majority_answer``, the rule the disagreement queue uses), else no label;
  no posterior.
- ``dawid_skene``: the class with the highest Dawid–Skene posterior, fitted on all the
  question's ratings (``stats.dawid_skene``, run to convergence); ``posterior`` is that
  class's probability.

Labels are the question's own values (``true``/``false`` for a binary question, option
values for a categorical one), read the same from SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import FieldError, InvalidInput, json_text
from ..models import Item, Judgment, Project
from ..rubric.questions import Questions
from ..stats.dawid_skene import dawid_skene
from .adjudication import majority_answer
from .rubrics import current_version

AGGREGATES = ("majority", "dawid_skene")
LABEL_KINDS = ("categorical", "binary")


@dataclass(frozen=True)
class ItemLabel:
    item_id: str  # the item's external id
    label: Any  # None: no majority
    posterior: float | None
    n: int


@dataclass(frozen=True)
class LabelReport:
    question_id: str
    aggregate: str
    labels: tuple[ItemLabel, ...]


def _question(document: Any, question_id: str | None):
    labelled = [
        m for m in Questions.of(document).measures if m.kind in LABEL_KINDS and not m.is_strength
    ]  # multiple-choice questions have no measure
    if question_id is None:
        if not labelled:
            raise InvalidInput(
                "cannot aggregate labels", [FieldError("question", "the rubric has no categorical or binary question")]
            )
        return labelled[0]
    found = next((m for m in labelled if m.question_id == question_id), None)
    if found is None:
        known = ", ".join(m.question_id for m in labelled) or "none"
        raise InvalidInput(
            "cannot aggregate labels",
            [
                FieldError(
                    "question",
                    f"{json_text(question_id)} is not a single-answer categorical or binary question; those are: {known}",
                )
            ],
        )
    return found


def item_labels(
    session: Session, project: Project, question_id: str | None = None, aggregate: str = "majority"
) -> LabelReport:
    """One ``ItemLabel`` per item with at least one answer to the question, in external-id order."""
    if aggregate not in AGGREGATES:
        raise InvalidInput(
            "cannot aggregate labels", [FieldError("aggregate", f"choose one of {', '.join(AGGREGATES)}")]
        )
    measure = _question(current_version(session, project).document, question_id)
    rows = session.execute(
        select(Item.id, Item.external_id, Judgment.rater_id, Judgment.answers[measure.question_id])
        .join(Item, Item.id == Judgment.item_id)
        .where(Judgment.project_id == project.id, Judgment.superseded_by_id.is_(None))
        .order_by(Item.external_id, Judgment.id)
    ).all()
    answers: dict[int, list[Any]] = {}
    names: dict[int, str] = {}
    codes: list[tuple[int, int, int]] = []
    for pk, external_id, rater_id, answer in rows:
        code = measure.code(answer)
        if code is None:
            continue
        names[pk] = external_id
        answers.setdefault(pk, []).append(measure.domain[int(code)])
        codes.append((pk, rater_id, int(code)))
    posterior: dict[int, tuple[Any, float]] = {}
    if aggregate == "dawid_skene" and codes:
        items, raters, labels = (np.asarray(c) for c in zip(*codes, strict=True))
        fit = dawid_skene(items, raters, labels, len(measure.domain))
        for pk, row in zip(fit.item_ids.tolist(), fit.posteriors, strict=True):
            best = int(row.argmax())
            posterior[pk] = (measure.domain[best], float(row[best]))
    out = []
    for pk in sorted(answers, key=lambda p: names[p]):
        given = answers[pk]
        if aggregate == "dawid_skene":
            label, p = posterior[pk]
            out.append(ItemLabel(names[pk], label, round(p, 12), len(given)))
        else:
            out.append(ItemLabel(names[pk], majority_answer(measure, given), None, len(given)))
    return LabelReport(measure.question_id, aggregate, tuple(out))
