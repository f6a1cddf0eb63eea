"""Agreement per question and rubric version, from value counts built in SQL.

For each question one ``GROUP BY item, value`` query produces per-unit value counts, which
go straight to ``krippendorff.alpha(value_counts=...)`` — no raters × units matrix.
Pairwise questions are measured twice, in canonical orientation: nominal on the choice
(A / B / tie) and ordinal on the signed strength (+s for A, -s for B, 0 for a tie).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain import QuestionAlpha
from ..models import Judgment, Project, RubricVersion
from ..stats.alpha import alpha_with_ci
from .questions import MeasuredQuestion, measured_questions


def _counts_matrix(rows: Iterable[tuple[int, float | None, int]], n_values: int) -> np.ndarray:
    """(unit, value code, count) rows → units × values count matrix."""
    units: dict[int, np.ndarray] = {}
    for unit, code, count in rows:
        if code is None:
            continue
        units.setdefault(unit, np.zeros(n_values, dtype=np.int64))[int(code)] += count
    if not units:
        return np.zeros((0, n_values), dtype=np.int64)
    return np.vstack([units[u] for u in sorted(units)])


def value_count_rows(session: Session, project: Project, version: RubricVersion, q: MeasuredQuestion):
    """(item id, index into ``q.domain``, count) for every live judgment, grouped in SQL."""
    answer = Judgment.answers[q.question_id]
    if q.kind == "pairwise":
        columns = (answer["choice"].as_string(), answer["strength"].as_integer())
    elif q.kind == "likert":
        columns = (answer.as_integer(),)
    elif q.kind == "binary":
        columns = (answer.as_boolean(),)
    else:
        columns = (answer.as_string(),)
    query = (
        select(Judgment.item_id, *columns, func.count())
        .where(
            Judgment.project_id == project.id,
            Judgment.rubric_version_id == version.id,
            Judgment.superseded_by_id.is_(None),
        )
        .group_by(Judgment.item_id, *columns)
    )
    index = {float(v): i for i, v in enumerate(q.value_domain)}
    for row in session.execute(query):
        item_id, count = row[0], row[-1]
        if q.kind == "pairwise":
            stored = {"choice": row[1]} if row[2] is None else {"choice": row[1], "strength": row[2]}
        elif q.kind == "binary":
            stored = None if row[1] is None else bool(row[1])
        else:
            stored = row[1]
        code = q.code(stored)
        yield item_id, (None if code is None else index.get(code)), count


def project_agreement(
    session: Session, project: Project, n_resamples: int = 1000, seed: int = 0
) -> list[QuestionAlpha]:
    """Alpha with a bootstrap CI for every measurable question of every version used."""
    version_ids = session.scalars(
        select(Judgment.rubric_version_id).where(Judgment.project_id == project.id).distinct()
    ).all()
    versions = sorted((session.get(RubricVersion, vid) for vid in version_ids), key=lambda v: v.number)
    out: list[QuestionAlpha] = []
    for version in versions:
        for q in measured_questions(version.document):
            counts = _counts_matrix(value_count_rows(session, project, version, q), len(q.domain))
            result = alpha_with_ci(counts, q.value_domain, q.level, n_resamples=n_resamples, seed=seed)
            out.append(QuestionAlpha(q.key, q.label, version.number, result))
    return out
