"""How the ratings of an item become one decision: counts, majority, mean strength, Dawid-Skene.

Choices are coded A 0, B 1, tie 2, none -1. ``majority`` is the majority rule, stated
once, for a whole batch of items at once; ``decide`` applies the configured aggregation.

``count_votes`` reads one row per live judgment (``queries.rating_codes``) and counts,
per item, the ratings of each choice and the summed strengths of A and B: five integers
per item, held in memory for the version (24 bytes per judged item while ids and sums fit
32 bits). ``judge_batch`` then decides a batch of items and applies the export's filters
to it.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Adjudication, Item, Project, RubricVersion
from ..stats.dawid_skene import dawid_skene
from .options import Plan
from .queries import exportable_items, rating_codes, ratings, stream_columns

A, B, TIE, NONE = 0, 1, 2, -1
CODE = {"A": A, "B": B, "tie": TIE}


# -- counting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoteTable:
    """Per judged item of a version (ascending ``item_ids``): rating counts and strength sums."""

    item_ids: np.ndarray
    n_a: np.ndarray
    n_b: np.ndarray
    n_tie: np.ndarray
    strength_a: np.ndarray
    strength_b: np.ndarray

    def locate(self, item_pk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows of ``item_pk`` in the table, and which of them are there at all."""
        if not len(self.item_ids):
            return np.zeros(len(item_pk), dtype=np.int64), np.zeros(len(item_pk), dtype=bool)
        keys = item_pk
        if keys.dtype != self.item_ids.dtype:
            # Searched in the table's own type: searchsorted would otherwise copy the whole
            # table to int64 on every call (half a second per million-row export, measured).
            # Clipping keeps the order; a clipped key is then not found, as it should not be.
            info = np.iinfo(self.item_ids.dtype)
            keys = np.clip(keys, info.min, info.max).astype(self.item_ids.dtype)
        pos = np.minimum(np.searchsorted(self.item_ids, keys), len(self.item_ids) - 1)
        return pos, self.item_ids[pos] == item_pk

    def columns(self, pos: np.ndarray) -> dict[str, np.ndarray]:
        """The votes at ``pos``, as int64 whatever the table holds (it may keep int32)."""
        return {
            "n_a": self.n_a[pos].astype(np.int64),
            "n_b": self.n_b[pos].astype(np.int64),
            "n_tie": self.n_tie[pos].astype(np.int64),
            "strength_a": self.strength_a[pos].astype(np.int64),
            "strength_b": self.strength_b[pos].astype(np.int64),
        }

    def counts(self, pos: np.ndarray) -> np.ndarray:
        """Counts of A, B and tie at ``pos`` (len(pos) × 3), as alpha takes them."""
        return np.stack([self.n_a[pos], self.n_b[pos], self.n_tie[pos]], axis=1).astype(np.int64)


class GrowingArray:
    """A growing 1-D integer array: capacity doubles, and pages past the end are never touched.

    It holds int32 while every value fits, and switches to int64 for good when one does
    not (the values never change).
    """

    def __init__(self):
        self.data = np.empty(1 << 16, dtype=np.int32)
        self.size = 0

    def extend(self, values: np.ndarray) -> None:
        end = self.size + len(values)
        wide = self.data.dtype == np.int32 and len(values) and not _fits_int32(values)
        if end > len(self.data) or wide:
            dtype = np.int64 if wide else self.data.dtype
            grown = np.empty(max(end, 2 * len(self.data)), dtype=dtype)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size : end] = values
        self.size = end

    def array(self) -> np.ndarray:
        return self.data[: self.size]


def _fits_int32(values: np.ndarray) -> bool:
    info = np.iinfo(np.int32)
    return bool(values.min() >= info.min and values.max() <= info.max)


def _tally(item: np.ndarray, code: np.ndarray, strength: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per run of equal ``item`` values (sorted input): the item, its counts and strength sums."""
    starts = np.flatnonzero(np.concatenate([[True], item[1:] != item[:-1]]))

    def count(value: int) -> np.ndarray:
        return np.add.reduceat((code == value).astype(np.int64), starts)

    def total(value: int) -> np.ndarray:
        return np.add.reduceat(np.where(code == value, strength, 0), starts, dtype=np.int64)

    return item[starts], count(A), count(B), count(TIE), total(A), total(B)


def count_votes(session: Session, project: Project, version: RubricVersion, question_id: str, plan: Plan) -> VoteTable:
    """Count every live, counted judgment of the version: one pass in item order, no per-item SQL.

    The rows of the batch's last item are held back until the next batch, so an item whose
    ratings straddle two batches is still counted once.
    """
    return tally_votes(session, rating_codes(project, version, question_id, plan.excluded), plan.options.batch_size)


def tally_votes(session: Session, query, batch_size: int) -> VoteTable:
    """The ``VoteTable`` of ``query``'s rows (item id, choice code, strength) in item order."""
    columns = [GrowingArray() for _ in range(6)]
    held = (np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0, np.int64))

    def add(part: tuple[np.ndarray, ...]) -> None:
        for column, values in zip(columns, part, strict=True):
            column.extend(values)

    with closing(stream_columns(session, query, batch_size)) as batches:
        for items, codes, strengths in batches:
            item = np.concatenate([held[0], items])
            code = np.concatenate([held[1], codes.astype(np.int8)])
            strength = np.concatenate([held[2], strengths])
            last = int(np.searchsorted(item, item[-1]))
            held = (item[last:], code[last:], strength[last:])
            if last:
                add(_tally(item[:last], code[:last], strength[:last]))
    if len(held[0]):
        add(_tally(*held))
    return VoteTable(*(column.array() for column in columns))


