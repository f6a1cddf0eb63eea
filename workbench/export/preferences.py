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
   at a time. Items not judged under the version are left out in SQL when they are more
   than half of the project (``JUDGED_SHARE_FOR_SQL_FILTER``), else read and dropped here.

   Both reads go through ``queries.stream_columns``: on a SQLite file a child process
   reads them and sends column buffers that become numpy and Arrow arrays without a
   Python object per value (``column_stream``); elsewhere a plain DB-API cursor
   (server-side on PostgreSQL) fetches tuples that are converted per batch.
3. For each batch, ``votes.judge_batch`` decides all its items at once and applies the
   filters and adjudications as array operations; ``rows`` turns the kept units into
   Arrow arrays for Parquet (no Python object per cell) or Python values for JSON Lines.

Rows are read one batch ahead in a thread, and Parquet row groups are encoded in another
(``threads``), so reading, deciding and writing overlap; the cyclic garbage collector is
paused meanwhile. Writers keep one Parquet row group at most. Files are written under
temporary names and renamed into place only when all are complete.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from .. import __version__
from ..domain import TaskKind
from ..errors import FieldError, InvalidInput
from ..models import Project, RubricVersion
from ..services.rubrics import current_version
from .card import choice_alpha, dataset_card
from .options import (
    AGGREGATES,
    DEFAULT_BATCH_SIZE,
    FORMATS,
    MARGIN,
    SHAPES,
    TIE_POLICIES,
    TIES,
    ExportOptions,
    arrow_schema,
    check_one_of,
    check_positive,
    columns_for,
    refuse,
)
from .queries import flagged_raters, has_message_prompts, item_count, judged_versions, stream_columns, units
from .rows import Prompts, UnitBatch, arrow_columns, python_columns, select_rows
from .threads import collection_paused, read_ahead
from .votes import (
    GrowingArray,
    adjudicated_choices,
    count_votes,
    dawid_skene_posteriors,
    judge_batch,
    vote_counts_by_item,
)
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


