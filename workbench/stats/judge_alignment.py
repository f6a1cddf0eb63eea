"""How well an LLM judge agrees with people, and how it is biased. Pure functions of codes.

Answers are integer codes ``0..K-1`` of one choice question (pairwise A/B/tie, a
categorical option, yes/no), in canonical orientation. For every item the humans' codes
are reduced to their **strict majority**: the code given by more than half of the human
judgments of the item. Items without one (e.g. 1 A, 1 B) are left out of agreement and
kappa and counted (``n_no_majority``).

- ``agreement``: share of items where the judge's code equals the human majority;
  ``kappa``: Cohen's (1960) kappa of the judge against the majority over the ``K``
  categories (:func:`workbench.stats.agreement_pairs.cohens_kappa`); ``confusion[h, j]``
  counts items with majority ``h`` and judge ``j``. Both get a percentile bootstrap CI over
  items (seeded; items are sorted by id first, so the order of the input does not matter).
- ``alpha_humans`` / ``alpha_with_judge``: Krippendorff's alpha of the human judgments
  alone and with the judge as one more rater, on the items the judge rated
  (:func:`workbench.stats.alpha.alpha_with_ci`). A judge that agrees with people raises
  alpha or leaves it unchanged; one that does not lowers it.
- position consistency, left share, length bias, self-preference and the reliability
  diagram: see their functions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.domain import AlphaResult, Level
from workbench.stats.agreement_pairs import cohens_kappa
from workbench.stats.alpha import alpha_with_ci
from workbench.stats.binomial import Proportion, binomial_test, wilson_interval

__all__ = [
    "Agreement",
    "Estimate",
    "LeftShare",
    "ReliabilityBin",
    "ReliabilityDiagram",
    "SideBias",
    "human_majority",
    "judge_agreement",
    "left_share",
    "position_consistency",
    "reliability_diagram",
    "side_bias",
]


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a percentile bootstrap interval (all ``None`` when undefined)."""

    value: float | None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, eq=False)
class Agreement:
    n_items: int  # items with a human majority and a judge answer
    n_no_majority: int  # items the judge answered whose humans have no strict majority
    agreement: Estimate
    kappa: Estimate
    confusion: np.ndarray  # rows: human majority, columns: judge
    alpha_humans: AlphaResult
    alpha_with_judge: AlphaResult
    n_resamples: int
    method: str


@dataclass(frozen=True)
class LeftShare:
    """Share of non-tie picks of the response shown on the left, with the exact two-sided
    binomial test of a share of 0.5 (:func:`workbench.stats.binomial.binomial_test`)."""

    share: Proportion
    p_value: float


@dataclass(frozen=True)
class SideBias:
    """How often the judge and the humans pick one kind of response (the longer one, the
    judge's own model's one) among their non-tie answers on the same items.

    ``difference`` = judge share − human share (``None`` if either is undefined).
    """

    judge: Proportion
    humans: Proportion
    difference: float | None
    n_items: int


@dataclass(frozen=True)
class ReliabilityBin:
    low: float
    high: float
    n: int
    mean_confidence: float | None
    agreement: float | None


@dataclass(frozen=True)
class ReliabilityDiagram:
    """Confidence bins against the share of agreement in each, and the expected calibration
    error ``ECE = sum_b n_b / N * |agreement_b - mean confidence_b|`` (Guo et al. 2017)."""

    bins: tuple[ReliabilityBin, ...]
    ece: float | None
    n: int


def human_majority(codes: Sequence[int]) -> int | None:
    """The code held by more than half of ``codes``; ``None`` when there is none."""
    if not codes:
        return None
    code, count = Counter(codes).most_common(1)[0]
    return int(code) if 2 * count > len(codes) else None


