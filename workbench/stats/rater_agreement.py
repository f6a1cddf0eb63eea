"""How each rater relates to the others: leave-one-rater-out alpha, consensus, leniency.

All three need, for every unit a rater touched, the value counts of the *other* raters:
the counts of all raters minus this rater's own contribution. Nothing else changes when a
rater is removed, so each rater costs work proportional to their own judgments.

Leave-one-out alpha uses the sufficient statistics of Krippendorff's alpha (see
:mod:`workbench.stats.alpha`): over pairable units (two or more values) the margins
``n_g = sum_u c_ug`` and the matrix ``A = sum_u c_u c_u' / (m_u - 1)``. With a distance
``d`` that is zero on the diagonal the observed disagreement is ``D_o = sum_gh d_gh A_gh``
(every term non-negative, so no cancellation) and::

    alpha = 1 - (n.. - 1) * sum_gh d_gh A_gh / sum_gh n_g n_h d_gh

For ordinal data ``d`` depends on the margins (mid-ranks), so it is rebuilt from ``n``
for each rater's reduced data. Removing rater ``r`` replaces the statistics of each unit
``r`` touched (with ``r``) by those of the same unit without ``r``; a unit left with one
value stops being pairable and leaves the margins too, exactly as when alpha is computed
from scratch. ``tests/stats/test_calibration.py`` checks every level against
:func:`workbench.stats.alpha.krippendorff_alpha` on the recomputed counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.domain import Level

__all__ = ["RaterAgreement", "rater_agreement"]


@dataclass(frozen=True, eq=False)
class RaterAgreement:
    """Per-rater arrays indexed by rater code (``0..n_raters-1``).

    ``alpha_all`` is alpha with every rater (``None`` when undefined); ``delta_alpha[r]``
    is alpha without rater ``r`` minus ``alpha_all`` (NaN when either is undefined).
    ``consensus_successes / consensus_trials``: the rater's answered judgments on units
    with at least one other rater's value, and how many of them equal a modal value of the
    other raters (a tied mode counts if the rater's value is among the modes).
    ``leniency[r]``: mean over those units of (rater's mean value − others' mean value);
    NaN for nominal data or without shared units. ``shared_units[r]`` counts those units.
    """

    alpha_all: float | None
    delta_alpha: np.ndarray
    consensus_successes: np.ndarray
    consensus_trials: np.ndarray
    leniency: np.ndarray
    shared_units: np.ndarray


def rater_agreement(
    rater: np.ndarray,
    unit: np.ndarray,
    code: np.ndarray,
    value: np.ndarray,
    domain: np.ndarray,
    level: Level,
    n_raters: int,
    consensus_distance: float = 0.0,
) -> RaterAgreement:
    """Leave-one-out alpha, consensus and leniency for answered judgments.

    A judgment agrees with the others when its value is within ``consensus_distance`` of
    one of their modal values on the unit (0: one of those values exactly).

    ``rater`` (codes ``0..n_raters-1``), ``unit`` (codes ``0..U-1``), ``code`` (index into
    ``domain``) and ``value`` (the numeric value) are parallel arrays, one per judgment.
    """
    v = domain.size
    n_units = int(unit.max()) + 1 if unit.size else 0
    counts = np.bincount(unit * v + code, minlength=n_units * v).reshape(n_units, v).astype(np.float64)
    unit_sum = np.bincount(unit, weights=value, minlength=n_units)
    margins, big_a = _statistics(counts)
    alpha_all = _alpha(margins, big_a, domain, level)

    delta = np.full(n_raters, np.nan)
    successes = np.zeros(n_raters, dtype=np.int64)
    trials = np.zeros(n_raters, dtype=np.int64)
    leniency = np.full(n_raters, np.nan)
    shared = np.zeros(n_raters, dtype=np.int64)
    order = np.argsort(rater, kind="stable")
    bounds = np.searchsorted(rater[order], np.arange(n_raters + 1))
    for r in range(n_raters):
        rows = order[bounds[r] : bounds[r + 1]]
        if rows.size == 0:
            continue
        touched, local = np.unique(unit[rows], return_inverse=True)
        local = local.ravel()
        own = np.bincount(local * v + code[rows], minlength=touched.size * v).reshape(touched.size, v)
        with_r = counts[touched]
        others = with_r - own
        # leave-one-out alpha from the changed units only
        m_with, a_with = _statistics(with_r)
        m_without, a_without = _statistics(others)
        alpha_r = _alpha(margins - m_with + m_without, big_a - a_with + a_without, domain, level)
        if alpha_all is not None and alpha_r is not None:
            delta[r] = alpha_r - alpha_all
        # agreement with the modal value of the other raters
        others_n = others.sum(axis=1)
        mode = others.max(axis=1)
        compared = others_n[local] > 0
        trials[r] = int(compared.sum())
        if consensus_distance > 0 and level is not Level.NOMINAL:
            modal = others[local] == mode[local][:, None]  # rows x values: the others' modal values
            near = np.abs(domain[None, :] - value[rows][:, None]) <= consensus_distance + 1e-9
            successes[r] = int((modal & near).any(axis=1)[compared].sum())
        else:
            successes[r] = int((others[local, code[rows]] == mode[local])[compared].sum())
        # leniency: rater's mean minus the others' mean, averaged over shared units
        has_others = others_n > 0
        shared[r] = int(has_others.sum())
        if level is not Level.NOMINAL and shared[r]:
            own_sum = np.bincount(local, weights=value[rows], minlength=touched.size)
            own_n = own.sum(axis=1)
            mine = own_sum[has_others] / own_n[has_others]
            theirs = (unit_sum[touched] - own_sum)[has_others] / others_n[has_others]
            leniency[r] = float(np.mean(mine - theirs))
    return RaterAgreement(alpha_all, delta, successes, trials, leniency, shared)


def _statistics(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Margins ``n_g`` and ``A = sum c c' / (m - 1)`` over the pairable rows of ``counts``."""
    counts = np.asarray(counts, dtype=np.float64)
    m = counts.sum(axis=1)
    c = counts[m >= 2]
    weighted = c / (m[m >= 2] - 1.0)[:, None]
    return c.sum(axis=0), weighted.T @ c


def _alpha(margins: np.ndarray, big_a: np.ndarray, domain: np.ndarray, level: Level) -> float | None:
    """Alpha from its sufficient statistics; ``None`` when fewer than two categories remain."""
    margins = np.maximum(margins, 0.0)  # float round-off after subtracting a rater
    total = margins.sum()
    if total < 2 or np.count_nonzero(margins > 0.5) < 2:
        return None
    d = _distance(margins, domain, level)
    expected = float(margins @ d @ margins)
    if not expected > 0:
        return None
    observed = float(np.sum(d * np.maximum(big_a, 0.0)))
    return 1.0 - (total - 1.0) * observed / expected


def _distance(margins: np.ndarray, domain: np.ndarray, level: Level) -> np.ndarray:
    """Squared distance ``d[g, h]`` between categories for the level of measurement."""
    if level is Level.NOMINAL:
        return 1.0 - np.eye(domain.size)
    if level is Level.ORDINAL:
        mid = np.cumsum(margins) - margins / 2.0
        return (mid[:, None] - mid[None, :]) ** 2
    x = domain.astype(np.float64)
    diff = x[:, None] - x[None, :]
    if level is Level.INTERVAL:
        return diff**2
    total = x[:, None] + x[None, :]
    return np.divide(diff, total, out=np.zeros_like(diff), where=total != 0) ** 2