# -- deciding ------------------------------------------------------------------------------


def dawid_skene_posteriors(session, project, version, question_id, plan: Plan) -> tuple[np.ndarray, np.ndarray] | None:
    """(sorted item ids, posteriors over A/B/tie) from a Dawid-Skene fit on the version's ratings."""
    rated = ratings(project, version, question_id, plan.excluded)
    rows = session.execute(
        select(rated.c.item_id, rated.c.rater_id, rated.c.choice)
        .join(Item, Item.id == rated.c.item_id)
        .where(rated.c.choice.in_(list(CODE)), exportable_items(plan.options.include_gold))
        .execution_options(yield_per=50_000)
    )
    items, raters, labels = [], [], []
    for item_id, rater_id, choice in rows:
        items.append(item_id)
        raters.append(rater_id)
        labels.append(CODE[choice])
    if not items:
        return None
    fit = dawid_skene(np.asarray(items), np.asarray(raters), np.asarray(labels), 3)
    return fit.item_ids, fit.posteriors


def majority(n_a: np.ndarray, n_b: np.ndarray, n_tie: np.ndarray) -> np.ndarray:
    """Per item, the choice more of its ratings hold than any other (A 0, B 1, tie 2), or -1
    when two choices share the top count (so also when there is no rating).

    >>> majority(np.array([2, 1, 1, 0]), np.array([1, 1, 0, 0]), np.array([0, 2, 1, 0])).tolist()
    [0, 2, -1, -1]
    """
    stacked = np.stack([n_a, n_b, n_tie], axis=1)
    top = stacked.max(axis=1)
    leaders = (stacked == top[:, None]).sum(axis=1)
    return np.where(leaders > 1, NONE, stacked.argmax(axis=1))


def decide(cols: dict[str, np.ndarray], plan: Plan, posteriors) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per unit of one batch: winner code (A 0, B 1, tie 2, none -1), margin, posterior.

    ``majority``'s margin is the mean signed strength toward the winner (+s for it, -s
    against, ties 0; 0 for a tie itself); ``mean_strength``'s winner is the sign of the
    mean signed strength (+ for A, 0 a tie) and its margin the absolute value.
    """
    aggregate = plan.options.aggregate
    n_a, n_b, n_tie = cols["n_a"], cols["n_b"], cols["n_tie"]
    n = n_a + n_b + n_tie
    signed = (cols["strength_a"] - cols["strength_b"]).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if aggregate == "per_rater":
            own = cols["own"]
            winner = own.copy()
            margin = np.where(own == TIE, 0.0, cols["own_strength"].astype(np.float64))
            return winner, margin, None
        if aggregate == "majority":
            winner = majority(n_a, n_b, n_tie)
            margin = np.where(winner == A, signed, -signed) / n
            margin = np.where(winner == TIE, 0.0, margin)
            return winner, margin, None
        if aggregate == "mean_strength":
            winner = np.where(signed > 0, A, np.where(signed < 0, B, TIE))
            return winner, np.abs(signed) / n, None
    ids, post = posteriors
    # An item none of whose ratings answers the question is not in the fit; it is not
    # considered either (no ratings), so any row will do for it.
    p = post[np.minimum(np.searchsorted(ids, cols["item_pk"]), len(ids) - 1)]
    winner = p.argmax(axis=1)
    idx = np.arange(len(winner))
    best = p[idx, winner]
    other = p[idx, np.where(winner == A, B, A)]
    margin = np.where(winner == TIE, 0.0, best - other)
    return winner, margin, best


# -- adjudication --------------------------------------------------------------------------


@dataclass(frozen=True)
class Adjudicated:
    """Adjudicated items (ascending ``item_ids``) with the winner code and margin they settle on."""

    item_ids: np.ndarray
    winner: np.ndarray
    margin: np.ndarray

    def __bool__(self) -> bool:
        return len(self.item_ids) > 0


def adjudicated_choices(session: Session, project: Project, question_id: str) -> Adjudicated:
    """The adjudicators' final answers on the question: winner code and margin per item."""
    out = {}
    rows = session.execute(
        select(Adjudication.item_id, Adjudication.answer).where(
            Adjudication.project_id == project.id, Adjudication.question_id == question_id
        )
    )
    for item_id, answer in rows:
        choice = answer.get("choice") if isinstance(answer, dict) else None
        if choice in CODE:
            strength = answer.get("strength") if choice != "tie" else 0
            out[item_id] = (CODE[choice], float(strength or (0 if choice == "tie" else 1)))
    ids = sorted(out)
    return Adjudicated(
        np.asarray(ids, dtype=np.int64),
        np.asarray([out[i][0] for i in ids], dtype=np.int64),
        np.asarray([out[i][1] for i in ids], dtype=np.float64),
    )


