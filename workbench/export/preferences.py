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

Memory: majority and mean strength are counted in SQL (one ``GROUP BY`` per version) and
rows are streamed with ``yield_per`` in external-id order (code point order on every
backend); writers keep one Parquet row group at most. Dawid-Skene holds three integer
arrays of the version's ratings for the fit. Files are written under temporary names and
renamed into place only when all are complete.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import and_, case, func, literal, or_, select, true
from sqlalchemy.orm import Session, aliased

from .. import __version__
from ..domain import PairChoice, TaskKind
from ..errors import FieldError, InvalidInput
from ..models import Adjudication, Item, Judgment, Project, Response, RubricVersion
from ..services.pseudonyms import pseudonym
from ..services.rubrics import current_version
from ..stats.dawid_skene import dawid_skene
from .card import choice_alpha, dataset_card
from .writers import FileDigest, atomic_files, write_bytes_atomically

PREFERENCES_FILE = "preferences.jsonl"
PARQUET_FILE = "preferences.parquet"
MANIFEST_FILE = "manifest.json"
CARD_FILE = "README.md"
FORMAT = "workbench.preferences/2"
DEFAULT_BATCH_SIZE = 1000

SHAPES = ("auto", "standard", "conversational", "kto", "reward")
AGGREGATES = ("majority", "mean_strength", "dawid_skene", "per_rater")
TIE_POLICIES = ("drop", "keep", "split")
FORMATS = ("jsonl", "parquet")

_CHOICES = {c.value for c in PairChoice}
_CODE = {"A": 0, "B": 1, "tie": 2}


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


def external_id_order(session: Session):
    # Byte (= code point) order on every backend, like Python's sorted(): SQLite compares
    # with BINARY by default; PostgreSQL would use the database locale without COLLATE "C".
    if session.get_bind().dialect.name == "postgresql":
        return Item.external_id.collate("C")
    return Item.external_id


def exportable_items(include_gold: bool):
    """The SQL condition leaving out gold items and honeypots (``metadata.honeypot`` true)."""
    if include_gold:
        return true()
    honeypot = Item.meta["honeypot"].as_boolean()
    return and_(Item.is_gold.is_(False), or_(honeypot.is_(None), honeypot.is_(False)))


def _ratings(project: Project, version: RubricVersion, question_id: str, excluded: Sequence[int]):
    answers = Judgment.answers
    conditions = [
        Judgment.project_id == project.id,
        Judgment.rubric_version_id == version.id,
        Judgment.superseded_by_id.is_(None),
    ]
    if excluded:
        conditions.append(Judgment.rater_id.not_in(list(excluded)))
    return (
        select(
            Judgment.id.label("judgment_id"),
            Judgment.item_id.label("item_id"),
            Judgment.rater_id.label("rater_id"),
            answers[(question_id, "choice")].as_string().label("choice"),
            func.coalesce(answers[(question_id, "strength")].as_integer(), 1).label("strength"),
        )
        .where(*conditions)
        .subquery()
    )


def _votes(ratings):
    def count(choice: str):
        return func.sum(case((ratings.c.choice == choice, 1), else_=0))

    def strength(choice: str):
        return func.sum(case((ratings.c.choice == choice, ratings.c.strength), else_=0))

    return (
        select(
            ratings.c.item_id,
            count("A").label("n_a"),
            count("B").label("n_b"),
            count("tie").label("n_tie"),
            strength("A").label("strength_a"),
            strength("B").label("strength_b"),
        )
        .group_by(ratings.c.item_id)
        .subquery()
    )


