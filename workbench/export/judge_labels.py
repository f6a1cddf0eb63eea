"""Judge labels in a preference export: the answers ``judge escalate`` trusted, as rows.

With ``ExportOptions.labels`` ``judge-accepted`` or ``both``, the export also writes one
judge's labels on the items its latest escalation **accepted** (``models.Escalation``):

- A judge label is the judge's primary verdict (the order it was asked in first; the
  swapped repeat is not a second vote), in canonical orientation, under the rubric version
  it was given under, on that version's exported question.
- It is decided as one rating: the winner is its choice, ``margin`` its strength toward it
  (a tie 0), ``n_ratings`` 1 and ``agreement`` 1. ``min_raters``, ``min_agreement``,
  flagged raters and adjudications are about raters' answers and do not apply; ties follow
  ``ties`` as for raters.
- ``both``: a judge label becomes a row only where no rater answered the item under that
  version (counted ``left_to_raters``); where raters did, theirs are the rows, as with
  ``humans``.

Every row then carries its provenance: ``source`` (``humans`` or ``judge``), ``judge`` (the
judge's name) and ``judge_confidence`` (the confidence the escalation compared with its
threshold); ``rater``, in per-rater exports, is ``judge:NAME``. The manifest's ``labels``
section gives the judge, its guarantee (target agreement, delta, threshold) and the counts.
"""

from __future__ import annotations

from collections import Counter
from contextlib import closing
from dataclasses import replace
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from ..models import Escalation, Item, Judge, JudgeVerdict, Project, RubricVersion
from .options import Plan, refuse
from .queries import choice_code, exportable_items, stream_columns, strength, unit_rows
from .rows import Prompts, UnitBatch, arrow_columns, python_columns, select_rows
from .votes import judge_batch, tally_votes

JUDGE_COUNTS = ("accepted", "no_answer", "left_to_raters", "dropped_tie", "exported", "rows")


# -- which judge, which versions -----------------------------------------------------------


def _accepted(project: Project, judge_id):
    """Conditions joining a ``JudgeVerdict`` to its accepted ``Escalation``: primary verdicts only."""
    return and_(
        Escalation.item_id == JudgeVerdict.item_id,
        Escalation.judge_id == JudgeVerdict.judge_id,
        Escalation.project_id == project.id,
        Escalation.accepted.is_(True),
        JudgeVerdict.judge_id == judge_id,
        JudgeVerdict.swapped.is_(False),
    )


def choose_judge(session: Session, project: Project, name: str | None) -> Judge:
    """The judge whose accepted labels are exported, or ``InvalidInput`` saying why there is none."""
    with_labels = session.scalars(
        select(Judge)
        .where(exists().where(Escalation.judge_id == Judge.id, Escalation.project_id == project.id,
                              Escalation.accepted.is_(True)))
        .order_by(Judge.name)
    ).all()  # fmt: skip
    names = ", ".join(j.name for j in with_labels) or "none"
    if name is not None:
        chosen = next((j for j in with_labels if j.name == name), None)
        if chosen is None:
            refuse("judge", f"judge {name!r} has no accepted labels in this project; judges with some: {names}")
        return chosen
    if not with_labels:
        refuse("labels", "no judge has accepted labels in this project; run `workbench judge escalate` first")
    if len(with_labels) > 1:
        refuse("judge", f"several judges have accepted labels ({names}); name one")
    return with_labels[0]


def judge_versions(session: Session, project: Project, judge: Judge) -> list[RubricVersion]:
    """The rubric versions of the judge's accepted primary verdicts in the project, by number."""
    used = select(JudgeVerdict.rubric_version_id).join(Escalation, _accepted(project, judge.id)).distinct()
    return list(session.scalars(select(RubricVersion).where(RubricVersion.id.in_(used)).order_by(RubricVersion.number)))


# -- reading -------------------------------------------------------------------------------


def _codes(project: Project, version: RubricVersion, question_id: str, plan: Plan):
    """One row per accepted label of the version on an exportable item: item, choice code, strength."""
    answers = JudgeVerdict.answers
    return (
        select(JudgeVerdict.item_id, choice_code(answers, question_id), strength(answers, question_id))
        .join(Escalation, _accepted(project, plan.judge.id))
        .join(Item, Item.id == JudgeVerdict.item_id)
        .where(JudgeVerdict.rubric_version_id == version.id, exportable_items(plan.options.include_gold))
        .order_by(JudgeVerdict.item_id)
    )


def _confidences(session: Session, project: Project, judge: Judge) -> tuple[np.ndarray, np.ndarray]:
    """(ascending item ids, confidence) of the judge's accepted items; NaN where none was recorded."""
    rows = session.execute(
        select(Escalation.item_id, func.coalesce(Escalation.confidence, float("nan")))
        .where(Escalation.project_id == project.id, Escalation.judge_id == judge.id, Escalation.accepted.is_(True))
        .order_by(Escalation.item_id)
    ).all()
    return np.array([r[0] for r in rows], dtype=np.int64), np.array([r[1] for r in rows], dtype=np.float64)


def _judge_plan(plan: Plan) -> Plan:
    """The plan judge labels are decided with: one rating each, the raters' filters off."""
    options = replace(plan.options, aggregate="majority", min_raters=1, min_agreement=0.0, prefer_adjudicated=False)
    return replace(plan, options=options, excluded=())


# -- rows and counts -----------------------------------------------------------------------


