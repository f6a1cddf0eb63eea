"""Intra-rater consistency: how well one rater agrees with themself on repeated units.

The rater's repeated ratings of a unit are treated as if each repeat were a separate
coder, so Krippendorff's alpha applies unchanged. Alpha needs only the per-unit value
counts (not which repeat gave which value), so the input is long format: one row per
rating with its unit id. Units rated once have no pair and drop out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.domain import AlphaResult, Level
from workbench.stats.alpha import krippendorff_alpha

__all__ = ["IntraRaterConsistency", "intra_rater_consistency", "unit_value_counts"]


@dataclass(frozen=True)
class IntraRaterConsistency:
    """Alpha over one rater's repeats plus the plain agreement of repeat pairs.

    ``percent_agreement`` pools all pairs of repeats within a unit (a unit rated ``m``
    times contributes ``m (m - 1) / 2`` pairs): the share of those pairs with equal
    values, ``None`` when no unit was rated twice. ``n_units`` counts the units with two
    or more ratings and ``n_pairs`` the pairs among them.
    """

    alpha: AlphaResult
    percent_agreement: float | None
    n_units: int
    n_pairs: int


def intra_rater_consistency(units, values, level: Level | str, value_domain=None) -> IntraRaterConsistency:
    """Consistency of one rater who rated some ``units`` several times.

    ``units`` and ``values`` are parallel 1-D arrays (one row per rating); NaN values are
    skipped. ``value_domain`` defaults to the sorted distinct values, which is right for
    every level (an unused category changes no alpha); pass the full scale to be explicit.
    """
    counts, domain = unit_value_counts(units, values, value_domain)
    result = krippendorff_alpha(counts, domain, level)
    c = counts[counts.sum(axis=1) >= 2]
    m = c.sum(axis=1)
    pairs = int((m * (m - 1)).sum() // 2)
    agreeing = int((c * (c - 1)).sum() // 2)
    share = agreeing / pairs if pairs else None
    return IntraRaterConsistency(alpha=result, percent_agreement=share, n_units=int(c.shape[0]), n_pairs=pairs)


def unit_value_counts(units, values, value_domain=None) -> tuple[np.ndarray, np.ndarray]:
    """Long-format ``(units, values)`` to a ``units × values`` count table and its domain.

    Rows with a NaN value are skipped; a value outside ``value_domain`` is an error. Only
    units with at least one value get a row (in sorted unit order).
    """
    u = np.asarray(units)
    v = np.asarray(values, dtype=np.float64)
    if u.ndim != 1 or v.ndim != 1 or u.size != v.size:
        raise ValueError("units and values must be 1-D arrays of the same length")
    answered = ~np.isnan(v)
    u, v = u[answered], v[answered]
    domain = np.unique(v) if value_domain is None else np.asarray(value_domain, dtype=np.float64)
    codes = value_codes(v, domain)
    _, unit_code = np.unique(u, return_inverse=True)
    n_units = int(unit_code.max()) + 1 if unit_code.size else 0
    flat = np.bincount(unit_code.ravel() * domain.size + codes, minlength=n_units * domain.size)
    return flat.reshape(n_units, domain.size).astype(np.int64), domain


def value_codes(values: np.ndarray, domain: np.ndarray) -> np.ndarray:
    """Index of each value in ``domain`` (any order); ``ValueError`` for a value not in it."""
    domain = np.asarray(domain, dtype=np.float64)
    if domain.ndim != 1 or domain.size == 0:
        raise ValueError("value_domain must be a non-empty 1-D array")
    if np.unique(domain).size != domain.size:
        raise ValueError("value_domain has duplicate values")
    order = np.argsort(domain, kind="stable")
    position = np.clip(np.searchsorted(domain[order], values), 0, domain.size - 1)
    codes = order[position]
    bad = domain[codes] != values
    if bad.any():
        raise ValueError(f"value {values[bad][0]!r} is not in value_domain")
    return codes.astype(np.int64)