def _units(session: Session, project: Project, version: RubricVersion, question_id: str, opts: "_Options"):
    """One row per item judged under ``version`` (per judgment for ``per_rater``), streamed.

    The vote is counted in SQL from the JSON-path choice and strength of each live
    judgment; the row carries the prompt and both responses, so no second query is needed.
    """
    ratings = _ratings(project, version, question_id, opts.excluded)
    votes = _votes(ratings)
    first, second = aliased(Response), aliased(Response)
    columns = [
        Item.id.label("item_pk"),
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
    ]
    order = [external_id_order(session), Item.id]
    if opts.aggregate == "per_rater":
        mine = ratings.alias("mine")
        columns += [mine.c.rater_id, mine.c.choice.label("own_choice"), mine.c.strength.label("own_strength")]
        query = select(*columns).join(mine, mine.c.item_id == Item.id)
        order.append(mine.c.judgment_id)
    else:
        query = select(*columns)
    query = (
        query.join(votes, votes.c.item_id == Item.id)
        .outerjoin(first, and_(first.item_id == Item.id, first.position == 0))
        .outerjoin(second, and_(second.item_id == Item.id, second.position == 1))
        .where(exportable_items(opts.include_gold))
        .order_by(*order)
    )
    # Core rows (no ORM loading), streamed from the server in batches. The option goes on
    # the statement: Connection.execution_options would change the session's connection
    # for the rest of its transaction (every later statement a server-side cursor).
    return session.connection().execute(query.execution_options(yield_per=opts.batch_size))


def _vote_counts(session: Session, project: Project, version: RubricVersion, question_id: str, opts) -> np.ndarray:
    """Per-item counts of A, B and tie (items × 3), for alpha; one GROUP BY, read column-wise."""
    votes = _votes(_ratings(project, version, question_id, opts.excluded))
    query = (
        select(votes.c.n_a, votes.c.n_b, votes.c.n_tie)
        .join(Item, Item.id == votes.c.item_id)
        .where(exportable_items(opts.include_gold))
    )
    rows = [tuple(row) for row in session.connection().execute(query)]  # numpy must not probe Row objects
    if not rows:
        return np.zeros((0, 3), dtype=np.int64)
    return np.asarray(rows, dtype=np.int64)


def _dawid_skene_posteriors(session, project, version, question_id, opts) -> tuple[np.ndarray, np.ndarray] | None:
    """(sorted item ids, posteriors over A/B/tie) from a Dawid-Skene fit on the version's ratings."""
    ratings = _ratings(project, version, question_id, opts.excluded)
    rows = session.execute(
        select(ratings.c.item_id, ratings.c.rater_id, ratings.c.choice)
        .join(Item, Item.id == ratings.c.item_id)
        .where(ratings.c.choice.in_(list(_CODE)), exportable_items(opts.include_gold))
        .execution_options(yield_per=50_000)
    )
    items, raters, labels = [], [], []
    for item_id, rater_id, choice in rows:
        items.append(item_id)
        raters.append(rater_id)
        labels.append(_CODE[choice])
    if not items:
        return None
    fit = dawid_skene(np.asarray(items), np.asarray(raters), np.asarray(labels), 3)
    return fit.item_ids, fit.posteriors


# -- decisions and rows --------------------------------------------------------------------


@dataclass(frozen=True)
class _Options:
    shape: str
    conversational: bool
    aggregate: str
    ties: str
    min_raters: int
    min_agreement: float
    include_gold: bool
    excluded: tuple[int, ...]
    batch_size: int
    prefer_adjudicated: bool = True


_A, _B, _TIE, _NONE = 0, 1, 2, -1