def judge_agreement(
    human_votes: Mapping[Any, Sequence[int]],
    judge: Mapping[Any, int],
    n_categories: int,
    *,
    level: Level | str = Level.NOMINAL,
    n_resamples: int = 1000,
    seed: int | None = 0,
    ci_level: float = 0.95,
) -> Agreement:
    """Agreement, kappa, confusion matrix and alphas of ``judge`` against ``human_votes``.

    ``human_votes[item]`` lists the human codes of an item, ``judge[item]`` the judge's
    code. Only items present in both count. Bootstrap: ``n_resamples`` draws of the items
    with replacement from ``numpy.random.default_rng(seed)``.
    """
    k = int(n_categories)
    if k < 2:
        raise ValueError(f"n_categories must be at least 2, got {n_categories!r}")
    shared = sorted(set(human_votes) & set(judge))
    for item in shared:
        if not 0 <= judge[item] < k or any(not 0 <= c < k for c in human_votes[item]):
            raise ValueError(f"codes of item {item!r} are outside 0..{k - 1}")
    majority = {item: human_majority(list(human_votes[item])) for item in shared}
    rated = [item for item in shared if majority[item] is not None]
    h = np.array([majority[i] for i in rated], dtype=np.int64)
    j = np.array([judge[i] for i in rated], dtype=np.int64)
    confusion = np.bincount(h * k + j, minlength=k * k).reshape(k, k).astype(np.int64)
    confusion.setflags(write=False)
    agreement, kappa = _bootstrap(h, j, k, n_resamples, seed, ci_level)

    counts = np.zeros((len(shared), k), dtype=np.int64)
    for row, item in enumerate(shared):
        counts[row] += np.bincount(np.asarray(human_votes[item], dtype=np.int64), minlength=k)
    with_judge = counts.copy()
    with_judge[np.arange(len(shared)), [judge[i] for i in shared]] += 1
    domain = [float(c) for c in range(k)]
    alpha_h = alpha_with_ci(
        counts.reshape(-1, k), domain, level, n_resamples=max(n_resamples, 1), seed=seed, ci_level=ci_level
    )
    alpha_j = alpha_with_ci(
        with_judge.reshape(-1, k), domain, level, n_resamples=max(n_resamples, 1), seed=seed, ci_level=ci_level
    )
    method = (
        f"judge vs strict human majority on {len(rated)} items ({len(shared) - len(rated)} without a majority left out); "
        f"{ci_level:.0%} percentile bootstrap over items, {n_resamples} resamples, seed {seed}"
    )
    return Agreement(
        n_items=len(rated),
        n_no_majority=len(shared) - len(rated),
        agreement=agreement,
        kappa=kappa,
        confusion=confusion,
        alpha_humans=alpha_h,
        alpha_with_judge=alpha_j,
        n_resamples=n_resamples,
        method=method,
    )


