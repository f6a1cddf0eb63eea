"""Proportions with a Wilson score interval, and the exact two-sided binomial test.

Both are plain functions of counts (no arrays of judgments): the calibration code counts
successes per rater and calls these. Only the standard library and numpy are used.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

__all__ = ["Proportion", "binomial_test", "wilson_interval"]

# Probabilities within this relative distance of the observed one count as "as extreme"
# (the same tolerance as R's binom.test, which guards against rounding in dbinom).
_RELATIVE_TOLERANCE = 1e-7


@dataclass(frozen=True)
class Proportion:
    """``successes`` out of ``trials`` with a confidence interval for the true share.

    ``estimate``, ``low`` and ``high`` are ``None`` when there are no trials.
    """

    successes: int
    trials: int
    estimate: float | None
    low: float | None
    high: float | None
    confidence: float = 0.95


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> Proportion:
    """The Wilson score interval (Wilson 1927; Agresti & Coull 1998) for a binomial share.

    With ``z`` the two-sided normal quantile, ``n`` trials and share ``p = x / n``::

        centre = (p + z**2 / (2 n)) / (1 + z**2 / n)
        half   = z / (1 + z**2 / n) * sqrt(p (1 - p) / n + z**2 / (4 n**2))

    Unlike the Wald interval it stays inside [0, 1] and is sensible at 0/n and n/n.
    """
    successes, trials = _counts(successes, trials)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    if trials == 0:
        return Proportion(successes, trials, None, None, None, confidence)
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    n = float(trials)
    p = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denominator
    half = z / denominator * math.sqrt(max(p * (1.0 - p) / n + z2 / (4.0 * n * n), 0.0))
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return Proportion(successes, trials, p, low, high, confidence)


def binomial_test(successes: int, trials: int, p: float = 0.5) -> float:
    """Exact two-sided p-value of ``successes`` in ``trials`` under success probability ``p``.

    The p-value is the total probability of all outcomes no more likely than the observed
    one (the rule of R's ``binom.test``, including its relative tolerance of 1e-7). The
    probability mass function is evaluated in log space with :func:`math.lgamma`, so large
    ``trials`` (1e5 and more) neither overflow nor lose the tails; cost is ``O(trials)``.
    With no trials the p-value is 1.
    """
    successes, trials = _counts(successes, trials)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be between 0 and 1, got {p!r}")
    if trials == 0:
        return 1.0
    if p == 0.0 or p == 1.0:
        certain = 0 if p == 0.0 else trials
        return 1.0 if successes == certain else 0.0
    k = np.arange(trials + 1, dtype=np.float64)
    log_choose = math.lgamma(trials + 1) - _lgamma(k + 1) - _lgamma(trials - k + 1)
    log_pmf = log_choose + k * math.log(p) + (trials - k) * math.log1p(-p)
    threshold = log_pmf[successes] + math.log1p(_RELATIVE_TOLERANCE)
    extreme = log_pmf[log_pmf <= threshold]
    top = float(extreme.max())
    total = math.exp(top) * float(np.exp(extreme - top).sum())
    return min(1.0, total)


def _lgamma(x: np.ndarray) -> np.ndarray:
    """Elementwise ``math.lgamma`` (numpy has no log-gamma without scipy)."""
    return np.fromiter((math.lgamma(v) for v in x.tolist()), dtype=np.float64, count=x.size)


def _counts(successes, trials) -> tuple[int, int]:
    for name, value in (("successes", successes), ("trials", trials)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if successes > trials:
        raise ValueError(f"successes ({successes}) cannot exceed trials ({trials})")
    return int(successes), int(trials)
