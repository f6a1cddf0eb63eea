"""Preference export: pairwise judgments as TRL preference data, in JSON Lines and Parquet.

``export_preferences`` writes into ``out_dir``:

``preferences.jsonl`` and/or ``preferences.parquet``
    One row per exported preference. JSON Lines: keys sorted, UTF-8, ``\\n`` endings.
    Parquet: a fixed pyarrow schema (columns in the order listed in the manifest), zstd.
``manifest.json``
    Format, workbench version, project, shape, aggregation, filters, counts per rubric
    version with Krippendorff's alpha and its bootstrap CI, rubric hashes, and the sha256,
    size and row count of each data file. No timestamp unless ``created_at`` is given, so
    the manifest is deterministic too.
``README.md``
    A dataset card (Hugging Face front matter) generated from the manifest.

Shapes (TRL's dataset formats; ``shape="auto"`` is ``conversational`` when any exported
prompt is a list of chat messages, else ``standard``):

- ``standard``: ``prompt``, ``chosen``, ``rejected`` are strings.
- ``conversational``: ``prompt`` is the message list (a string prompt becomes one ``user``
  message), ``chosen``/``rejected`` are ``[{"role": "assistant", "content": text}]``.
- ``reward``: ``standard`` or conversational columns plus ``margin`` for RewardTrainer
  (every shape carries ``margin``; ``reward`` only insists the data be paired).
- ``kto``: unpaired rows ``prompt``, ``completion``, ``label`` (True for the chosen
  response, False for the rejected one): two rows per preference.

Each row also carries ``margin``, ``n_ratings``, ``agreement``, ``item_id``, the models,
``rubric``, ``rubric_version`` and ``rubric_version_sha256``; ``tie`` and ``weight`` when
ties are kept or split; ``rater`` for per-rater rows; ``posterior`` for Dawid-Skene.

Aggregation, per item and rubric version (versions are never pooled). Only live
judgments (``superseded_by_id`` NULL) that answer the question count as ratings, in
canonical orientation: ``A`` is the item's response at position 0, whatever side each
rater saw it on.

- ``majority``: the most frequent of ``A``/``B``/``tie``; two choices sharing the top count
  is no majority (dropped). ``margin`` is the mean signed strength toward the chosen
  response (``+s`` for it, ``-s`` against, 0 for a tie; missing strength counts as 1).
- ``mean_strength``: the sign of the mean signed strength (+ for A) decides; 0 is a tie;
  ``margin`` is its absolute value.
- ``dawid_skene``: the class (A/B/tie) with the highest Dawid-Skene posterior, fitted on
  all ratings of the version; ``posterior`` is its probability and ``margin`` the
  posterior of chosen minus rejected.
- ``per_rater``: one row per judgment (``rater`` is a pseudonym), ``margin`` its strength.

``agreement`` is always the item's share of ratings equal to its most frequent choice;
``min_agreement`` drops items below it. ``n_ratings`` counts the item's ratings.

Ties: ``drop`` leaves them out (counted in ``dropped_tie``); ``keep`` writes one row
(A as chosen, ``tie`` true, margin 0); ``split`` writes both orders with ``weight`` 0.5.
KTO rows cannot carry a tie, so ``kto`` needs ``drop``.

Filters: ``rubric_version`` (one version number), ``min_raters``, ``min_agreement``,
``exclude_flagged_raters`` (raters with any calibration flag lose all their ratings),
and gold items (``Item.is_gold``) and honeypots (``metadata.honeypot`` true) are left out
unless ``include_gold``.

How it runs, per rubric version (the modules beside this one):

1. ``votes.count_votes`` reads one small row per live judgment (item, choice code,
   strength) in item order and counts each item's votes in numpy: five integers per
   judged item stay in memory. Dawid-Skene also holds three integer arrays of the
   version's ratings for its fit.
2. ``queries.units`` streams the exportable items in external-id order (code point order
   on every backend) with the prompt's JSON text and both responses, ``batch_size`` rows
   at a time, through a plain DB-API cursor (server-side on PostgreSQL). Items not
   judged under the version are left out in SQL when they are more than half of the
   project (``JUDGED_SHARE_FOR_SQL_FILTER``), else read and dropped here.
3. For each batch, ``votes.judge_batch`` decides all its items at once and applies the
   filters and adjudications as array operations; ``rows`` turns the kept units into
   Arrow arrays for Parquet (no Python object per cell) or Python values for JSON Lines.

On a SQLite file the export reads one snapshot on a connection of its own, in a deferred
transaction (``db.read_snapshot``): raters go on submitting while it runs, and what they
submit meanwhile is not in it. Writers keep one Parquet row group at most. Files are
written under temporary names and renamed into place only when all are complete.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from .. import __version__
from ..db import read_snapshot
from ..models import Project, RubricVersion
from .card import choice_alpha, dataset_card
from .judge_labels import export_judge_version, guarantee, manifest_section, stamp
from .options import MARGIN, TIES, ExportOptions, Plan, arrow_schema, columns_for
from .plan import make_plan
from .queries import item_count, stream_columns, units
from .rows import Prompts, UnitBatch, arrow_columns, python_columns, select_rows
from .votes import GrowingArray, adjudicated_choices, count_votes, dawid_skene_posteriors, judge_batch
from .writers import FileDigest, JsonlWriter, ParquetWriter, atomic_files, write_bytes_atomically

PREFERENCES_FILE = "preferences.jsonl"
PARQUET_FILE = "preferences.parquet"
MANIFEST_FILE = "manifest.json"
CARD_FILE = "README.md"
FORMAT = "workbench.preferences/2"
JUDGED_SHARE_FOR_SQL_FILTER = 0.5


# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionExport:
    """What happened to the judgments made under one rubric version.

    ``question_id`` is the question aggregated for this version, or None when the version
    has no such pairwise question or is filtered out (its counts are zero). Counts are of
    items (of judgments for ``per_rater``); ``rows`` counts the rows written.
    """

    number: int
    sha256: str
    question_id: str | None
    ratings: int = 0
    items_considered: int = 0
    exported: int = 0
    rows: int = 0
    dropped_tie: int = 0
    dropped_no_majority: int = 0
    dropped_too_few_raters: int = 0
    dropped_low_agreement: int = 0
    adjudicated: int = 0
    alpha: dict[str, Any] | None = None

    def counts(self) -> dict[str, int]:
        return {
            "adjudicated": self.adjudicated,
            "ratings": self.ratings,
            "items_considered": self.items_considered,
            "exported": self.exported,
            "rows": self.rows,
            "dropped_tie": self.dropped_tie,
            "dropped_no_majority": self.dropped_no_majority,
            "dropped_too_few_raters": self.dropped_too_few_raters,
            "dropped_low_agreement": self.dropped_low_agreement,
        }


COUNTS = tuple(VersionExport(0, "", None).counts())


@dataclass(frozen=True)
class ExportSummary:
    """Paths, hashes and counts of one preference export.

    ``items_considered`` counts (item, rubric version) units with at least one rating;
    ``adjudicated`` counts the exported units whose answer came from an adjudicator;
    ``items_considered == exported + dropped_tie + dropped_no_majority +
    dropped_too_few_raters + dropped_low_agreement`` (ties kept or split count as
    exported). Items nobody has rated yet are not considered. With judge labels,
    ``judge_exported`` and ``judge_rows`` count the judge's items and rows (not in the
    others).
    """

    preferences_path: Path | None
    manifest_path: Path
    preferences_sha256: str | None
    preferences_bytes: int | None
    question_id: str
    ratings: int
    items_considered: int
    exported: int
    rows: int
    dropped_tie: int
    dropped_no_majority: int
    dropped_too_few_raters: int
    dropped_low_agreement: int
    adjudicated: int = 0
    versions: tuple[VersionExport, ...] = field(default_factory=tuple)
    files: tuple[FileDigest, ...] = field(default_factory=tuple)
    card_path: Path | None = None
    parquet_path: Path | None = None
    manifest_sha256: str = ""
    judge_exported: int = 0
    judge_rows: int = 0


# -- one rubric version --------------------------------------------------------------------


@dataclass
class _Sinks:
    jsonl: JsonlWriter | None
    parquet: ParquetWriter | None


def _export_version(
    session: Session, project: Project, version: RubricVersion, question_id: str, sinks: _Sinks, plan: Plan
) -> tuple[VersionExport, np.ndarray, np.ndarray]:
    """Write the version's rows; its counts, the per-item A/B/tie counts alpha is taken from,
    and the ids of the items raters answered."""
    opts = plan.options
    provenance = opts.labels != "humans"
    counts = Counter()
    posteriors = None
    if opts.aggregate == "dawid_skene":
        posteriors = dawid_skene_posteriors(session, project, version, question_id, plan)
        if posteriors is None:
            empty = VersionExport(number=version.number, sha256=version.content_sha256, question_id=question_id)
            return empty, np.zeros((0, 3), dtype=np.int64), np.zeros(0, dtype=np.int64)
    votes = count_votes(session, project, version, question_id, plan)
    names: dict[int, str] = {}
    # Vote-table rows for alpha: of the streamed items with two or more ratings, in stream
    # order (alpha uses only those pairable units); for per_rater, of every streamed unit.
    pairable = GrowingArray()
    adjudicated = (
        adjudicated_choices(session, project, question_id) if opts.prefer_adjudicated and not plan.per_rater else None
    )
    # Leave unjudged items out in SQL only when they are many: the check costs a lookup per
    # item, and reading the few that are not judged and dropping them here is cheaper.
    only_judged = len(votes.item_ids) < JUDGED_SHARE_FOR_SQL_FILTER * item_count(session, project)
    query = units(session, project, version, question_id, plan, only_judged)
    with closing(stream_columns(session, query, opts.batch_size)) as batches:
        for columns in batches:
            batch = UnitBatch.from_columns(columns, plan.per_rater)
            pos, found = votes.locate(batch.item_pk)
            if not found.all():  # not judged (or, on PostgreSQL, judged after the votes were counted)
                batch, pos = batch.subset(found), pos[found]
            cols = {"item_pk": batch.item_pk, **votes.columns(pos)}
            if plan.per_rater:
                cols.update(own=batch.own, own_strength=batch.own_strength)
            verdict = judge_batch(cols, plan, posteriors, adjudicated)
            pairable.extend(pos if plan.per_rater else pos[verdict.n >= 2])
            counts.update(verdict.counts(plan))
            if not verdict.keep.any():
                continue
            selection = select_rows(batch, verdict, plan, project, names)
            prompts = Prompts(batch.prompt_json)
            if sinks.jsonl is not None:
                out = python_columns(batch, selection, prompts, version, plan.slug, plan)
                sinks.jsonl.write_columns(stamp(out, "humans") if provenance else out)
            if sinks.parquet is not None:
                out = arrow_columns(batch, selection, prompts, version, plan.slug, plan)
                sinks.parquet.write_arrays(stamp(out, "humans") if provenance else out)
    export = VersionExport(number=version.number, sha256=version.content_sha256, question_id=question_id, **counts)
    rows = pairable.array()
    if plan.per_rater:  # one unit per judgment: each item once, in item order
        rows = np.unique(rows)
    return export, votes.counts(rows), votes.item_ids


# -- the export ----------------------------------------------------------------------------


def export_preferences(
    session: Session,
    project: Project,
    out_dir: str | os.PathLike[str],
    options: ExportOptions = ExportOptions(),  # noqa: B008 - frozen, so one shared default is safe
    calibration_thresholds=None,
) -> ExportSummary:
    """Write the preference files, ``manifest.json`` and ``README.md`` into ``out_dir``.

    ``options`` says what to export (``ExportOptions``); ``calibration_thresholds`` decide
    which raters ``exclude_flagged_raters`` leaves out (default thresholds when None).
    With ``prefer_adjudicated`` (the default), an item an adjudicator settled takes the
    adjudicated answer instead of the raters' aggregate, and is exported even without a
    majority or with low agreement. Never writes to the database; on a SQLite file it
    reads a snapshot of its own (``db.read_snapshot``), ending ``session``'s transaction
    first when that has written nothing.

    Raises ``InvalidInput`` when the project is not pairwise, the question is not a
    pairwise question of the rubric, an option is out of range, or the shape cannot hold
    the data (``standard``/``reward`` with chat prompts).
    """
    with read_snapshot(session) as reader:
        project = reader.get(Project, inspect(project).identity[0])
        return _export(reader, project, Path(out_dir), options, calibration_thresholds)


def _export(session: Session, project: Project, out: Path, opts: ExportOptions, thresholds) -> ExportSummary:
    plan = make_plan(session, project, opts, thresholds)
    columns = columns_for(plan)
    out.mkdir(parents=True, exist_ok=True)
    done: list[VersionExport] = []
    with atomic_files(out) as files:
        parquet = "parquet" in opts.formats
        sinks = _Sinks(
            jsonl=files.jsonl(PREFERENCES_FILE) if "jsonl" in opts.formats else None,
            parquet=files.parquet(PARQUET_FILE, arrow_schema(columns, plan.conversational)) if parquet else None,
        )
        rated: dict[int, np.ndarray] = {}
        for version, qid in plan.versions:
            if qid is None:
                done.append(VersionExport(number=version.number, sha256=version.content_sha256, question_id=None))
                continue
            exported, vote_counts, rated[version.id] = _export_version(session, project, version, qid, sinks, plan)
            alpha = choice_alpha(vote_counts, opts.alpha_resamples)
            done.append(VersionExport(**{**exported.__dict__, "alpha": alpha}))
        by_judge = [
            (version, qid, export_judge_version(session, project, version, qid, plan, rated.get(version.id, []), sinks))
            if qid is not None
            else (version, None, Counter())
            for version, qid in plan.judge_versions
        ]
        digests = files.commit()

    totals = Counter()
    for v in done:
        totals.update(v.counts())
    totals = {key: totals.get(key, 0) for key in COUNTS}
    manifest = _manifest(project, plan, columns, done, totals, digests)
    if opts.labels != "humans":
        manifest["labels"] = {**manifest_section(plan, by_judge), "guarantee": guarantee(session, project, plan.judge)}
    manifest_bytes = (json.dumps(manifest, sort_keys=True, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    manifest_sha256 = hashlib.sha256(manifest_bytes).hexdigest()
    write_bytes_atomically(out / MANIFEST_FILE, manifest_bytes)
    write_bytes_atomically(out / CARD_FILE, dataset_card(manifest, manifest_sha256).encode("utf-8"))

    by_name = {d.name: d for d in digests}
    jsonl = by_name.get(PREFERENCES_FILE)
    return ExportSummary(
        preferences_path=out / PREFERENCES_FILE if jsonl else None,
        manifest_path=out / MANIFEST_FILE,
        preferences_sha256=jsonl.sha256 if jsonl else None,
        preferences_bytes=jsonl.bytes if jsonl else None,
        question_id=plan.question_id,
        versions=tuple(done),
        files=tuple(digests),
        card_path=out / CARD_FILE,
        parquet_path=out / PARQUET_FILE if PARQUET_FILE in by_name else None,
        manifest_sha256=manifest_sha256,
        judge_exported=sum(counts["exported"] for _, _, counts in by_judge),
        judge_rows=sum(counts["rows"] for _, _, counts in by_judge),
        **totals,
    )


def _manifest(project, plan: Plan, columns, done, totals, digests) -> dict[str, Any]:
    opts = plan.options
    file_entries = {}
    for d in digests:
        entry = d.manifest_entry()
        if d.name.endswith(".jsonl"):
            entry["lines"] = d.rows
        file_entries[d.name] = entry
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "workbench_version": __version__,
        "project": project.name,
        "question_id": plan.question_id,
        "shape": plan.shape,
        "conversational": plan.conversational,
        "columns": columns,
        "rubric": {
            "slug": plan.slug,
            "versions": [
                {
                    "number": v.number,
                    "sha256": v.sha256,
                    "question_id": v.question_id,
                    "counts": v.counts(),
                    "alpha": v.alpha,
                }
                for v in done
            ],
        },
        "filters": {
            "question_id": opts.question_id,
            "drop_ties": opts.ties == "drop",
            "ties": opts.ties,
            "min_raters": opts.min_raters,
            "min_agreement": opts.min_agreement,
            "rubric_version": opts.rubric_version,
            "exclude_flagged_raters": opts.exclude_flagged_raters,
            "raters_excluded": len(plan.excluded),
            "include_gold": opts.include_gold,
        },
        "aggregation": {
            "method": opts.aggregate,
            "unit": ("judgment" if plan.per_rater else "item")
            + " x rubric version; live judgments only; canonical orientation",
            "agreement": "share of the item's ratings equal to its most frequent choice",
            "margin": MARGIN[opts.aggregate],
            "ties": TIES[opts.ties],
        },
        "counts": totals,
        "files": file_entries,
    }
    if opts.created_at is not None:
        manifest["created_at"] = opts.created_at.isoformat()
    return manifest
