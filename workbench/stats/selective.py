"""Selective evaluation: trust a judge only above a confidence threshold with a guarantee.

After Jung, Brahman & Choi, "Trust or Escalate: LLM Judges with Provable Guarantees for
Human Agreement" (ICLR 2025, arXiv 2407.18370). On *calibration* items (items with a
human majority) we know, for every judge verdict, its confidence ``c_i`` and whether it
agrees with the humans. For a threshold ``λ`` let ``n(λ)`` be the calibration items with
``c_i >= λ`` and ``e(λ)`` the disagreements among them. The null hypothesis

    H(λ): agreement among items with confidence >= λ is below the target A

is rejected at level ``δ`` when the exact binomial tail

    p(λ) = P(Binomial(n(λ), 1 - A) <= e(λ))

is at most ``δ`` (equivalently: the one-sided ``1 - δ`` Clopper–Pearson lower bound of
agreement at ``λ`` is at least ``A``; Clopper & Pearson 1934). Thresholds are tested in
*fixed sequence* down a descending grid, stopping at the first one not rejected; the
chosen threshold ``λ̂`` is the lowest rejected one. Fixed-sequence testing controls the
family-wise error at ``δ`` without a multiplicity correction, so with probability at least
``1 - δ`` (over the draw of calibration items) the judge agrees with the human majority
on at least a share ``A`` of the new items whose confidence is ``>= λ̂`` (exchangeable
calibration and new items assumed).

Grid: ``1, 1 - step, ..., 0`` (``step`` 0.001 by default), fixed before looking at the
data. Grid points with fewer than ``min_calibration`` calibration items at or above them
are not tested (as in the paper's code, which requires 30): otherwise the sequence would
stop at once at the top of the grid, where there are no items. Whether a point is tested
depends on the confidences only, never on agreement, so the test stays exact given the
confidences.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = [
    "SelectiveThreshold",
    "ThresholdTest",
    "binomial_cdf",
    "clopper_pearson_lower",
    "clopper_pearson_upper",
    "select_threshold",
    "threshold_grid",
]

#: Fewest calibration items at or above a threshold for it to be tested (the paper's code uses 30).
MIN_CALIBRATION = 30
GRID_STEP = 0.001


@dataclass(frozen=True)
class ThresholdTest:
    """One tested grid point: ``n`` calibration items at or above it, ``agreements`` among them."""

    threshold: float
    n: int
    agreements: int
    p_value: float
    rejected: bool


@dataclass(frozen=True)
class SelectiveThreshold:
    """The outcome of the threshold search.

    ``threshold`` is ``None`` when no grid point passed: then nothing can be trusted to the
    judge and every item goes to humans. ``guaranteed_level`` is the target agreement the
    guarantee holds for (``None`` without a threshold), with probability at least
    ``confidence = 1 - delta``. ``n_accepted``/``agreements`` describe the calibration items
    at or above the threshold and ``lower_bound`` their one-sided Clopper–Pearson bound.
    ``tests`` lists the tested grid points in order, the last one being the first failure
    (if any).
    """

    threshold: float | None
    target_agreement: float
    delta: float
    calibration_size: int
    n_accepted: int
    agreements: int
    lower_bound: float | None
    guaranteed_level: float | None
    tests: tuple[ThresholdTest, ...]
    method: str

    @property
    def confidence(self) -> float:
        return 1.0 - self.delta

    @property
    def calibration_agreement(self) -> float | None:
        return self.agreements / self.n_accepted if self.n_accepted else None

    @property
    def coverage(self) -> float | None:
        """Share of calibration items at or above the threshold."""
        return self.n_accepted / self.calibration_size if self.calibration_size else None


def binomial_cdf(k: int, n: int, p: float) -> float:
    """``P(X <= k)`` for ``X ~ Binomial(n, p)``, summed exactly in log space."""
    _check_counts(k, n)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be between 0 and 1, got {p!r}")
    if k >= n:
        return 1.0
    if p == 0.0:
        return 1.0
    if p == 1.0:
        return 0.0
    ks = np.arange(k + 1, dtype=np.float64)
    log_choose = math.lgamma(n + 1) - _lgamma(ks + 1) - _lgamma(n - ks + 1)
    log_pmf = log_choose + ks * math.log(p) + (n - ks) * math.log1p(-p)
    top = float(log_pmf.max())
    return min(1.0, math.exp(top) * float(np.exp(log_pmf - top).sum()))


def clopper_pearson_lower(successes: int, trials: int, confidence: float = 0.95) -> float | None:
    """One-sided exact lower bound ``L`` for a binomial share: ``P(X >= successes | L) = 1 - confidence``.

    0 when there are no successes; ``None`` without trials. Found by bisection on the
    exact tail (60 halvings: well below 1e-15).
    """
    _check_counts(successes, trials)
    _check_level(confidence, "confidence")
    if trials == 0:
        return None
    if successes == 0:
        return 0.0
    alpha = 1.0 - confidence
    # P(X >= s | p) = 1 - P(X <= s - 1 | p) rises with p; find where it equals alpha.
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2.0
        if 1.0 - binomial_cdf(successes - 1, trials, mid) < alpha:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


def clopper_pearson_upper(successes: int, trials: int, confidence: float = 0.95) -> float | None:
    """One-sided exact upper bound ``U``: ``P(X <= successes | U) = 1 - confidence``."""
    _check_counts(successes, trials)
    if trials == 0:
        return None
    lower = clopper_pearson_lower(trials - successes, trials, confidence)
    return 1.0 - lower


def threshold_grid(step: float = GRID_STEP) -> np.ndarray:
    """The descending grid ``1, 1 - step, ..., 0`` (rounded to the step's decimals)."""
    if not 0.0 < step <= 0.5:
        raise ValueError(f"step must be in (0, 0.5], got {step!r}")
    count = round(1.0 / step)
    return np.round(np.linspace(1.0, 0.0, count + 1), 12)


def select_threshold(
    confidences,
    agrees,
    target_agreement: float,
    delta: float,
    *,
    grid=None,
    min_calibration: int = MIN_CALIBRATION,
) -> SelectiveThreshold:
    """The lowest confidence threshold passing fixed-sequence testing (module docstring).

    ``confidences[i]`` is the judge's confidence on calibration item ``i`` and
    ``agrees[i]`` whether its verdict equals the human majority. ``grid`` (default
    :func:`threshold_grid`) is used in descending order.
    """
    _check_level(target_agreement, "target_agreement")
    _check_level(delta, "delta")
    if isinstance(min_calibration, bool) or not isinstance(min_calibration, numbers.Integral) or min_calibration < 1:
        raise ValueError(f"min_calibration must be a positive integer, got {min_calibration!r}")
    conf = np.asarray(confidences, dtype=np.float64).ravel()
    ok = np.asarray(agrees, dtype=bool).ravel()
    if conf.shape != ok.shape:
        raise ValueError(f"confidences and agrees must have one length, got {conf.size} and {ok.size}")
    if not np.isfinite(conf).all():
        raise ValueError("confidences must be finite numbers")
    points = threshold_grid() if grid is None else np.asarray(grid, dtype=np.float64).ravel()
    points = np.sort(np.unique(points))[::-1]
    # Counts at or above each threshold from the confidences sorted ascending.
    order = np.argsort(conf, kind="stable")
    sorted_conf = conf[order]
    agree_suffix = np.concatenate([np.cumsum(ok[order][::-1])[::-1], [0]])
    risk = 1.0 - target_agreement
    tests: list[ThresholdTest] = []
    chosen: ThresholdTest | None = None
    for lam in points:
        start = int(np.searchsorted(sorted_conf, lam, side="left"))
        n = conf.size - start
        if n < min_calibration:
            continue
        agreements = int(agree_suffix[start])
        p = _tail(n - agreements, n, risk)
        test = ThresholdTest(float(lam), n, agreements, p, p <= delta)
        tests.append(test)
        if not test.rejected:
            break
        chosen = test
    method = (
        f"fixed-sequence testing down {points.size} thresholds from {points[0]:g} to {points[-1]:g}, "
        f"exact binomial test of agreement >= {target_agreement:g} at delta {delta:g} "
        f"(points with fewer than {min_calibration} calibration items not tested); Jung et al. 2025"
    )
    if chosen is None:
        return SelectiveThreshold(None, target_agreement, delta, conf.size, 0, 0, None, None, tuple(tests), method)
    bound = clopper_pearson_lower(chosen.agreements, chosen.n, 1.0 - delta)
    return SelectiveThreshold(
        threshold=chosen.threshold,
        target_agreement=target_agreement,
        delta=delta,
        calibration_size=conf.size,
        n_accepted=chosen.n,
        agreements=chosen.agreements,
        lower_bound=bound,
        guaranteed_level=target_agreement,
        tests=tuple(tests),
        method=method,
    )


@lru_cache(maxsize=4096)
def _tail(errors: int, n: int, risk: float) -> float:
    return binomial_cdf(errors, n, risk)


def _lgamma(x: np.ndarray) -> np.ndarray:
    return np.fromiter((math.lgamma(v) for v in x.tolist()), dtype=np.float64, count=x.size)


def _check_counts(k, n) -> None:
    for name, value in (("k", k), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if k > n:
        raise ValueError(f"k ({k}) cannot exceed n ({n})")


def _check_level(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value!r}")
