"""Agreement per rubric version, across every project that uses the rubric.

Each version is measured on its own judgments only: versions are never pooled, so an author
can see whether a new guideline raised agreement. Items belong to one project, so value
counts from several projects simply stack (units stay distinct).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain import AlphaResult
from ..models import Judgment, Project, Rubric, RubricVersion
from ..stats.alpha import alpha_with_ci
from .agreement import _counts_matrix, value_count_rows
from .questions import measured_questions


@dataclass(frozen=True)
class VersionAgreement:
    version: RubricVersion
    n_items: int
    n_judgments: int
    alphas: dict[str, AlphaResult]  # measured question key -> result


@dataclass(frozen=True)
class RubricAgreement:
    questions: tuple[tuple[str, str], ...]  # (key, label) in rubric order, newest labels first
    versions: tuple[VersionAgreement, ...]  # oldest first; only versions with judgments


def rubric_agreement(session: Session, rubric: Rubric, n_resamples: int = 200, seed: int = 0) -> RubricAgreement:
    projects = list(session.scalars(select(Project).where(Project.rubric_id == rubric.id)))
    live = Judgment.superseded_by_id.is_(None)
    totals = {
        vid: (items, judgments)
        for vid, items, judgments in session.execute(
            select(Judgment.rubric_version_id, func.count(func.distinct(Judgment.item_id)), func.count())
            .join(RubricVersion, RubricVersion.id == Judgment.rubric_version_id)
            .where(RubricVersion.rubric_id == rubric.id, live)
            .group_by(Judgment.rubric_version_id)
        )
    }
    versions = sorted((session.get(RubricVersion, vid) for vid in totals), key=lambda v: v.number)
    keys: dict[str, str] = {}
    rows = []
    for version in versions:
        alphas = {}
        for q in measured_questions(version.document):
            keys.setdefault(q.key, q.label)
            value_rows = [row for project in projects for row in value_count_rows(session, project, version, q)]
            counts = _counts_matrix(value_rows, len(q.domain))
            alphas[q.key] = alpha_with_ci(counts, q.value_domain, q.level, n_resamples=n_resamples, seed=seed)
        rows.append(VersionAgreement(version, totals[version.id][0], totals[version.id][1], alphas))
    return RubricAgreement(tuple(keys.items()), tuple(rows))
