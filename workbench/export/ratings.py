"""Rating export: single-response projects as preference pairs, KTO, reward or SFT rows.

``export_ratings`` writes ``<shape>.jsonl`` and/or ``<shape>.parquet``, ``manifest.json``
and a dataset card ``README.md`` into ``out_dir``, like the preference export. Per rubric
version (versions are never pooled), each exportable item's rating is the mean over live
judgments of one scale question (``question_id``; default the rubric's ``overall``
question, else its first likert question). Items are grouped by prompt (``binarize``).

Shapes (``auto`` is ``binarized``):

- ``binarized``: TRL's ``prompt``/``chosen``/``rejected``, pairs chosen by ``pairs``
  (``best-random``, ``best-worst``, ``all``) and ``min_gap``; ``score_chosen``,
  ``score_rejected`` and ``margin`` (their difference).
- ``kto``: every rated response, ``prompt``/``completion``/``label`` (mean at least
  ``threshold``) and ``score``.
- ``reward``: every rated response, ``prompt``/``completion``/``score`` (the mean; with
  ``normalize`` mapped from the scale onto 0..1).
- ``sft``: responses with a mean at least ``threshold``: ``prompt``/``completion``, or
  ``messages`` (the prompt's messages and the response) when prompts are chat messages.

With chat prompts anywhere in the project, prompts are message lists (a text prompt is one
``user`` message) and responses ``[{"role": "assistant", "content": text}]``. Unpaired rows
carry ``n_ratings``, ``rating_std`` (population standard deviation), ``rating_min``,
``rating_max``, ``item_id``, ``group_id`` and ``model``; pairs carry them per side
(``chosen_n_ratings``, ...); every row carries ``rubric``, ``rubric_version`` and
``rubric_version_sha256``. Filters: ``min_raters``, ``exclude_flagged_raters``,
``rubric_version``, and gold items and honeypots are left out unless ``include_gold``.

Memory holds a few numbers per rated item; texts are read ``batch_size`` items at a time
while rows are written, and rows come out in group order (groups by their first item's
external id, items by external id), so the same data and seed give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, inspect, select
from sqlalchemy.orm import Session

from .. import __version__
from ..db import read_snapshot
from ..models import Item, Judgment, Project, Response
from .binarize import Rated, exact, group_key, normalized, pairs
from .card import ratings_card
from .preferences import CARD_FILE, MANIFEST_FILE
from .queries import exportable_items, external_id_order
from .rating_plan import RatingPlan, columns_for, make_rating_plan, row_schema
from .writers import FileDigest, atomic_files, write_bytes_atomically

FORMAT = "workbench.ratings/1"
COUNTS = ("ratings", "items_rated", "dropped_too_few_raters", "groups", "groups_without_rows", "rows")


@dataclass(frozen=True)
class RatingExportSummary:
    """Paths, hashes and counts of one rating export (``counts`` summed over versions)."""

    shape: str
    question_id: str | None
    manifest_path: Path | None
    card_path: Path | None
    manifest_sha256: str
    files: tuple[FileDigest, ...]
    counts: dict[str, int]
    versions: tuple[dict[str, Any], ...]


# -- deciding the rows ---------------------------------------------------------------------


def _aggregates(session: Session, project: Project, version, question_id: str, plan: RatingPlan):
    """Per item judged under the version: count, sum, sum of squares, least and greatest rating."""
    value = Judgment.answers[question_id].as_float()
    query = (
        select(
            Judgment.item_id,
            func.count(value),
            func.sum(value),
            func.sum(value * value),
            func.min(value),
            func.max(value),
        )
        .join(Item, Item.id == Judgment.item_id)
        .where(
            Judgment.project_id == project.id,
            Judgment.rubric_version_id == version.id,
            Judgment.superseded_by_id.is_(None),
            value.is_not(None),
            exportable_items(plan.options.include_gold),
        )
        .group_by(Judgment.item_id)
    )
    if plan.excluded:
        query = query.where(Judgment.rater_id.not_in(list(plan.excluded)))
    return {row[0]: row[1:] for row in session.execute(query)}


def _groups(session: Session, project: Project, plan: RatingPlan, aggregates: dict[int, dict]):
    """Per version: {group key: (group id, [Rated...])}, groups and items in external-id order."""
    grouped: dict[int, dict[str, tuple[str, list[Rated]]]] = {v.id: {} for v, _ in plan.versions}
    wanted = set().union(*(a.keys() for a in aggregates.values())) if aggregates else set()
    query = (
        select(Item.id, Item.external_id, Item.prompt, Item.meta)
        .where(Item.project_id == project.id, exportable_items(plan.options.include_gold))
        .order_by(external_id_order(session), Item.id)
        .execution_options(yield_per=plan.options.batch_size)
    )
    for pk, external_id, prompt, meta in session.execute(query):
        if pk not in wanted:
            continue
        group_id, key = group_key(prompt, meta)
        for version_id, per_item in aggregates.items():
            found = per_item.get(pk)
            if found is None:
                continue
            n, total, squares, low, high = found
            rated = Rated(pk, external_id, int(n), Fraction(total), Fraction(squares), float(low), float(high))
            grouped[version_id].setdefault(key, (group_id, []))[1].append(rated)
    return grouped


def decide(session: Session, project: Project, plan: RatingPlan):
    """Per version: (version, question id, counts, row specs); a spec is (group id, rated...)."""
    opts = plan.options
    aggregates = {v.id: _aggregates(session, project, v, q, plan) for v, q in plan.versions if q is not None}
    grouped = _groups(session, project, plan, aggregates)
    threshold = None if opts.threshold is None else exact(opts.threshold)
    gap = None if opts.min_gap is None else exact(opts.min_gap)
    decided = []
    for version, qid in plan.versions:
        counts = Counter({key: 0 for key in COUNTS})
        specs: list[tuple] = []
        for group_id, members in grouped.get(version.id, {}).values():
            counts["ratings"] += sum(r.n for r in members)
            counts["items_rated"] += len(members)
            kept = [r for r in members if r.n >= opts.min_raters]
            counts["dropped_too_few_raters"] += len(members) - len(kept)
            if not kept:
                continue
            counts["groups"] += 1
            if plan.shape == "binarized":
                rows = [(group_id, a, b) for a, b in pairs(kept, opts.pairs, gap, opts.seed, group_id)]
            elif plan.shape == "sft":
                rows = [(group_id, r) for r in kept if r.mean >= threshold]
            else:
                rows = [(group_id, r) for r in kept]
            counts["groups_without_rows"] += not rows
            counts["rows"] += len(rows)
            specs.extend(rows)
        decided.append((version, qid, dict(counts), specs))
    return decided


def count_ratings(session: Session, project: Project, options, calibration_thresholds=None) -> dict[str, int]:
    """What ``export_ratings`` would write, counted without reading a text: ``COUNTS`` summed."""
    plan = make_rating_plan(session, project, options, calibration_thresholds)
    totals = Counter({key: 0 for key in COUNTS})
    for _, _, counts, _ in decide(session, project, plan):
        totals.update(counts)
    return dict(totals)


# -- writing the rows ----------------------------------------------------------------------


def _texts(session: Session, pks: set[int]) -> dict[int, tuple[Any, str, str]]:
    query = (
        select(Item.id, Item.prompt, Response.text, Response.model)
        .join(Response, and_(Response.item_id == Item.id, Response.position == 0))
        .where(Item.id.in_(sorted(pks)))
    )
    return {pk: (prompt, text, model) for pk, prompt, text, model in session.execute(query)}


def _chunks(specs: list[tuple], size: int):
    """Consecutive runs of specs naming at most about ``size`` items each."""
    start, seen = 0, set()
    for i, spec in enumerate(specs):
        seen.update(r.pk for r in spec[1:])
        if len(seen) >= size:
            yield specs[start : i + 1], seen
            start, seen = i + 1, set()
    if start < len(specs):
        yield specs[start:], seen


def _row(plan: RatingPlan, spec: tuple, texts: dict, version, scale: tuple[int, int]) -> dict[str, Any]:
    group_id, *rated = spec
    prompt = texts[rated[0].pk][0]
    if plan.conversational and isinstance(prompt, str):
        prompt = [{"role": "user", "content": prompt}]

    def said(r: Rated):
        text = texts[r.pk][1]
        return [{"role": "assistant", "content": text}] if plan.conversational else text

    row: dict[str, Any] = {
        "group_id": group_id,
        "rubric": plan.slug,
        "rubric_version": version.number,
        "rubric_version_sha256": version.content_sha256,
    }
    if plan.shape == "binarized":
        chosen, rejected = rated
        row.update(prompt=prompt, chosen=said(chosen), rejected=said(rejected))
        row.update(score_chosen=float(chosen.mean), score_rejected=float(rejected.mean))
        row["margin"] = float(chosen.mean - rejected.mean)
        for side, r in (("chosen", chosen), ("rejected", rejected)):
            row.update({f"{side}_model": texts[r.pk][2], f"{side}_item_id": r.item_id})
            row.update({f"{side}_n_ratings": r.n, f"{side}_rating_std": r.std})
        return row
    (r,) = rated
    low, high = scale
    row.update(model=texts[r.pk][2], item_id=r.item_id, n_ratings=r.n)
    row.update(rating_std=r.std, rating_min=r.low, rating_max=r.high, score=float(r.mean))
    if plan.shape == "sft" and plan.conversational:
        row["messages"] = [*prompt, *said(r)]
    else:
        row.update(prompt=prompt, completion=said(r))
    if plan.shape == "kto":
        row["label"] = r.mean >= exact(plan.options.threshold)
    if plan.shape == "reward" and plan.options.normalize:
        row["score"] = normalized(r.mean, low, high)
    return row


def export_ratings(
    session: Session, project: Project, out_dir: str | os.PathLike[str], options, calibration_thresholds=None
) -> RatingExportSummary:
    """Write the rows, ``manifest.json`` and ``README.md`` into ``out_dir``; never writes to the database.

    Raises ``InvalidInput`` when the project is not a single-response project, the question
    is not a scale question of the rubric, or the options do not fit the shape.
    """
    with read_snapshot(session) as reader:
        project = reader.get(Project, inspect(project).identity[0])
        return _export(reader, project, Path(out_dir), options, calibration_thresholds)


def _export(session: Session, project: Project, out: Path, opts, thresholds) -> RatingExportSummary:
    plan = make_rating_plan(session, project, opts, thresholds)
    columns = columns_for(plan)
    decided = decide(session, project, plan)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_files(out) as files:
        sinks = []
        if "jsonl" in opts.formats:
            sinks.append(files.jsonl(f"{plan.shape}.jsonl"))
        if "parquet" in opts.formats:
            sinks.append(files.parquet(f"{plan.shape}.parquet", row_schema(columns, plan.conversational)))
        for version, _qid, _, specs in decided:
            scale = plan.scales.get(version.id, (0, 0))
            for chunk, pks in _chunks(specs, opts.batch_size):
                texts = _texts(session, pks)
                for spec in chunk:
                    row = _row(plan, spec, texts, version, scale)
                    row = {c: row.get(c) for c in columns}
                    for sink in sinks:
                        sink.write(row)
        digests = files.commit()
    totals = Counter({key: 0 for key in COUNTS})
    for _, _, counts, _ in decided:
        totals.update(counts)
    versions = tuple(
        {"number": v.number, "sha256": v.content_sha256, "question_id": q, "scale": plan.scales.get(v.id), "counts": c}
        for v, q, c, _ in decided
    )
    manifest = _manifest(project, plan, columns, versions, dict(totals), digests)
    data = (json.dumps(manifest, sort_keys=True, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    sha = hashlib.sha256(data).hexdigest()
    write_bytes_atomically(out / MANIFEST_FILE, data)
    write_bytes_atomically(out / CARD_FILE, ratings_card(manifest, sha).encode("utf-8"))
    return RatingExportSummary(
        shape=plan.shape,
        question_id=plan.question_id,
        manifest_path=out / MANIFEST_FILE,
        card_path=out / CARD_FILE,
        manifest_sha256=sha,
        files=tuple(digests),
        counts=dict(totals),
        versions=versions,
    )


def _manifest(project, plan: RatingPlan, columns, versions, totals, digests) -> dict[str, Any]:
    opts = plan.options
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "workbench_version": __version__,
        "project": project.name,
        "question_id": plan.question_id,
        "shape": plan.shape,
        "conversational": plan.conversational,
        "columns": columns,
        "rubric": {"slug": plan.slug, "versions": list(versions)},
        "rating": "mean of the item's live ratings of the question under the rubric version",
        "spread": "rating_std is the population standard deviation of those ratings",
        "grouping": "items with the same prompt (text or chat messages), or the same metadata.group",
        "selection": {
            "pairs": opts.pairs if plan.shape == "binarized" else None,
            "min_gap": opts.min_gap,
            "seed": opts.seed if plan.shape == "binarized" and opts.pairs == "best-random" else None,
            "threshold": opts.threshold,
            "normalize": opts.normalize,
        },
        "filters": {
            "question_id": opts.question_id,
            "min_raters": opts.min_raters,
            "rubric_version": opts.rubric_version,
            "exclude_flagged_raters": opts.exclude_flagged_raters,
            "raters_excluded": len(plan.excluded),
            "include_gold": opts.include_gold,
        },
        "counts": totals,
        "files": {d.name: d.manifest_entry() for d in digests},
    }
    if opts.created_at is not None:
        manifest["created_at"] = opts.created_at.isoformat()
    return manifest
