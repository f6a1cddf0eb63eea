"""Per-rater quality figures for one question, from a long-format judgment table.

:func:`calibrate` turns a :class:`JudgmentTable` (one row per judgment) into one
:class:`RaterCalibration` per rater: gold accuracy (Wilson interval) and its drift,
agreement with the consensus of the other raters, leave-one-rater-out change in
Krippendorff's alpha, leniency on scales, position bias on pairwise questions (exact
binomial test), tie rate, speed, straight-lining and, for nominal questions, Dawid–Skene
competence. Each figure is compared with :class:`Thresholds`; failures become short
human-readable ``flags`` and raters are sorted worst first by ``score``.

How figures become flags and the badness ``score``: :mod:`workbench.stats.rater_flags`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from workbench.domain import Level
from workbench.stats.binomial import Proportion, binomial_test, wilson_interval
from workbench.stats.consistency import IntraRaterConsistency, intra_rater_consistency, value_codes
from workbench.stats.dawid_skene import dawid_skene
from workbench.stats.rater_agreement import rater_agreement
from workbench.stats.rater_flags import Thresholds, consensus_distance, judge_rater

__all__ = [
    "DEFAULT_THRESHOLDS",
    "IntraRaterConsistency",
    "JudgmentTable",
    "Proportion",
    "RaterCalibration",
    "Thresholds",
    "binomial_test",
    "calibrate",
    "intra_rater_consistency",
    "wilson_interval",
]

DEFAULT_THRESHOLDS = Thresholds()
_COLUMNS = ("rater", "unit", "value", "gold", "left_pick", "is_tie", "is_choice", "seconds", "order")


@dataclass(frozen=True, eq=False)
class JudgmentTable:
    """Parallel 1-D arrays, one row per judgment of ONE question.

    ``rater`` and ``unit``: integer ids (codes ``0..n-1`` are typical; any ints work).
    ``value``: the answer as a number of the question's value domain, NaN = not answered.
    ``gold``: the gold answer, NaN = not a gold item. ``left_pick``: 1.0 the rater picked
    the side shown on the left, 0.0 the right, NaN = not applicable (tie, single response).
    ``is_tie``: a pairwise tie. ``is_choice``: a pairwise answer that picked a side, whether
    or not the display order is known (ties and choices are the tie rate's denominator).
    ``seconds``: time spent (NaN = unknown). ``order``: submission sequence (any increasing
    integers, e.g. the judgment id); negative where the sequence is not known (imported
    judgments that share a timestamp), which leaves straight-lining and drift undefined.
    Use :meth:`from_columns` to fill the optional columns with "not applicable".
    """

    rater: np.ndarray
    unit: np.ndarray
    value: np.ndarray
    gold: np.ndarray
    left_pick: np.ndarray
    is_tie: np.ndarray
    is_choice: np.ndarray
    seconds: np.ndarray
    order: np.ndarray

    def __post_init__(self):
        kinds = {"rater": np.int64, "unit": np.int64, "order": np.int64, "is_tie": bool, "is_choice": bool}
        for name in _COLUMNS:
            raw = np.asarray(getattr(self, name))
            if raw.ndim != 1:
                raise ValueError(f"JudgmentTable.{name} must be 1-D, got shape {raw.shape}")
            kind = kinds.get(name, np.float64)
            if kind is np.int64 and raw.size and raw.dtype.kind not in "iu":
                raise ValueError(f"JudgmentTable.{name} must hold integers, got dtype {raw.dtype}")
            object.__setattr__(self, name, raw.astype(kind))
        lengths = {name: getattr(self, name).size for name in _COLUMNS}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"JudgmentTable columns differ in length: {lengths}")
        picks = self.left_pick[~np.isnan(self.left_pick)]
        if not np.isin(picks, (0.0, 1.0)).all():
            raise ValueError("JudgmentTable.left_pick must be 1.0, 0.0 or NaN")

    def __len__(self) -> int:
        return int(self.rater.size)

    @classmethod
    def from_columns(
        cls, rater, unit, value, *, gold=None, left_pick=None, is_tie=None, is_choice=None, seconds=None, order=None
    ):
        """Build a table; missing columns become NaN (gold, left_pick, seconds), False
        (is_tie), "a side was picked where ``left_pick`` is known" (is_choice) or the row
        number (order)."""
        n = np.asarray(rater).size
        nan = np.full(n, np.nan)
        picks = nan if left_pick is None else np.asarray(left_pick, dtype=np.float64)
        return cls(
            rater=rater,
            unit=unit,
            value=value,
            gold=nan if gold is None else gold,
            left_pick=nan if left_pick is None else left_pick,
            is_tie=np.zeros(n, dtype=bool) if is_tie is None else is_tie,
            is_choice=~np.isnan(picks) if is_choice is None else is_choice,
            seconds=nan if seconds is None else seconds,
            order=np.arange(n) if order is None else order,
        )


@dataclass(frozen=True)
class RaterCalibration:
    """Quality figures of one rater on one question; ``None`` = not computable.

    ``rater`` is the id used in the table. ``n_judgments`` counts all the rater's rows,
    answered or not. ``gold``: answered gold items whose value is within
    ``Thresholds.gold_tolerance`` of the gold value (Wilson 95% interval). ``consensus``: share of the rater's answered judgments (on units someone else also
    answered) that equal a modal value of the other raters. ``delta_alpha``: alpha without
    this rater minus alpha with all (positive = the rater lowers agreement). ``leniency``:
    mean over shared units of (rater's mean value − the other raters' mean value), in the
    units of the value domain (``None`` for nominal). ``position``: left picks among non-tie pairwise judgments, with
    ``position_p`` the exact two-sided binomial p-value against 0.5. ``tie_rate``: ties
    among pairwise judgments. ``too_fast_share``: share of timed judgments under
    ``Thresholds.too_fast_seconds``. ``straight_lining``: share of consecutive answered
    judgments (by ``order``) equal to the previous one. ``drift``: gold accuracy in the
    later half of the rater's gold items minus the earlier half (needs 4).
    ``competence``: Dawid–Skene probability of a correct label (nominal questions only).
    """

    rater: int
    n_judgments: int
    gold: Proportion
    consensus: Proportion
    delta_alpha: float | None
    leniency: float | None
    position: Proportion
    position_p: float | None
    tie_rate: float | None
    median_seconds: float | None
    too_fast_share: float | None
    straight_lining: float | None
    drift: float | None
    competence: float | None
    flags: tuple[str, ...] = field(default_factory=tuple)
    score: float = 0.0


def calibrate(
    table: JudgmentTable, value_domain, level: Level | str, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> tuple[RaterCalibration, ...]:
    """One :class:`RaterCalibration` per rater in ``table``, worst (highest score) first.

    ``value_domain`` lists the question's possible values (numbers; for ordinal,
    interval and ratio in increasing order); every answered value must be one of them.
    """
    level = Level(level)
    domain = np.asarray(value_domain, dtype=np.float64)
    if level is not Level.NOMINAL and (np.diff(domain) <= 0).any():
        raise ValueError(f"{level.value} value_domain must be strictly increasing")
    rater_ids, rater = np.unique(table.rater, return_inverse=True)
    _, unit = np.unique(table.unit, return_inverse=True)
    rater, unit = rater.ravel(), unit.ravel()
    answered = ~np.isnan(table.value)
    code = value_codes(table.value[answered], domain)
    scale_range = None if level is Level.NOMINAL or domain.size < 2 else float(domain[-1] - domain[0])
    pooled = rater_agreement(
        rater[answered], unit[answered], code, table.value[answered], domain, level, rater_ids.size,
        consensus_distance(thresholds, scale_range),
    )  # fmt: skip
    competence = np.full(rater_ids.size, np.nan)
    if level is Level.NOMINAL and answered.any():
        fit = dawid_skene(unit[answered], rater[answered], code, domain.size)
        competence[fit.rater_ids] = fit.competence

    rows_by_rater = np.lexsort((table.order, rater))
    bounds = np.searchsorted(rater[rows_by_rater], np.arange(rater_ids.size + 1))
    results = []
    for r, rater_id in enumerate(rater_ids.tolist()):
        rows = rows_by_rater[bounds[r] : bounds[r + 1]]
        figures, sizes = _rater_figures(table, rows, thresholds)
        figures.update(
            consensus=wilson_interval(int(pooled.consensus_successes[r]), int(pooled.consensus_trials[r])),
            delta_alpha=_optional(pooled.delta_alpha[r]),
            leniency=_optional(pooled.leniency[r]),
            competence=_optional(competence[r]),
        )
        sizes.update(shared=int(pooled.shared_units[r]), scale_range=scale_range)
        flags, score = judge_rater(figures, sizes, thresholds)
        results.append(
            RaterCalibration(rater=int(rater_id), n_judgments=int(rows.size), flags=flags, score=score, **figures)
        )
    return tuple(sorted(results, key=lambda c: (-c.score, c.rater)))


def _rater_figures(table: JudgmentTable, rows: np.ndarray, t: Thresholds) -> tuple[dict, dict]:
    """Figures that need only the rater's own rows (sorted by ``order``), and sample sizes."""
    value, gold = table.value[rows], table.gold[rows]
    graded = ~np.isnan(gold) & ~np.isnan(value)
    correct = np.abs(value[graded] - gold[graded]) <= t.gold_tolerance
    in_sequence = bool((table.order[rows] >= 0).all())
    drift = None
    if correct.size >= 4 and in_sequence:
        half = correct.size // 2
        drift = float(correct[half:].mean() - correct[:half].mean())
    tie = table.is_tie[rows]
    pick = table.left_pick[rows]
    sided = ~tie & ~np.isnan(pick)
    pairwise = int(tie.sum() + (table.is_choice[rows] & ~tie).sum())
    lefts = int((pick[sided] == 1.0).sum())
    seconds = table.seconds[rows]
    seconds = seconds[~np.isnan(seconds)]
    answers = value[~np.isnan(value)]
    figures = {
        "gold": wilson_interval(int(correct.sum()), int(correct.size)),
        "drift": drift,
        "position": wilson_interval(lefts, int(sided.sum())),
        "position_p": binomial_test(lefts, int(sided.sum())) if sided.any() else None,
        "tie_rate": float(tie.sum() / pairwise) if pairwise else None,
        "median_seconds": float(np.median(seconds)) if seconds.size else None,
        "too_fast_share": float((seconds < t.too_fast_seconds).mean()) if seconds.size else None,
        "straight_lining": float((answers[1:] == answers[:-1]).mean()) if answers.size >= 2 and in_sequence else None,
    }
    return figures, {"answered": int(answers.size), "timed": int(seconds.size)}


def _optional(x) -> float | None:
    x = float(x)
    return None if np.isnan(x) else x
