"""Agreement per question and rubric version, from value counts built in SQL.

For each question one ``GROUP BY item, value`` query produces per-unit value counts, which
go straight to ``krippendorff.alpha(value_counts=...)`` — no raters × units matrix.
Pairwise questions are measured twice, in canonical orientation: nominal on the choice
(A / B / tie) and ordinal on the signed strength (+s for A, -s for B, 0 for a tie).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain import Level, QuestionAlpha
from ..models import Judgment, Project, RubricVersion
from ..stats.alpha import alpha_with_ci

CHOICES = ("A", "B", "tie")


def _counts_matrix(rows: Iterable[tuple[int, Any, int]], domain: list[Any]) -> np.ndarray:
    """(unit, value, count) rows → units × values count matrix over ``domain``."""
    index = {v: i for i, v in enumerate(domain)}
    units: dict[int, np.ndarray] = {}
    for unit, value, count in rows:
        if value is None or value not in index:
            continue
        units.setdefault(unit, np.zeros(len(domain), dtype=np.int64))[index[value]] += count
    if not units:
        return np.zeros((0, len(domain)), dtype=np.int64)
    return np.vstack([units[u] for u in sorted(units)])


def _grouped(session: Session, version_id: int, project_id: int, *values):
    query = (
        select(Judgment.item_id, *values, func.count())
        .where(
            Judgment.project_id == project_id,
            Judgment.rubric_version_id == version_id,
            Judgment.superseded_by_id.is_(None),
        )
        .group_by(Judgment.item_id, *values)
    )
    return session.execute(query).all()


def _question_results(session: Session, project: Project, version: RubricVersion, q: dict[str, Any], n_resamples: int, seed: int):
    qid, kind = q["id"], q["type"]
    label = q.get("label", qid)
    results = []
    if kind == "pairwise":
        choice = Judgment.answers[qid]["choice"].as_string()
        strength = Judgment.answers[qid]["strength"].as_integer()
        rows = _grouped(session, version.id, project.id, choice, strength)
        by_choice: dict[tuple[int, str], int] = {}
        signed: list[tuple[int, int, int]] = []
        for item_id, c, s, n in rows:
            if c is None:
                continue
            by_choice[(item_id, c)] = by_choice.get((item_id, c), 0) + n
            signed.append((item_id, 0 if c == "tie" else (s or 1) * (1 if c == "A" else -1), n))
        counts = _counts_matrix(((u, c, n) for (u, c), n in by_choice.items()), list(CHOICES))
        results.append((f"{qid}", f"{label} (choice)", counts, list(CHOICES), Level.NOMINAL))
        top = q.get("strength", {}).get("max", 1)
        domain = list(range(-top, top + 1))
        results.append((f"{qid}.strength", f"{label} (signed strength)", _counts_matrix(signed, domain), domain, Level.ORDINAL))
    elif kind == "likert" and not q.get("per_response"):
        rows = _grouped(session, version.id, project.id, Judgment.answers[qid].as_integer())
        domain = list(range(q["min"], q["max"] + 1))
        level = Level(q.get("level", "ordinal"))
        results.append((qid, label, _counts_matrix(rows, domain), domain, level))
    elif kind == "categorical" and not q.get("multiple"):
        rows = _grouped(session, version.id, project.id, Judgment.answers[qid].as_string())
        domain = [o["value"] for o in q["options"]]
        results.append((qid, label, _counts_matrix(rows, domain), domain, Level.NOMINAL))
    elif kind == "binary":
        rows = _grouped(session, version.id, project.id, Judgment.answers[qid].as_boolean())
        results.append((qid, label, _counts_matrix(rows, [False, True]), [0, 1], Level.NOMINAL))
    out = []
    for question_id, question_label, counts, domain, level in results:
        numeric_domain = domain if all(isinstance(v, int) for v in domain) else list(range(len(domain)))
        result = alpha_with_ci(counts, numeric_domain, level, n_resamples=n_resamples, seed=seed)
        out.append(QuestionAlpha(question_id, question_label, version.number, result))
    return out


def project_agreement(session: Session, project: Project, n_resamples: int = 1000, seed: int = 0) -> list[QuestionAlpha]:
    """Alpha with a bootstrap CI for every measurable question of every version used."""
    version_ids = session.scalars(
        select(Judgment.rubric_version_id).where(Judgment.project_id == project.id).distinct()
    ).all()
    versions = sorted((session.get(RubricVersion, vid) for vid in version_ids), key=lambda v: v.number)
    out: list[QuestionAlpha] = []
    for version in versions:
        for q in version.document["questions"]:
            out.extend(_question_results(session, project, version, q, n_resamples, seed))
    return out