def _decide(cols: dict[str, np.ndarray], opts: _Options, posteriors) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per unit of one batch: winner code (A 0, B 1, tie 2, none -1), margin, posterior."""
    n_a, n_b, n_tie = cols["n_a"], cols["n_b"], cols["n_tie"]
    n = n_a + n_b + n_tie
    signed = (cols["strength_a"] - cols["strength_b"]).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if opts.aggregate == "per_rater":
            own = cols["own"]
            winner = own.copy()
            margin = np.where(own == _TIE, 0.0, cols["own_strength"].astype(np.float64))
            return winner, margin, None
        if opts.aggregate == "majority":
            stacked = np.stack([n_a, n_b, n_tie], axis=1)
            top = stacked.max(axis=1)
            leaders = (stacked == top[:, None]).sum(axis=1)
            winner = np.where(leaders > 1, _NONE, stacked.argmax(axis=1))
            margin = np.where(winner == _A, signed, -signed) / n
            margin = np.where(winner == _TIE, 0.0, margin)
            return winner, margin, None
        if opts.aggregate == "mean_strength":
            winner = np.where(signed > 0, _A, np.where(signed < 0, _B, _TIE))
            return winner, np.abs(signed) / n, None
    ids, post = posteriors
    p = post[np.searchsorted(ids, cols["item_pk"])]
    winner = p.argmax(axis=1)
    idx = np.arange(len(winner))
    best = p[idx, winner]
    other = p[idx, np.where(winner == _A, _B, _A)]
    margin = np.where(winner == _TIE, 0.0, best - other)
    return winner, margin, best


def _message(text: str, role: str = "assistant") -> list[dict[str, str]]:
    return [{"role": role, "content": text}]


def columns_for(opts: _Options) -> list[str]:
    """The output columns, in Parquet order."""
    if opts.shape == "kto":
        cols = ["prompt", "completion", "label", "model"]
    else:
        cols = ["prompt", "chosen", "rejected", "chosen_model", "rejected_model"]
    cols += ["margin", "n_ratings", "agreement", "item_id", "rubric", "rubric_version", "rubric_version_sha256"]
    if opts.ties != "drop":
        cols += ["tie", "weight"]
    if opts.aggregate == "per_rater":
        cols.append("rater")
    if opts.aggregate == "dawid_skene":
        cols.append("posterior")
    return cols


def arrow_schema(columns: Sequence[str], conversational: bool) -> pa.Schema:
    messages = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    text = messages if conversational else pa.string()
    types = {
        "prompt": text, "chosen": text, "rejected": text, "completion": text, "label": pa.bool_(),
        "model": pa.string(), "chosen_model": pa.string(), "rejected_model": pa.string(),
        "margin": pa.float64(), "n_ratings": pa.int32(), "agreement": pa.float64(), "item_id": pa.string(),
        "rubric": pa.string(), "rubric_version": pa.int32(), "rubric_version_sha256": pa.string(),
        "tie": pa.bool_(), "weight": pa.float64(), "rater": pa.string(), "posterior": pa.float64(),
    }  # fmt: skip
    return pa.schema([pa.field(c, types[c], nullable=c not in ("prompt", "item_id")) for c in columns])


_INT_COLUMNS = ("item_pk", "n_a", "n_b", "n_tie", "strength_a", "strength_b")


def _batch_columns(rows: list, keys: list[str]) -> dict[str, Any]:
    columns = dict(zip(keys, (list(c) for c in zip(*rows, strict=True)), strict=True))
    for key in _INT_COLUMNS:
        columns[key] = np.asarray(columns[key], dtype=np.int64)
    if "own_choice" in columns:
        columns["own"] = np.asarray([_CODE.get(c, _NONE) for c in columns.pop("own_choice")], dtype=np.int64)
        columns["own_strength"] = np.asarray(columns["own_strength"], dtype=np.int64)
    return columns


def _emit(cols, keep: np.ndarray, winner, margin, posterior, n, agreement, version, slug, opts, raters):
    """The output columns for the kept units of one batch (ties kept or split, KTO pairs)."""
    units = np.flatnonzero(keep)
    w = winner[units]
    if opts.ties == "split":
        ties = w == _TIE
        unit_of = np.concatenate([units, units[ties]])
        good = np.concatenate([np.where(ties, _A, w), np.full(int(ties.sum()), _B)])
        weight = np.concatenate([np.where(ties, 0.5, 1.0), np.full(int(ties.sum()), 0.5)])
        order = np.argsort(unit_of, kind="stable")
        unit_of, good, weight = unit_of[order], good[order], weight[order]
    else:
        unit_of, good, weight = units, np.where(w == _TIE, _A, w), np.ones(len(units))
    for i in unit_of:
        if cols["text_a"][i] is None or cols["text_b"][i] is None:
            raise InvalidInput(f"item {cols['external_id'][i]!r} is judged but lacks one of its two responses")
    idx = unit_of.tolist()
    good_l = good.tolist()
    text_a, text_b, model_a, model_b = cols["text_a"], cols["text_b"], cols["model_a"], cols["model_b"]
    chosen = [text_a[i] if g == _A else text_b[i] for i, g in zip(idx, good_l, strict=True)]
    rejected = [text_b[i] if g == _A else text_a[i] for i, g in zip(idx, good_l, strict=True)]
    chosen_model = [model_a[i] if g == _A else model_b[i] for i, g in zip(idx, good_l, strict=True)]
    rejected_model = [model_b[i] if g == _A else model_a[i] for i, g in zip(idx, good_l, strict=True)]
    prompt = [cols["prompt"][i] for i in idx]
    if opts.conversational:
        prompt = [_message(p, "user") if isinstance(p, str) else p for p in prompt]
        chosen = [_message(t) for t in chosen]
        rejected = [_message(t) for t in rejected]
    out: dict[str, list] = {
        "margin": margin[unit_of].tolist(),
        "n_ratings": n[unit_of].tolist(),
        "agreement": agreement[unit_of].tolist(),
        "item_id": [cols["external_id"][i] for i in idx],
        "rubric": [slug] * len(idx),
        "rubric_version": [version.number] * len(idx),
        "rubric_version_sha256": [version.content_sha256] * len(idx),
    }
    if opts.ties != "drop":
        out["tie"] = (winner[unit_of] == _TIE).tolist()
        out["weight"] = weight.tolist()
    if raters is not None:
        out["rater"] = [raters[i] for i in idx]
    if posterior is not None:
        out["posterior"] = posterior[unit_of].tolist()
    if opts.shape != "kto":
        out.update(prompt=prompt, chosen=chosen, rejected=rejected, chosen_model=chosen_model, rejected_model=rejected_model)
        return out
    kto: dict[str, list] = {key: [v for v in values for _ in (0, 1)] for key, values in out.items()}
    kto["prompt"] = [p for p in prompt for _ in (0, 1)]
    kto["completion"] = [t for pair in zip(chosen, rejected, strict=True) for t in pair]
    kto["label"] = [True, False] * len(idx)
    kto["model"] = [m for pair in zip(chosen_model, rejected_model, strict=True) for m in pair]
    return kto


def _adjudicated_choices(session: Session, project: Project, question_id: str) -> dict[int, tuple[int, float]]:
    """Item id → (winner code, margin) from the adjudicators' final answers on the question."""
    out = {}
    rows = session.execute(
        select(Adjudication.item_id, Adjudication.answer).where(
            Adjudication.project_id == project.id, Adjudication.question_id == question_id
        )
    )
    for item_id, answer in rows:
        choice = answer.get("choice") if isinstance(answer, dict) else None
        if choice in _CODE:
            strength = answer.get("strength") if choice != "tie" else 0
            out[item_id] = (_CODE[choice], float(strength or (0 if choice == "tie" else 1)))
    return out


