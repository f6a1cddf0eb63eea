"""Preference export: majority-voted pairwise judgments as TRL preference data.

``export_preferences`` writes two files into ``out_dir``:

``preferences.jsonl``
    One JSON object per exported (item, rubric version), keys sorted, UTF-8, ``\\n`` line
    endings::

        {"agreement": 0.667, "chosen": ..., "chosen_model": "m1", "item_id": "ext-7",
         "margin": 0.667, "n_ratings": 3, "prompt": ..., "rejected": ...,
         "rejected_model": "m2", "rubric": "slug", "rubric_version": 1,
         "rubric_version_sha256": "..."}

    *Standard* shape when the item's prompt is a string (``prompt``, ``chosen`` and
    ``rejected`` are strings); *conversational* shape when the prompt is a list of chat
    messages (``prompt`` is that list, ``chosen``/``rejected`` are
    ``[{"role": "assistant", "content": text}]``), as TRL's preference datasets expect.

``manifest.json``
    Provenance and counts: format, workbench version, project, rubric slug and, per rubric
    version, its number, sha256, question id and counts; the filters; the totals; the
    sha256, byte size and line count of ``preferences.jsonl``. Keys sorted, no timestamp
    unless ``created_at`` is given, so the manifest is deterministic too.

Aggregation, per item and rubric version (judgments made under different rubric versions
are never pooled; an item judged under two versions yields up to two lines, each carrying
its version). Only live judgments (``superseded_by_id`` NULL) that answer the question
count as ratings. Everything is in canonical orientation: ``A`` is the item's response at
position 0, whatever side each rater saw it on.

- majority: the most frequent choice among ``A``/``B``/``tie`` (plurality). When two
  choices share the top count there is no majority and the item is dropped
  (``dropped_no_majority``). When the majority choice is ``tie`` the item is dropped as a
  tie (``dropped_tie``).
- ``margin``: mean over all ratings of the signed strength toward the chosen response:
  ``+strength`` for a rating of the chosen side, ``-strength`` for the other side, ``0``
  for a tie; a missing strength counts as 1.
- ``agreement``: share of the ratings equal to the majority choice.
- ``n_ratings``: ratings of the item under that version. Items with fewer than
  ``min_raters`` ratings are dropped as ``dropped_too_few_raters`` before the vote.

``drop_ties=False`` writes nothing extra for now: the chosen/rejected format has no way to
say "tie", so tie-majority items are still left out of the file and still counted in
``dropped_tie``; only the manifest's ``filters.drop_ties`` differs. It is reserved for a
tie-aware output (e.g. a ``label`` column) later.

Memory: the vote is counted in the database (one ``GROUP BY`` per rubric version over the
JSON-path choice and strength of each live judgment), and the per-item rows, joined with
the prompt and both responses and ordered by external id, are streamed with
``yield_per``; nothing proportional to the project is held in Python. The file is written
to a temporary name in ``out_dir`` and renamed over the target with ``os.replace`` only
once complete, so readers never see a partial file. Item order is code point order of the
external id on every backend (``COLLATE "C"`` on PostgreSQL).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from .. import __version__
from ..domain import PairChoice, TaskKind
from ..errors import FieldError, InvalidInput
from ..models import Item, Judgment, Project, Response, RubricVersion
from ..services.rubrics import current_version

PREFERENCES_FILE = "preferences.jsonl"
MANIFEST_FILE = "manifest.json"
FORMAT = "workbench.preferences/1"
DEFAULT_BATCH_SIZE = 1000

_CHOICES = {c.value for c in PairChoice}


# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionExport:
    """What happened to the judgments made under one rubric version.

    ``question_id`` is the question aggregated for this version, or None when the version
    has no such pairwise question (the version was skipped and its counts are zero).
    Counts are of items judged under this version.
    """

    number: int
    sha256: str
    question_id: str | None
    ratings: int = 0
    items_considered: int = 0
    exported: int = 0
    dropped_tie: int = 0
    dropped_no_majority: int = 0
    dropped_too_few_raters: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "ratings": self.ratings,
            "items_considered": self.items_considered,
            "exported": self.exported,
            "dropped_tie": self.dropped_tie,
            "dropped_no_majority": self.dropped_no_majority,
            "dropped_too_few_raters": self.dropped_too_few_raters,
        }


@dataclass(frozen=True)
class ExportSummary:
    """Paths, hashes and counts of one preference export.

    ``items_considered`` counts (item, rubric version) units with at least one rating;
    ``items_considered == exported + dropped_tie + dropped_no_majority +
    dropped_too_few_raters``. Items nobody has rated yet are not considered.
    """

    preferences_path: Path
    manifest_path: Path
    preferences_sha256: str
    preferences_bytes: int
    question_id: str
    ratings: int
    items_considered: int
    exported: int
    dropped_tie: int
    dropped_no_majority: int
    dropped_too_few_raters: int
    versions: tuple[VersionExport, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class PairOutcome:
    """The vote on one item: ``status`` is ``preference``, ``tie`` or ``no_majority``.

    ``winner`` is the canonical side (``A``/``B``) for a preference, else None.
    ``agreement`` is the share of ratings equal to the majority choice (None without a
    majority); ``margin`` is the mean signed strength toward the winner (None unless a
    preference).
    """

    status: str
    winner: str | None
    n_ratings: int
    agreement: float | None
    margin: float | None


def outcome_from_counts(n_a: int, n_b: int, n_tie: int, strength_a: int, strength_b: int) -> PairOutcome:
    """The vote from canonical counts: ratings per choice and summed strengths per side.

    ``strength_a`` is the sum over the ``A`` ratings of their strength (1 when missing);
    likewise ``strength_b``. Requires at least one rating.
    """
    n = n_a + n_b + n_tie
    if n < 1:
        raise ValueError("a vote needs at least one rating")
    counts = {PairChoice.A.value: n_a, PairChoice.B.value: n_b, PairChoice.TIE.value: n_tie}
    top = max(counts.values())
    leaders = [choice for choice, count in counts.items() if count == top]
    if len(leaders) > 1:
        return PairOutcome("no_majority", None, n, None, None)
    leader = leaders[0]
    agreement = top / n
    if leader == PairChoice.TIE.value:
        return PairOutcome("tie", None, n, agreement, None)
    signed = strength_a - strength_b if leader == PairChoice.A.value else strength_b - strength_a
    return PairOutcome("preference", leader, n, agreement, signed / n)


def aggregate_pair(ratings: Iterable[tuple[str, int | None]]) -> PairOutcome:
    """Majority vote over canonical ``(choice, strength)`` ratings of one item.

    >>> aggregate_pair([("A", 3), ("A", 1), ("B", 2)])
    PairOutcome(status='preference', winner='A', n_ratings=3, agreement=0.6666666666666666, margin=0.6666666666666666)
    """
    counts = Counter()
    strengths = Counter()
    for choice, strength in ratings:
        if choice not in _CHOICES:
            raise ValueError(f"unknown choice {choice!r}")
        counts[choice] += 1
        strengths[choice] += 1 if strength is None else strength
    return outcome_from_counts(counts["A"], counts["B"], counts["tie"], strengths["A"], strengths["B"])


# -- question and version resolution -------------------------------------------------------


def _pairwise_ids(document: dict[str, Any]) -> list[str]:
    return [q["id"] for q in document.get("questions", []) if q.get("type") == "pairwise"]


def _question_for(document: dict[str, Any], question_id: str | None) -> str | None:
    ids = _pairwise_ids(document)
    if question_id is None:
        return ids[0] if ids else None
    return question_id if question_id in ids else None


def _judged_versions(session: Session, project: Project) -> list[RubricVersion]:
    judged = (
        select(Judgment.rubric_version_id)
        .where(Judgment.project_id == project.id, Judgment.superseded_by_id.is_(None))
        .distinct()
    )
    return list(
        session.scalars(select(RubricVersion).where(RubricVersion.id.in_(judged)).order_by(RubricVersion.number))
    )


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


# -- streaming -----------------------------------------------------------------------------


def _external_id_order(session: Session):
    # Byte (= code point) order on every backend, like Python's sorted(): SQLite compares
    # with BINARY by default; PostgreSQL would use the database locale without COLLATE "C".
    if session.get_bind().dialect.name == "postgresql":
        return Item.external_id.collate("C")
    return Item.external_id


def _units(session: Session, project: Project, version: RubricVersion, question_id: str, batch_size: int):
    """One row per item judged under ``version``, in external-id order, streamed.

    The vote is counted in SQL: the choice and strength are read from the answers with a
    JSON path, then summed per item (ratings per choice, strengths per side). Only live
    judgments count; judgments that leave the question unanswered count for nothing. The
    row carries the prompt and both responses, so no second query is needed.
    """
    answers = Judgment.answers
    ratings = (
        select(
            Judgment.item_id.label("item_id"),
            answers[(question_id, "choice")].as_string().label("choice"),
            func.coalesce(answers[(question_id, "strength")].as_integer(), 1).label("strength"),
        )
        .where(
            Judgment.project_id == project.id,
            Judgment.rubric_version_id == version.id,
            Judgment.superseded_by_id.is_(None),
        )
        .subquery()
    )

    def count(choice: str):
        return func.sum(case((ratings.c.choice == choice, 1), else_=0))

    def strength(choice: str):
        return func.sum(case((ratings.c.choice == choice, ratings.c.strength), else_=0))

    votes = (
        select(
            ratings.c.item_id,
            count(PairChoice.A.value).label("n_a"),
            count(PairChoice.B.value).label("n_b"),
            count(PairChoice.TIE.value).label("n_tie"),
            strength(PairChoice.A.value).label("strength_a"),
            strength(PairChoice.B.value).label("strength_b"),
        )
        .group_by(ratings.c.item_id)
        .subquery()
    )
    first, second = aliased(Response), aliased(Response)
    query = (
        select(
            Item.external_id,
            Item.prompt,
            votes.c.n_a,
            votes.c.n_b,
            votes.c.n_tie,
            votes.c.strength_a,
            votes.c.strength_b,
            first.text.label("text_a"),
            first.model.label("model_a"),
            second.text.label("text_b"),
            second.model.label("model_b"),
        )
        .join(votes, votes.c.item_id == Item.id)
        .outerjoin(first, and_(first.item_id == Item.id, first.position == 0))
        .outerjoin(second, and_(second.item_id == Item.id, second.position == 1))
        .order_by(_external_id_order(session), Item.id)
        .execution_options(yield_per=batch_size)
    )
    return session.execute(query)


def _message(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def _record(row, outcome: PairOutcome, version: RubricVersion, slug: str) -> dict[str, Any]:
    """One output line, in canonical orientation: ``A`` is the response at position 0."""
    if row.text_a is None or row.text_b is None:
        raise InvalidInput(f"item {row.external_id!r} is judged but lacks one of its two responses")
    sides = {PairChoice.A.value: (row.text_a, row.model_a), PairChoice.B.value: (row.text_b, row.model_b)}
    loser = PairChoice.B.value if outcome.winner == PairChoice.A.value else PairChoice.A.value
    (chosen, chosen_model), (rejected, rejected_model) = sides[outcome.winner], sides[loser]
    prompt = row.prompt
    if isinstance(prompt, list):
        chosen, rejected = _message(chosen), _message(rejected)
    return {
        "prompt": prompt,
        "chosen": chosen,
        "rejected": rejected,
        "margin": outcome.margin,
        "n_ratings": outcome.n_ratings,
        "agreement": outcome.agreement,
        "item_id": row.external_id,
        "chosen_model": chosen_model,
        "rejected_model": rejected_model,
        "rubric": slug,
        "rubric_version": version.number,
        "rubric_version_sha256": version.content_sha256,
    }


class _HashingWriter:
    """Writes bytes to a file while keeping their sha256, size and line count."""

    def __init__(self, fh: IO[bytes]):
        self.fh = fh
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.lines = 0

    def write_record(self, record: dict[str, Any]) -> None:
        data = (json.dumps(record, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
        self.fh.write(data)
        self.sha256.update(data)
        self.size += len(data)
        self.lines += 1


def _export_version(
    session: Session,
    project: Project,
    version: RubricVersion,
    question_id: str,
    slug: str,
    writer: _HashingWriter,
    min_raters: int,
    batch_size: int,
) -> VersionExport:
    counts = Counter()
    with closing(_units(session, project, version, question_id, batch_size)) as rows:
        for row in rows:
            n = row.n_a + row.n_b + row.n_tie
            if n == 0:  # judged, but nobody answered this question
                continue
            counts["items_considered"] += 1
            counts["ratings"] += n
            if n < min_raters:
                counts["dropped_too_few_raters"] += 1
                continue
            outcome = outcome_from_counts(row.n_a, row.n_b, row.n_tie, row.strength_a, row.strength_b)
            if outcome.status == "no_majority":
                counts["dropped_no_majority"] += 1
            elif outcome.status == "tie":
                # Dropped and counted whatever drop_ties says: the format cannot carry a tie
                # (see the module docstring).
                counts["dropped_tie"] += 1
            else:
                counts["exported"] += 1
                writer.write_record(_record(row, outcome, version, slug))
    return VersionExport(number=version.number, sha256=version.content_sha256, question_id=question_id, **counts)


# -- files ---------------------------------------------------------------------------------


def _temporary(out_dir: Path, name: str) -> Path:
    return out_dir / f".{name}.{secrets.token_hex(8)}.tmp"


def _write_atomically(target: Path, write) -> Any:
    """Call ``write(fh)`` on a temporary file beside ``target``, then rename it into place."""
    tmp = _temporary(target.parent, target.name)
    try:
        with open(tmp, "xb", buffering=1 << 20) as fh:
            result = write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return result


def _positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(
            "cannot export preferences", [FieldError(name, f"{name} must be a whole number of at least 1")]
        )


def export_preferences(
    session: Session,
    project: Project,
    out_dir: str | os.PathLike[str],
    question_id: str | None = None,
    drop_ties: bool = True,
    min_raters: int = 1,
    *,
    created_at: datetime | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> ExportSummary:
    """Write ``preferences.jsonl`` and ``manifest.json`` for a pairwise project into ``out_dir``.

    ``question_id`` picks the pairwise question to aggregate; by default each rubric
    version's first pairwise question. A version without that question is skipped (listed
    in the manifest with ``question_id: null``). ``min_raters`` drops items with fewer
    ratings. ``created_at``, when given, is recorded in the manifest (leave it out for a
    byte-identical manifest). Only reads the session; never commits.

    Raises ``InvalidInput`` when the project is not pairwise, the question is not a
    pairwise question of the rubric, or ``min_raters``/``batch_size`` are below 1.
    """
    if project.task_kind != TaskKind.PAIRWISE:
        raise InvalidInput(
            "cannot export preferences",
            [FieldError("project", f"project {project.name!r} is {project.task_kind.value}, not pairwise")],
        )
    _positive("min_raters", min_raters)
    _positive("batch_size", batch_size)
    current = current_version(session, project)
    versions = _judged_versions(session, project)
    _check_question(question_id, [current.document, *(v.document for v in versions)])
    slug = project.rubric.slug
    headline_question = question_id or _question_for(current.document, None)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    preferences_path = out / PREFERENCES_FILE
    manifest_path = out / MANIFEST_FILE

    def write_preferences(fh: IO[bytes]) -> tuple[_HashingWriter, list[VersionExport]]:
        writer = _HashingWriter(fh)
        done = []
        for version in versions:
            qid = _question_for(version.document, question_id)
            if qid is None:
                done.append(VersionExport(number=version.number, sha256=version.content_sha256, question_id=None))
                continue
            done.append(_export_version(session, project, version, qid, slug, writer, min_raters, batch_size))
        return writer, done

    writer, done = _write_atomically(preferences_path, write_preferences)
    totals = Counter()
    for v in done:
        totals.update(v.counts())
    totals = {key: totals.get(key, 0) for key in VersionExport(0, "", None).counts()}

    manifest: dict[str, Any] = {
        "format": FORMAT,
        "workbench_version": __version__,
        "project": project.name,
        "question_id": headline_question,
        "rubric": {
            "slug": slug,
            "versions": [
                {"number": v.number, "sha256": v.sha256, "question_id": v.question_id, "counts": v.counts()}
                for v in done
            ],
        },
        "filters": {"question_id": question_id, "drop_ties": drop_ties, "min_raters": min_raters},
        "aggregation": {
            "unit": "item x rubric version; live judgments only; canonical orientation",
            "choice": "plurality of A/B/tie; a tie for the top count is no majority",
            "margin": "mean signed strength toward chosen (tie 0, missing strength 1)",
            "agreement": "share of ratings equal to the majority choice",
        },
        "counts": totals,
        "files": {
            PREFERENCES_FILE: {"sha256": writer.sha256.hexdigest(), "bytes": writer.size, "lines": writer.lines},
        },
    }
    if created_at is not None:
        manifest["created_at"] = created_at.isoformat()
    manifest_bytes = (json.dumps(manifest, sort_keys=True, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    _write_atomically(manifest_path, lambda fh: fh.write(manifest_bytes))

    return ExportSummary(
        preferences_path=preferences_path,
        manifest_path=manifest_path,
        preferences_sha256=writer.sha256.hexdigest(),
        preferences_bytes=writer.size,
        question_id=headline_question,
        versions=tuple(done),
        **totals,
    )
