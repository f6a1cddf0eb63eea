"""How many rows an export would write, and why the other rated units drop out, without writing it.

``count_preferences`` reads only what the decision needs (one small row per live
judgment, through ``votes.count_votes``) and applies the same rule and filters as the
export (``votes.judge_batch``), so its counts equal the export's: no texts are read, no
file is written and no alpha is computed. The export page shows it as the options change.
"""

from __future__ import annotations

from collections import Counter
from contextlib import closing
from dataclasses import dataclass

import numpy as np
from sqlalchemy import inspect, not_, select
from sqlalchemy.orm import Session

from ..db import read_snapshot
from ..models import Item, Project, RubricVersion
from .judge_labels import export_judge_version
from .options import ExportOptions, Plan
from .plan import make_plan
from .preferences import COUNTS
from .queries import exportable_items, rating_codes, stream_columns
from .votes import adjudicated_choices, count_votes, dawid_skene_posteriors, judge_batch


@dataclass(frozen=True)
class PreferenceCounts:
    """The counts an export with the same options reports (``ExportSummary``'s), summed over
    versions; ``judge_exported`` and ``judge_rows`` count the judge labels' items and rows."""

    adjudicated: int
    ratings: int
    items_considered: int
    exported: int
    rows: int
    dropped_tie: int
    dropped_no_majority: int
    dropped_too_few_raters: int
    dropped_low_agreement: int
    judge_exported: int = 0
    judge_rows: int = 0


def count_preferences(
    session: Session,
    project: Project,
    options: ExportOptions = ExportOptions(),  # noqa: B008 - frozen, so one shared default is safe
    calibration_thresholds=None,
) -> PreferenceCounts:
    """The counts ``export_preferences`` would report with these options; refuses what it refuses."""
    with read_snapshot(session) as reader:
        project = reader.get(Project, inspect(project).identity[0])
        plan = make_plan(reader, project, options, calibration_thresholds)
        totals, judged, rated = Counter(), Counter(), {}
        for version, question_id in plan.versions:
            if question_id is not None:
                counts, rated[version.id] = _count_version(reader, project, version, question_id, plan)
                totals.update(counts)
        for version, question_id in plan.judge_versions:
            if question_id is not None:
                judged.update(
                    export_judge_version(reader, project, version, question_id, plan, rated.get(version.id, []))
                )
    return PreferenceCounts(
        **{key: totals.get(key, 0) for key in COUNTS}, judge_exported=judged["exported"], judge_rows=judged["rows"]
    )


def _count_version(
    session: Session, project: Project, version: RubricVersion, question_id: str, plan: Plan
) -> tuple[Counter, np.ndarray]:
    """The version's counts, and the ids of the items raters answered under it."""
    opts = plan.options
    posteriors = None
    if opts.aggregate == "dawid_skene":
        posteriors = dawid_skene_posteriors(session, project, version, question_id, plan)
        if posteriors is None:
            return Counter(), np.zeros(0, dtype=np.int64)
    votes = count_votes(session, project, version, question_id, plan)
    left_out = _left_out(session, project, opts.include_gold)
    if not plan.per_rater:
        pos = np.flatnonzero(~np.isin(votes.item_ids, left_out))
        cols = {"item_pk": votes.item_ids[pos], **votes.columns(pos)}
        adjudicated = adjudicated_choices(session, project, question_id) if opts.prefer_adjudicated else None
        return Counter(judge_batch(cols, plan, posteriors, adjudicated).counts(plan)), votes.item_ids
    counts = Counter()
    query = rating_codes(project, version, question_id, plan.excluded)
    with closing(stream_columns(session, query, opts.batch_size)) as batches:
        for items, codes, strengths in batches:
            kept = ~np.isin(items, left_out)
            pos, _ = votes.locate(items[kept])
            cols = {"item_pk": items[kept], **votes.columns(pos), "own": codes[kept], "own_strength": strengths[kept]}
            counts.update(judge_batch(cols, plan, None, None).counts(plan))
    return counts, votes.item_ids


def _left_out(session: Session, project: Project, include_gold: bool) -> np.ndarray:
    """Ids of the project's gold items and honeypots (none when they are included)."""
    if include_gold:
        return np.zeros(0, dtype=np.int64)
    query = select(Item.id).where(Item.project_id == project.id, not_(exportable_items(False)))
    return np.fromiter(session.scalars(query), dtype=np.int64)