def _apply_adjudications(item_pk: np.ndarray, winner: np.ndarray, margin: np.ndarray, adjudicated):
    settled = np.fromiter((int(pk) in adjudicated for pk in item_pk), dtype=bool, count=len(item_pk))
    if settled.any():
        winner, margin = winner.copy(), margin.astype(np.float64, copy=True)
        for i in np.flatnonzero(settled):
            winner[i], margin[i] = adjudicated[int(item_pk[i])]
    return winner, margin, settled


def _export_version(session, project, version, question_id, slug, sinks, opts: _Options) -> tuple[VersionExport, np.ndarray | None]:
    counts = Counter()
    posteriors = None
    if opts.aggregate == "dawid_skene":
        posteriors = _dawid_skene_posteriors(session, project, version, question_id, opts)
        if posteriors is None:
            return VersionExport(number=version.number, sha256=version.content_sha256, question_id=question_id), None
    names: dict[int, str] = {}
    vote_counts: list[np.ndarray] = []
    adjudicated = (
        _adjudicated_choices(session, project, question_id)
        if opts.prefer_adjudicated and opts.aggregate != "per_rater"
        else {}
    )
    result = _units(session, project, version, question_id, opts)
    keys = list(result.keys())
    with closing(result):
        for batch in result.partitions(opts.batch_size):
            cols = _batch_columns(batch, keys)
            n = cols["n_a"] + cols["n_b"] + cols["n_tie"]
            if opts.aggregate != "per_rater":
                vote_counts.append(np.stack([cols["n_a"], cols["n_b"], cols["n_tie"]], axis=1))
            considered = n > 0
            if opts.aggregate == "per_rater":
                considered &= cols["own"] != _NONE
            with np.errstate(divide="ignore", invalid="ignore"):
                agreement = np.maximum(np.maximum(cols["n_a"], cols["n_b"]), cols["n_tie"]) / n
            winner, margin, posterior = _decide(cols, opts, posteriors)
            settled = np.zeros(len(n), dtype=bool)
            if adjudicated:
                winner, margin, settled = _apply_adjudications(cols["item_pk"], winner, margin, adjudicated)
                settled &= considered
            too_few = considered & (n < opts.min_raters)
            low = considered & ~too_few & (agreement < opts.min_agreement) & ~settled
            passed = considered & ~too_few & ~low
            no_majority = passed & (winner == _NONE)
            tie_dropped = passed & (winner == _TIE) if opts.ties == "drop" else np.zeros_like(passed)
            keep = passed & ~no_majority & ~tie_dropped
            counts["items_considered"] += int(considered.sum())
            counts["ratings"] += int(considered.sum()) if opts.aggregate == "per_rater" else int(n[considered].sum())
            counts["dropped_too_few_raters"] += int(too_few.sum())
            counts["dropped_low_agreement"] += int(low.sum())
            counts["dropped_no_majority"] += int(no_majority.sum())
            counts["dropped_tie"] += int(tie_dropped.sum())
            counts["exported"] += int(keep.sum())
            counts["adjudicated"] += int((keep & settled).sum())
            if not keep.any():
                continue
            raters = None
            if opts.aggregate == "per_rater":
                raters = [
                    names.get(r) or names.setdefault(r, pseudonym(project, r)) if k else None
                    for r, k in zip(cols["rater_id"], keep.tolist(), strict=True)
                ]
            out = _emit(cols, keep, winner, margin, posterior, n, agreement, version, slug, opts, raters)
            counts["rows"] += len(out["item_id"])
            for sink in sinks:
                sink.write_columns(out)
    export = VersionExport(number=version.number, sha256=version.content_sha256, question_id=question_id, **counts)
    if opts.aggregate == "per_rater":
        return export, None  # one row per judgment: the per-item counts need their own query
    return export, (np.concatenate(vote_counts) if vote_counts else np.zeros((0, 3), dtype=np.int64))