def stamp(columns: dict[str, Any], source: str, judge: str | None = None, confidence=None) -> dict[str, Any]:
    """Add the provenance columns to one batch of rows (Arrow arrays or Python lists)."""
    first = next(iter(columns.values()))
    n = len(first)
    if isinstance(first, pa.Array):
        columns["source"] = pa.repeat(pa.scalar(source, pa.string()), n)
        columns["judge"] = pa.repeat(pa.scalar(judge, pa.string()), n)
        columns["judge_confidence"] = (
            pa.nulls(n, pa.float64()) if confidence is None else pa.array(confidence, pa.float64(), from_pandas=True)
        )
        return columns
    columns["source"] = [source] * n
    columns["judge"] = [judge] * n
    columns["judge_confidence"] = (
        [None] * n if confidence is None else [None if np.isnan(c) else c for c in confidence.tolist()]
    )
    return columns


def _judge_only(columns: dict[str, Any], plan: Plan, judge: Judge) -> None:
    """Fill the columns a raters' aggregate has and a judge label does not: rater, posterior."""
    n = len(next(iter(columns.values())))
    arrow = isinstance(next(iter(columns.values())), pa.Array)
    if plan.per_rater:
        name = f"judge:{judge.name}"
        columns["rater"] = pa.repeat(pa.scalar(name, pa.string()), n) if arrow else [name] * n
    if plan.options.aggregate == "dawid_skene":
        columns["posterior"] = pa.nulls(n, pa.float64()) if arrow else [None] * n


def export_judge_version(
    session: Session,
    project: Project,
    version: RubricVersion,
    question_id: str,
    plan: Plan,
    rated: np.ndarray,
    sinks=None,
) -> Counter:
    """Write (with ``sinks``) or only count the judge's rows for one rubric version.

    ``rated`` are the ids of items raters answered under the version: their judge labels
    are left to the raters. Returns the ``JUDGE_COUNTS``.
    """
    judge = plan.judge
    decide_plan = _judge_plan(plan)
    votes = tally_votes(session, _codes(project, version, question_id, plan), plan.options.batch_size)
    counts = Counter(accepted=len(votes.item_ids))
    if sinks is None:
        left = np.isin(votes.item_ids, rated)
        pos = np.flatnonzero(~left)
        verdict = judge_batch({"item_pk": votes.item_ids[pos], **votes.columns(pos)}, decide_plan, None, None)
        return counts + _counts(verdict, decide_plan, int(left.sum()))
    conf_ids, conf = _confidences(session, project, judge)
    labelled = exists().where(
        JudgeVerdict.item_id == Item.id, JudgeVerdict.rubric_version_id == version.id, _accepted(project, judge.id)
    )
    with closing(stream_columns(session, unit_rows(session, project, decide_plan, where=labelled),
                                plan.options.batch_size)) as batches:  # fmt: skip
        for columns in batches:
            batch = UnitBatch.from_columns(columns, False)
            pos, found = votes.locate(batch.item_pk)
            left = found & np.isin(batch.item_pk, rated)
            keep = found & ~left
            if not keep.all():
                batch, pos = batch.subset(keep), pos[keep]
            verdict = judge_batch({"item_pk": batch.item_pk, **votes.columns(pos)}, decide_plan, None, None)
            counts += _counts(verdict, decide_plan, int(left.sum()))
            if not verdict.keep.any():
                continue
            selection = select_rows(batch, verdict, decide_plan, project, {})
            unit_conf = conf[np.searchsorted(conf_ids, batch.item_pk[selection.unit_of])]
            if plan.shape == "kto":
                unit_conf = np.repeat(unit_conf, 2)
            prompts = Prompts(batch.prompt_json)
            for sink, build in ((sinks.jsonl, python_columns), (sinks.parquet, arrow_columns)):
                if sink is None:
                    continue
                out = build(batch, selection, prompts, version, plan.slug, decide_plan)
                _judge_only(out, plan, judge)
                stamp(out, "judge", judge.name, unit_conf)
                if sink is sinks.jsonl:
                    sink.write_columns(out)
                else:
                    sink.write_arrays(out)
    return counts


def _counts(verdict, plan: Plan, left_to_raters: int) -> Counter:
    done = verdict.counts(plan)
    return Counter(
        no_answer=int((~verdict.considered).sum()),
        left_to_raters=left_to_raters,
        dropped_tie=done["dropped_tie"],
        exported=done["exported"],
        rows=done["rows"],
    )


def manifest_section(plan: Plan, per_version: list[tuple[RubricVersion, str | None, Counter]]) -> dict[str, Any]:
    """The manifest's ``labels``: whose answers the rows hold, the judge's guarantee, the counts."""
    section: dict[str, Any] = {"source": plan.options.labels}
    judge = plan.judge
    if judge is None:
        return section
    totals = Counter()
    for _, _, counts in per_version:
        totals.update(counts)
    section["judge"] = {"name": judge.name, "model": judge.model}
    section["judge_versions"] = [
        {"number": v.number, "sha256": v.content_sha256, "question_id": q, "counts": _ordered(c)}
        for v, q, c in per_version
    ]
    section["judge_counts"] = _ordered(totals)
    return section


def guarantee(session: Session, project: Project, judge: Judge) -> dict[str, Any] | None:
    """The latest escalation's terms for the judge: question, target agreement, delta, threshold."""
    row = session.execute(
        select(Escalation.question_id, Escalation.target_agreement, Escalation.delta, Escalation.threshold)
        .where(Escalation.project_id == project.id, Escalation.judge_id == judge.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    return {"question_id": row[0], "target_agreement": row[1], "delta": row[2], "threshold": row[3]}


def _ordered(counts: Counter) -> dict[str, int]:
    return {key: int(counts.get(key, 0)) for key in JUDGE_COUNTS}