@dataclass(frozen=True)
class ExportSummary:
    """Paths, hashes and counts of one preference export.

    ``items_considered`` counts (item, rubric version) units with at least one rating;
    ``adjudicated`` counts the exported units whose answer came from an adjudicator;
    ``items_considered == exported + dropped_tie + dropped_no_majority +
    dropped_too_few_raters + dropped_low_agreement`` (ties kept or split count as
    exported). Items nobody has rated yet are not considered.
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


# -- question and version resolution -------------------------------------------------------


def _pairwise_ids(document: dict[str, Any]) -> list[str]:
    return [q["id"] for q in document.get("questions", []) if q.get("type") == "pairwise"]


def _question_for(document: dict[str, Any], question_id: str | None) -> str | None:
    ids = _pairwise_ids(document)
    if question_id is None:
        return ids[0] if ids else None
    return question_id if question_id in ids else None


def _check_question(question_id: str | None, documents: Sequence[dict[str, Any]]) -> None:
    if question_id is None:
        return
    if any(question_id in _pairwise_ids(doc) for doc in documents):
        return
    known = sorted({q for doc in documents for q in _pairwise_ids(doc)})
    other = any(question_id == q.get("id") for doc in documents for q in doc.get("questions", []))
    why = "is not a pairwise question" if other else "is not a question of this rubric"
    raise InvalidInput(
        "cannot export preferences",
        [FieldError("question_id", f"{question_id!r} {why}; pairwise questions: {', '.join(known) or 'none'}")],
    )


# -- one rubric version --------------------------------------------------------------------


@dataclass
class _Sinks:
    jsonl: JsonlWriter | None
    parquet: ParquetWriter | None


def _export_version(
    session: Session,
    project: Project,
    version: RubricVersion,
    question_id: str,
    slug: str,
    sinks: _Sinks,
    opts: ExportOptions,
) -> tuple[VersionExport, np.ndarray | None]:
    counts = Counter()
    posteriors = None
    if opts.aggregate == "dawid_skene":
        posteriors = dawid_skene_posteriors(session, project, version, question_id, opts)
        if posteriors is None:
            return VersionExport(number=version.number, sha256=version.content_sha256, question_id=question_id), None
    votes = count_votes(session, project, version, question_id, opts)
    per_rater = opts.aggregate == "per_rater"
    names: dict[int, str] = {}
    # Vote-table rows of the streamed items with two or more ratings, in stream order: alpha
    # uses only those (pairable) units, so the others need not be kept.
    pairable = GrowingArray()
    adjudicated = (
        adjudicated_choices(session, project, question_id) if opts.prefer_adjudicated and not per_rater else None
    )
    # Leave unjudged items out in SQL only when they are many: the check costs a lookup per
    # item, and reading the few that are not judged and dropping them here is cheaper.
    only_judged = len(votes.item_ids) < JUDGED_SHARE_FOR_SQL_FILTER * item_count(session, project)
    query = units(session, project, version, question_id, opts, only_judged)
    with closing(read_ahead(stream_columns(session, query, opts.batch_size))) as batches:
        for columns in batches:
            batch = UnitBatch.from_columns(columns, per_rater)
            pos, found = votes.locate(batch.item_pk)
            if not found.all():  # not judged (or judged after the votes were counted)
                batch, pos = batch.subset(found), pos[found]
            cols = {"item_pk": batch.item_pk, **votes.columns(pos)}
            if per_rater:
                cols.update(own=batch.own, own_strength=batch.own_strength)
            verdict = judge_batch(cols, opts, posteriors, adjudicated)
            if not per_rater:
                pairable.extend(pos[verdict.n >= 2])
            counts.update(verdict.counts(per_rater))
            if not verdict.keep.any():
                continue
            selection = select_rows(batch, verdict, opts, project, names)
            prompts = Prompts(batch.prompt_json)
            counts["rows"] += len(selection) * (2 if opts.shape == "kto" else 1)
            if sinks.jsonl is not None:
                sinks.jsonl.write_columns(python_columns(batch, selection, prompts, version, slug, opts))
            if sinks.parquet is not None:
                sinks.parquet.write_arrays(arrow_columns(batch, selection, prompts, version, slug, opts))
    export = VersionExport(number=version.number, sha256=version.content_sha256, question_id=question_id, **counts)
    if per_rater:
        return export, None  # one row per judgment: the per-item counts need their own query
    return export, votes.counts(pairable.array())


# -- the export ----------------------------------------------------------------------------


def export_preferences(
    session: Session,
    project: Project,
    out_dir: str | os.PathLike[str],
    question_id: str | None = None,
    drop_ties: bool = True,
    min_raters: int = 1,
    *,
    shape: str = "auto",
    formats: Iterable[str] = ("jsonl",),
    aggregate: str = "majority",
    ties: str | None = None,
    min_agreement: float = 0.0,
    rubric_version: int | None = None,
    exclude_flagged_raters: bool = False,
    calibration_thresholds=None,
    include_gold: bool = False,
    alpha_resamples: int = 1000,
    created_at: datetime | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    prefer_adjudicated: bool = True,
) -> ExportSummary:
    """Write the preference files, ``manifest.json`` and ``README.md`` into ``out_dir``.

    ``question_id`` picks the pairwise question; by default each rubric version's first
    pairwise question (a version without it is skipped, ``question_id: null`` in the
    manifest). ``ties`` overrides ``drop_ties`` (``drop_ties=False`` means ``keep``).
    ``created_at``, when given, is recorded in the manifest (leave it out for a
    byte-identical manifest). With ``prefer_adjudicated`` (the default), an item an
    adjudicator settled takes the adjudicated answer instead of the raters' aggregate, and
    is exported even without a majority or with low agreement. Only reads the session;
    never commits.

    Raises ``InvalidInput`` when the project is not pairwise, the question is not a
    pairwise question of the rubric, an option is unknown or out of range, or the shape
    cannot hold the data (``standard``/``reward`` with chat prompts, ``kto`` with ties).
    """
    if project.task_kind != TaskKind.PAIRWISE:
        refuse("project", f"project {project.name!r} is {project.task_kind.value}, not pairwise")
    ties = ties or ("drop" if drop_ties else "keep")
    formats = tuple(dict.fromkeys(formats))
    check_positive("min_raters", min_raters)
    check_positive("batch_size", batch_size)
    check_one_of("shape", shape, SHAPES)
    check_one_of("aggregate", aggregate, AGGREGATES)
    check_one_of("ties", ties, TIE_POLICIES)
    if not formats:
        refuse("formats", "give at least one of jsonl, parquet")
    for fmt in formats:
        check_one_of("formats", fmt, FORMATS)
    if isinstance(min_agreement, bool) or not isinstance(min_agreement, int | float) or not 0 <= min_agreement <= 1:
        refuse("min_agreement", "min_agreement must be a number from 0 to 1")
    if shape == "kto" and ties != "drop":
        refuse("ties", "KTO rows cannot say 'tie'; use ties=drop with the kto shape")

    current = current_version(session, project)
    versions = judged_versions(session, project)
    _check_question(question_id, [current.document, *(v.document for v in versions)])
    if rubric_version is not None and rubric_version not in {v.number for v in versions}:
        known = ", ".join(str(v.number) for v in versions) or "none"
        refuse("rubric_version", f"no judgments under version {rubric_version}; judged versions: {known}")
    slug = project.rubric.slug
    headline_question = question_id or _question_for(current.document, None)

    messages = has_message_prompts(session, project)
    if messages and shape in ("standard", "reward"):
        refuse(
            "shape", f"the project has chat-message prompts; the {shape} shape needs text prompts (use conversational)"
        )
    conversational = shape == "conversational" or (shape in ("auto", "kto", "reward") and messages)
    resolved_shape = ("conversational" if messages else "standard") if shape == "auto" else shape
    excluded = flagged_raters(session, project, question_id, calibration_thresholds) if exclude_flagged_raters else ()
    opts = ExportOptions(
        shape=resolved_shape,
        conversational=conversational,
        aggregate=aggregate,
        ties=ties,
        min_raters=min_raters,
        min_agreement=float(min_agreement),
        include_gold=include_gold,
        excluded=excluded,
        batch_size=batch_size,
        prefer_adjudicated=prefer_adjudicated,
    )
    columns = columns_for(opts)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    done: list[VersionExport] = []
    with atomic_files(out) as files:
        sinks = _Sinks(
            jsonl=files.jsonl(PREFERENCES_FILE) if "jsonl" in formats else None,
            parquet=files.parquet(PARQUET_FILE, arrow_schema(columns, conversational))
            if "parquet" in formats
            else None,
        )
        for version in versions:
            qid = _question_for(version.document, question_id)
            if qid is None or (rubric_version is not None and version.number != rubric_version):
                done.append(VersionExport(number=version.number, sha256=version.content_sha256, question_id=None))
                continue
            with collection_paused():
                exported, vote_counts = _export_version(session, project, version, qid, slug, sinks, opts)
            if vote_counts is None:
                vote_counts = vote_counts_by_item(session, project, version, qid, opts)
            alpha = choice_alpha(vote_counts, alpha_resamples)
            done.append(VersionExport(**{**exported.__dict__, "alpha": alpha}))
        digests = files.commit()

    totals = Counter()
    for v in done:
        totals.update(v.counts())
    totals = {key: totals.get(key, 0) for key in VersionExport(0, "", None).counts()}
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
        "question_id": headline_question,
        "shape": resolved_shape,
        "conversational": conversational,
        "columns": columns,
        "rubric": {
            "slug": slug,
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
            "question_id": question_id,
            "drop_ties": ties == "drop",
            "ties": ties,
            "min_raters": min_raters,
            "min_agreement": float(min_agreement),
            "rubric_version": rubric_version,
            "exclude_flagged_raters": exclude_flagged_raters,
            "raters_excluded": len(excluded),
            "include_gold": include_gold,
        },
        "aggregation": {
            "method": aggregate,
            "unit": ("judgment" if aggregate == "per_rater" else "item")
            + " x rubric version; live judgments only; canonical orientation",
            "agreement": "share of the item's ratings equal to its most frequent choice",
            "margin": MARGIN[aggregate],
            "ties": TIES[ties],
        },
        "counts": totals,
        "files": file_entries,
    }
    if created_at is not None:
        manifest["created_at"] = created_at.isoformat()
    manifest_bytes = (json.dumps(manifest, sort_keys=True, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    manifest_path = out / MANIFEST_FILE
    write_bytes_atomically(manifest_path, manifest_bytes)
    card_path = out / CARD_FILE
    write_bytes_atomically(
        card_path, dataset_card(manifest, hashlib.sha256(manifest_bytes).hexdigest()).encode("utf-8")
    )

    by_name = {d.name: d for d in digests}
    jsonl = by_name.get(PREFERENCES_FILE)
    return ExportSummary(
        preferences_path=out / PREFERENCES_FILE if jsonl else None,
        manifest_path=manifest_path,
        preferences_sha256=jsonl.sha256 if jsonl else None,
        preferences_bytes=jsonl.bytes if jsonl else None,
        question_id=headline_question,
        versions=tuple(done),
        files=tuple(digests),
        card_path=card_path,
        parquet_path=out / PARQUET_FILE if PARQUET_FILE in by_name else None,
        manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
        **totals,
    )