def _bootstrap(
    h: np.ndarray, j: np.ndarray, k: int, n_resamples: int, seed, ci_level: float
) -> tuple[Estimate, Estimate]:
    n = h.size
    if n == 0:
        return Estimate(None), Estimate(None)
    match = (h == j).astype(np.float64)
    point_agreement = float(match.mean())
    point_kappa = cohens_kappa(np.bincount(h * k + j, minlength=k * k).reshape(k, k))
    if n_resamples < 1:
        return Estimate(point_agreement), Estimate(point_kappa)
    rng = np.random.default_rng(seed)
    tail = (1.0 - ci_level) / 2.0
    agreements, kappas = [], []
    pair = h * k + j
    chunk = max(1, (1 << 22) // max(n, 1))
    for start in range(0, n_resamples, chunk):
        b = min(chunk, n_resamples - start)
        idx = rng.integers(0, n, size=(b, n))
        agreements.append(match[idx].mean(axis=1))
        offsets = (np.arange(b)[:, None] * (k * k) + pair[idx]).ravel()
        tables = np.bincount(offsets, minlength=b * k * k).reshape(b, k, k).astype(np.float64)
        p_o = np.trace(tables, axis1=1, axis2=2) / n
        p_e = np.einsum("bi,bi->b", tables.sum(axis=2), tables.sum(axis=1)) / n**2
        defined = ~np.isclose(p_e, 1.0, rtol=0.0, atol=1e-12)
        kappas.append((p_o - p_e)[defined] / (1.0 - p_e[defined]))
    a = np.concatenate(agreements)
    kk = np.concatenate(kappas)
    a_low, a_high = (float(q) for q in np.quantile(a, [tail, 1.0 - tail]))
    agreement = Estimate(point_agreement, a_low, a_high)
    if point_kappa is None or kk.size == 0:
        return agreement, Estimate(point_kappa)
    k_low, k_high = (float(q) for q in np.quantile(kk, [tail, 1.0 - tail]))
    return agreement, Estimate(point_kappa, k_low, k_high)


def position_consistency(pairs: Mapping[Any, tuple[int, int]], confidence: float = 0.95) -> Proportion:
    """Share of items whose canonical answer is the same when asked with the sides swapped.

    ``pairs[item] = (code as first asked, code asked with the sides swapped)``, both in
    canonical orientation; a judge without position bias answers the same (Zheng et al.
    2023). Wilson interval.
    """
    same = sum(1 for first, second in pairs.values() if first == second)
    return wilson_interval(same, len(pairs), confidence)


def left_share(chosen_positions: Sequence[int], left_positions: Sequence[int], confidence: float = 0.95) -> LeftShare:
    """Share of non-tie answers that picked the response shown on the left.

    ``chosen_positions[i]`` is the canonical position (0 or 1) of the chosen response and
    ``left_positions[i]`` the position shown on the left (``display_order[0]``).
    """
    chosen = np.asarray(chosen_positions, dtype=np.int64)
    left = np.asarray(left_positions, dtype=np.int64)
    if chosen.shape != left.shape:
        raise ValueError("chosen_positions and left_positions must have one length")
    picks = int((chosen == left).sum())
    return LeftShare(wilson_interval(picks, int(chosen.size), confidence), binomial_test(picks, int(chosen.size), 0.5))


def side_bias(
    judge_picks: Sequence[bool], human_picks: Sequence[bool], n_items: int, confidence: float = 0.95
) -> SideBias:
    """Judge vs humans: shares of non-tie answers for one kind of response (e.g. the longer)."""
    j = wilson_interval(int(sum(bool(x) for x in judge_picks)), len(judge_picks), confidence)
    h = wilson_interval(int(sum(bool(x) for x in human_picks)), len(human_picks), confidence)
    diff = None if j.estimate is None or h.estimate is None else j.estimate - h.estimate
    return SideBias(j, h, diff, n_items)


def reliability_diagram(confidences, agrees, n_bins: int = 10) -> ReliabilityDiagram:
    """Equal-width confidence bins over [0, 1] (the last one closed), agreement per bin, ECE."""
    conf = np.asarray(confidences, dtype=np.float64).ravel()
    ok = np.asarray(agrees, dtype=bool).ravel()
    if conf.shape != ok.shape:
        raise ValueError("confidences and agrees must have one length")
    if n_bins < 1:
        raise ValueError(f"n_bins must be positive, got {n_bins!r}")
    if conf.size and ((conf < 0).any() or (conf > 1).any() or not np.isfinite(conf).all()):
        raise ValueError("confidences must lie in [0, 1]")
    which = np.minimum((conf * n_bins).astype(np.int64), n_bins - 1)
    bins, ece = [], 0.0
    for b in range(n_bins):
        mask = which == b
        n = int(mask.sum())
        mean_c = float(conf[mask].mean()) if n else None
        acc = float(ok[mask].mean()) if n else None
        if n:
            ece += n / conf.size * abs(acc - mean_c)
        bins.append(ReliabilityBin(b / n_bins, (b + 1) / n_bins, n, mean_c, acc))
    return ReliabilityDiagram(tuple(bins), ece if conf.size else None, int(conf.size))
