"""Two raters on the items both judged: confusion matrix, Cohen's kappa, Scott's pi, alpha.

Pure functions over arrays of value codes (indexes into a value domain), one entry per
shared unit. Kappa uses each rater's own marginals (``stats.agreement_pairs.cohens_kappa``),
Scott's pi the pooled marginals; Krippendorff's alpha is computed from the per-unit value
counts (two values per unit) at the question's level of measurement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..domain import Level
from .agreement_pairs import cohens_kappa, percent_agreement
from .alpha import krippendorff_alpha

__all__ = ["TwoRaterAgreement", "confusion_matrix", "scotts_pi", "two_rater_agreement"]


@dataclass(frozen=True, eq=False)
class TwoRaterAgreement:
    """``contingency[g, h]``: shared units where rater 1 answered value ``g`` and rater 2 ``h``.

    Statistics are ``None`` when undefined (no shared units, or no variation at all).
    """

    n_units: int
    contingency: np.ndarray
    percent_agreement: float | None
    kappa: float | None
    scotts_pi: float | None
    alpha: float | None
    level: Level


def confusion_matrix(codes_1, codes_2, n_values: int) -> np.ndarray:
    """Square table of two raters' value codes on the same units (rows: rater 1)."""
    x = np.asarray(codes_1, dtype=np.int64)
    y = np.asarray(codes_2, dtype=np.int64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"codes must be two 1-D arrays of one length, got {x.shape} and {y.shape}")
    if x.size and (min(x.min(), y.min()) < 0 or max(x.max(), y.max()) >= n_values):
        raise ValueError(f"codes must lie in 0..{n_values - 1}")
    return np.bincount(x * n_values + y, minlength=n_values * n_values).reshape(n_values, n_values)


def scotts_pi(contingency) -> float | None:
    """Scott's pi: chance agreement from the pooled marginals of both raters."""
    table = np.asarray(contingency, dtype=np.float64)
    n = table.sum()
    if n == 0:
        return None
    pooled = (table.sum(axis=0) + table.sum(axis=1)) / (2 * n)
    p_e = float(pooled @ pooled)
    if math.isclose(p_e, 1.0, abs_tol=1e-12):
        return None
    return float((np.trace(table) / n - p_e) / (1.0 - p_e))


def two_rater_agreement(codes_1, codes_2, value_domain, level: Level | str = Level.NOMINAL) -> TwoRaterAgreement:
    """Confusion matrix, percent agreement, Cohen's kappa, Scott's pi and alpha of two raters."""
    domain = [float(v) for v in value_domain]
    table = confusion_matrix(codes_1, codes_2, len(domain))
    x = np.asarray(codes_1, dtype=np.int64)
    y = np.asarray(codes_2, dtype=np.int64)
    counts = np.zeros((x.size, len(domain)), dtype=np.int64)
    np.add.at(counts, (np.arange(x.size), x), 1)
    np.add.at(counts, (np.arange(y.size), y), 1)
    level = Level(level)
    alpha = krippendorff_alpha(counts, domain, level).alpha if x.size else None
    table.setflags(write=False)
    return TwoRaterAgreement(
        n_units=int(x.size),
        contingency=table,
        percent_agreement=percent_agreement(table),
        kappa=cohens_kappa(table),
        scotts_pi=scotts_pi(table),
        alpha=alpha,
        level=level,
    )