def apply_adjudications(item_pk: np.ndarray, winner: np.ndarray, margin: np.ndarray, adjudicated: Adjudicated):
    """Winner and margin with the adjudicated items' answers in place, and which units those are."""
    if not adjudicated:
        return winner, margin, np.zeros(len(item_pk), dtype=bool)
    pos = np.minimum(np.searchsorted(adjudicated.item_ids, item_pk), len(adjudicated.item_ids) - 1)
    settled = adjudicated.item_ids[pos] == item_pk
    if settled.any():
        winner, margin = winner.copy(), margin.astype(np.float64, copy=True)
        winner[settled] = adjudicated.winner[pos[settled]]
        margin[settled] = adjudicated.margin[pos[settled]]
    return winner, margin, settled


# -- one batch -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchVerdict:
    """What happens to each unit of one batch: the decision, and which filter (if any) drops it.

    ``considered`` units have a rating (for ``per_rater``: their own judgment answers the
    question); each considered unit is kept or dropped by exactly one of ``too_few``,
    ``low_agreement``, ``no_majority``, ``tie_dropped``. ``settled`` marks units decided
    by an adjudicator.
    """

    winner: np.ndarray
    margin: np.ndarray
    posterior: np.ndarray | None
    n: np.ndarray
    agreement: np.ndarray
    considered: np.ndarray
    too_few: np.ndarray
    low_agreement: np.ndarray
    no_majority: np.ndarray
    tie_dropped: np.ndarray
    keep: np.ndarray
    settled: np.ndarray

    def counts(self, plan: Plan) -> dict[str, int]:
        """This batch's share of ``VersionExport``'s counts.

        ``rows`` counts output rows: one per kept unit, two per tie when ties are split,
        and twice that for ``kto`` (a chosen and a rejected row per preference).
        """
        considered = self.considered
        rows = int(self.keep.sum())
        if plan.options.ties == "split":
            rows += int((self.keep & (self.winner == TIE)).sum())
        return {
            "rows": rows * (2 if plan.shape == "kto" else 1),
            "items_considered": int(considered.sum()),
            "ratings": int(considered.sum()) if plan.per_rater else int(self.n[considered].sum()),
            "dropped_too_few_raters": int(self.too_few.sum()),
            "dropped_low_agreement": int(self.low_agreement.sum()),
            "dropped_no_majority": int(self.no_majority.sum()),
            "dropped_tie": int(self.tie_dropped.sum()),
            "exported": int(self.keep.sum()),
            "adjudicated": int((self.keep & self.settled).sum()),
        }


def judge_batch(cols: dict[str, np.ndarray], plan: Plan, posteriors, adjudicated: Adjudicated | None) -> BatchVerdict:
    """Decide every unit of a batch and apply the filters, in the order the manifest counts them.

    ``cols`` holds the units' ``item_pk`` and vote counts (``VoteTable.columns``), plus
    ``own`` and ``own_strength`` for ``per_rater``.
    """
    n = cols["n_a"] + cols["n_b"] + cols["n_tie"]
    considered = n > 0
    opts = plan.options
    if plan.per_rater:
        considered &= cols["own"] != NONE
    with np.errstate(divide="ignore", invalid="ignore"):
        agreement = np.maximum(np.maximum(cols["n_a"], cols["n_b"]), cols["n_tie"]) / n
    winner, margin, posterior = decide(cols, plan, posteriors)
    settled = np.zeros(len(n), dtype=bool)
    if adjudicated:
        winner, margin, settled = apply_adjudications(cols["item_pk"], winner, margin, adjudicated)
        settled &= considered
    too_few = considered & (n < opts.min_raters)
    low = considered & ~too_few & (agreement < opts.min_agreement) & ~settled
    passed = considered & ~too_few & ~low
    no_majority = passed & (winner == NONE)
    tie_dropped = passed & (winner == TIE) if opts.ties == "drop" else np.zeros_like(passed)
    keep = passed & ~no_majority & ~tie_dropped
    return BatchVerdict(
        winner, margin, posterior, n, agreement, considered, too_few, low, no_majority, tie_dropped, keep, settled
    )