# -- options and checks ----------------------------------------------------------------------


def _refuse(location: str, message: str) -> None:
    raise InvalidInput("cannot export preferences", [FieldError(location, message)])


def _positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        _refuse(name, f"{name} must be a whole number of at least 1")


def _one_of(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        _refuse(name, f"{value!r} is not one of {', '.join(allowed)}")


def has_message_prompts(session: Session, project: Project) -> bool:
    """Whether any item of the project has a chat-message prompt (a JSON array)."""
    if session.get_bind().dialect.name == "postgresql":
        kind = func.jsonb_typeof(Item.prompt)
    else:
        kind = func.json_type(Item.prompt)
    query = select(literal(1)).where(Item.project_id == project.id, kind == "array").limit(1)
    return session.scalar(query) is not None


def flagged_raters(session: Session, project: Project, question_id: str | None, thresholds=None) -> tuple[int, ...]:
    """Ids of the raters whose calibration on the question raised any flag."""
    from ..services.calibration import rater_calibration

    report = rater_calibration(session, project, question_id, thresholds)
    return tuple(sorted(r.user_id for r in report.rows if r.calibration.flags))


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
        _refuse("project", f"project {project.name!r} is {project.task_kind.value}, not pairwise")
    ties = ties or ("drop" if drop_ties else "keep")
    formats = tuple(dict.fromkeys(formats))
    _positive("min_raters", min_raters)
    _positive("batch_size", batch_size)
    _one_of("shape", shape, SHAPES)
    _one_of("aggregate", aggregate, AGGREGATES)
    _one_of("ties", ties, TIE_POLICIES)
    if not formats:
        _refuse("formats", "give at least one of jsonl, parquet")
    for fmt in formats:
        _one_of("formats", fmt, FORMATS)
    if isinstance(min_agreement, bool) or not isinstance(min_agreement, int | float) or not 0 <= min_agreement <= 1:
        _refuse("min_agreement", "min_agreement must be a number from 0 to 1")
    if shape == "kto" and ties != "drop":
        _refuse("ties", "KTO rows cannot say 'tie'; use ties=drop with the kto shape")

    current = current_version(session, project)
    versions = _judged_versions(session, project)
    _check_question(question_id, [current.document, *(v.document for v in versions)])
    if rubric_version is not None and rubric_version not in {v.number for v in versions}:
        known = ", ".join(str(v.number) for v in versions) or "none"
        _refuse("rubric_version", f"no judgments under version {rubric_version}; judged versions: {known}")
    slug = project.rubric.slug
    headline_question = question_id or _question_for(current.document, None)

    messages = has_message_prompts(session, project)
    if messages and shape in ("standard", "reward"):
        _refuse("shape", f"the project has chat-message prompts; the {shape} shape needs text prompts (use conversational)")
    conversational = shape == "conversational" or (shape in ("auto", "kto", "reward") and messages)
    resolved_shape = ("conversational" if messages else "standard") if shape == "auto" else shape
    excluded = flagged_raters(session, project, question_id, calibration_thresholds) if exclude_flagged_raters else ()
    opts = _Options(
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
        sinks = []
        if "jsonl" in formats:
            sinks.append(files.jsonl(PREFERENCES_FILE))
        if "parquet" in formats:
            sinks.append(files.parquet(PARQUET_FILE, arrow_schema(columns, conversational)))
        for version in versions:
            qid = _question_for(version.document, question_id)
            if qid is None or (rubric_version is not None and version.number != rubric_version):
                done.append(VersionExport(number=version.number, sha256=version.content_sha256, question_id=None))
                continue
            exported, vote_counts = _export_version(session, project, version, qid, slug, sinks, opts)
            if vote_counts is None:
                vote_counts = _vote_counts(session, project, version, qid, opts)
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
            "margin": _MARGIN[aggregate],
            "ties": _TIES[ties],
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
    write_bytes_atomically(card_path, dataset_card(manifest, hashlib.sha256(manifest_bytes).hexdigest()).encode("utf-8"))

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


_MARGIN = {
    "majority": "mean signed strength toward chosen (tie 0, missing strength 1)",
    "mean_strength": "absolute mean signed strength (tie 0, missing strength 1)",
    "dawid_skene": "Dawid-Skene posterior of chosen minus posterior of rejected",
    "per_rater": "the rater's strength (tie 0, missing strength 1)",
}
_TIES = {
    "drop": "ties left out",
    "keep": "one row per tie, A as chosen, tie=true, margin 0",
    "split": "two rows per tie (both orders), weight 0.5 each",
}
