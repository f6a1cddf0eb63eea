"""Krippendorff's alpha from per-unit value counts, with a bootstrap confidence interval.

Statistics in brief
-------------------
The input is a ``units × values`` table of counts: ``value_counts[u, g]`` is how many raters
gave value ``value_domain[g]`` to unit ``u``. A unit with ``m_u`` values contributes
``m_u (m_u - 1)`` ordered pairs of values to the *coincidence matrix*, each weighted
``1 / (m_u - 1)``::

    o[g, h] = sum_u (c_ug * c_uh - [g == h] * c_ug) / (m_u - 1)

Its margins ``n_g = sum_h o[g, h]`` count the pairable values per category and
``n = sum_g n_g``. With a squared distance ``d[g, h]`` chosen by the level of measurement
(nominal: ``g != h``; ordinal: squared distance between mid-ranks, which depends on ``n_g``;
interval: ``(v_g - v_h)**2``; ratio: ``((v_g - v_h) / (v_g + v_h))**2``)::

    alpha = 1 - D_o / D_e
    D_o = sum_gh o[g, h] d[g, h]                     (observed disagreement)
    D_e = sum_gh n_g n_h d[g, h] / (n - 1)           (disagreement expected by chance)

(the package divides both by ``n``; that cancels). Units with fewer than two values have no
pairs; they are dropped and counted (``n_units_dropped``).

Alpha is **undefined** when there is no pairable unit or when the pairable values use fewer
than two distinct categories: then ``D_e = 0`` and the ratio is ``0/0`` (Krippendorff: with
no variation, reliability cannot be assessed). Every function here returns
``alpha=None`` in that case; none returns NaN or raises for it.

The point estimate always comes from :func:`krippendorff.alpha`. The bootstrap (see
:func:`alpha_with_ci`) recomputes alpha for each resample from per-unit sufficient
statistics with a few matrix products; ``tests/stats`` checks those against
``krippendorff.alpha`` on the explicitly resampled counts.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Iterator

import krippendorff
import numpy as np

from workbench.domain import AlphaResult, Level

__all__ = [
    "alpha_from_matrix",
    "alpha_with_ci",
    "krippendorff_alpha",
    "value_counts_from_matrix",
]

# Upper bound on the elements of one temporary array in the bootstrap (32 MB of float64).
_CHUNK_ELEMENTS = 1 << 22


# --------------------------------------------------------------------------- public API


def krippendorff_alpha(value_counts, value_domain, level: Level | str) -> AlphaResult:
    """Krippendorff's alpha of ``value_counts`` (units × values) via ``krippendorff.alpha``.

    ``value_domain`` names the columns. For ordinal, interval and ratio data it is the
    ordered scale (numeric domains must be strictly increasing; ratio values must be
    non-negative); interval and ratio need numbers. Units with fewer than two values are
    dropped first. ``alpha`` is ``None`` when undefined (see the module docstring).
    """
    data = _prepare(value_counts, value_domain, level)
    return _point_result(data)


def alpha_with_ci(
    value_counts,
    value_domain,
    level: Level | str,
    n_resamples: int = 1000,
    seed: int | None = 0,
    ci_level: float = 0.95,
) -> AlphaResult:
    """Alpha plus a percentile bootstrap confidence interval over units.

    Each resample draws as many pairable units as there are, uniformly with replacement
    (a seeded ``numpy.random.default_rng``), and recomputes alpha; the interval is the
    ``(1 - ci_level) / 2`` and ``(1 + ci_level) / 2`` quantiles of those alphas (linear
    interpolation). Resamples whose alpha is undefined (all values identical) are skipped;
    ``n_resamples`` in the result counts the *used* resamples and ``method`` states how many
    were drawn and skipped. Without a defined point estimate there is no interval.

    Speed: identical unit rows (count patterns) are merged first, so the work per resample
    scales with the number of distinct patterns, not units; the draw is exact either way
    (see :func:`_pattern_weights`).
    """
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, numbers.Integral) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if not 0.0 < ci_level < 1.0:
        raise ValueError(f"ci_level must be between 0 and 1, got {ci_level!r}")
    data = _prepare(value_counts, value_domain, level)
    point = _point_result(data)
    if point.alpha is None:
        return dataclasses.replace(point, ci_level=ci_level, method=point.method + "; no interval: alpha undefined")

    patterns, pattern_of_unit, freq = _unique_rows(data.counts)
    # Units in a canonical order (by their count pattern), so that the same units in any
    # row order draw the same resamples: one CI for the same data and seed on every surface.
    pattern_of_unit = np.sort(pattern_of_unit)
    model = _ResampleModel(patterns, data.domain, data.level)
    rng = np.random.default_rng(seed)
    alphas = np.concatenate([model.alphas(w) for w in _pattern_weights(rng, pattern_of_unit, freq, int(n_resamples))])
    valid = alphas[~np.isnan(alphas)]
    skipped = int(n_resamples) - valid.size
    tail = (1.0 - ci_level) / 2.0
    low, high = (float(q) for q in np.quantile(valid, [tail, 1.0 - tail])) if valid.size else (None, None)
    method = (
        f"{point.method}; {ci_level * 100:g}% percentile bootstrap CI over {point.n_units} pairable units "
        f"({n_resamples} resamples with replacement, seed {seed}, "
        f"{skipped} skipped as undefined)"
    )
    return dataclasses.replace(
        point, ci_low=low, ci_high=high, ci_level=ci_level, n_resamples=valid.size, method=method
    )


def value_counts_from_matrix(matrix) -> tuple[np.ndarray, np.ndarray]:
    """Turn a raters × units matrix into ``(value_counts, value_domain)``.

    Missing cells are NaN (numeric arrays) or ``None``/NaN (object arrays). Numeric values
    give a numerically sorted float domain; strings give a lexicographically sorted domain,
    which is only meaningful for nominal alpha. Mixing numbers and strings is an error.
    ``value_counts`` has one row per unit (column of ``matrix``), including unrated units.
    """
    m = np.asarray(matrix)
    if m.ndim != 2:
        raise ValueError(f"matrix must be 2-D (raters × units), got shape {m.shape}")
    if m.dtype.kind in "biuf":
        data = m.astype(np.float64)
        present = ~np.isnan(data)
        values = data[present]
        if not np.isfinite(values).all():
            raise ValueError("matrix contains infinite values")
    elif m.dtype.kind in "OU":
        cells = m.astype(object).ravel()
        present_flat = np.fromiter((not _is_missing(x) for x in cells), dtype=bool, count=cells.size)
        present = present_flat.reshape(m.shape)
        values = _homogeneous_values(cells[present_flat])
    else:
        raise ValueError(f"unsupported matrix dtype {m.dtype}")
    domain, codes = np.unique(values, return_inverse=True)
    _, unit_index = np.nonzero(present)  # row-major, the same order as ``values``
    n_units, n_values = m.shape[1], domain.size
    flat = np.bincount(unit_index * n_values + codes.ravel(), minlength=n_units * n_values)
    return flat.reshape(n_units, n_values).astype(np.int64), domain


def alpha_from_matrix(
    matrix,
    level: Level | str,
    *,
    n_resamples: int = 0,
    seed: int | None = 0,
    ci_level: float = 0.95,
) -> AlphaResult:
    """Alpha of a (small) raters × units matrix; with ``n_resamples > 0`` also a bootstrap CI.

    Builds the value counts with :func:`value_counts_from_matrix`. String categories have
    no order, so they are accepted for nominal alpha only.
    """
    level = _level(level)
    counts, domain = value_counts_from_matrix(matrix)
    if domain.dtype.kind not in "biuf" and level is not Level.NOMINAL:
        raise ValueError(f"string categories have no order or distance; use nominal, not {level.value}")
    if n_resamples:
        return alpha_with_ci(counts, domain, level, n_resamples=n_resamples, seed=seed, ci_level=ci_level)
    return krippendorff_alpha(counts, domain, level)


# --------------------------------------------------------------------------- validation


@dataclasses.dataclass(frozen=True, eq=False)
class _Prepared:
    """Validated pairable counts (int64, units × values) with their domain and level."""

    counts: np.ndarray
    domain: np.ndarray
    level: Level
    n_dropped: int


def _level(level: Level | str) -> Level:
    try:
        return Level(level)
    except ValueError:
        names = ", ".join(item.value for item in Level)
        raise ValueError(f"unknown level of measurement {level!r}; expected one of {names}") from None


def _prepare(value_counts, value_domain, level: Level | str) -> _Prepared:
    level = _level(level)
    raw = np.asarray(value_counts)
    if raw.ndim != 2:
        raise ValueError(f"value_counts must be 2-D (units × values), got shape {raw.shape}")
    whole = raw.dtype.kind in "iu" or (
        raw.dtype.kind == "f" and bool(np.all(np.isfinite(raw) & (raw == np.floor(raw))))
    )
    if not whole:
        raise ValueError("value_counts must hold whole numbers")
    counts = raw.astype(np.int64)
    if (counts < 0).any():
        raise ValueError("value_counts must not be negative")
    domain = np.asarray(value_domain)
    if domain.dtype.kind == "b":
        domain = domain.astype(np.int64)
    if domain.ndim != 1 or domain.size != counts.shape[1]:
        raise ValueError(
            f"value_domain needs one entry per column of value_counts ({counts.shape[1]}), got shape {domain.shape}"
        )
    numeric = domain.dtype.kind in "iuf"
    if len(set(domain.tolist())) != domain.size:
        raise ValueError("value_domain has duplicate values")
    if level in (Level.INTERVAL, Level.RATIO) and not numeric:
        raise ValueError(f"{level.value} alpha needs a numeric value_domain")
    if numeric and level is not Level.NOMINAL:
        if not np.isfinite(domain).all() or (np.diff(domain) <= 0).any():
            raise ValueError(f"{level.value} alpha needs a finite, strictly increasing value_domain")
    if level is Level.RATIO and (domain < 0).any():
        raise ValueError("ratio alpha needs non-negative values (a ratio scale starts at zero)")
    pairable = counts.sum(axis=1) >= 2
    return _Prepared(counts[pairable], domain, level, int((~pairable).sum()))


def _is_missing(x) -> bool:
    return x is None or (isinstance(x, (float, np.floating)) and math.isnan(x))


def _homogeneous_values(values: np.ndarray) -> np.ndarray:
    """Present cells of an object matrix as a float array (all numbers) or str array (all strings)."""
    items = values.tolist()
    if all(isinstance(x, str) for x in items) and items:
        return np.array(items, dtype=str)
    if all(isinstance(x, numbers.Real) for x in items):
        out = np.array(items, dtype=np.float64)
        if not np.isfinite(out).all():
            raise ValueError("matrix contains infinite values")
        return out
    raise ValueError("matrix mixes numbers and strings (or holds other objects); use one kind of value")


# --------------------------------------------------------------------------- point estimate


def _point_result(data: _Prepared) -> AlphaResult:
    n_units = data.counts.shape[0]
    used = (data.counts.sum(axis=0) > 0).sum()
    alpha = None
    if n_units and used >= 2:
        with np.errstate(all="ignore"):  # guard only: D_e > 0 whenever two categories are used
            value = float(
                krippendorff.alpha(
                    value_counts=data.counts,
                    value_domain=data.domain,
                    level_of_measurement=data.level.value,
                )
            )
        alpha = value if math.isfinite(value) else None
    return AlphaResult(
        alpha=alpha,
        level=data.level,
        n_units=n_units,
        n_values=int(data.counts.sum()),
        n_units_dropped=data.n_dropped,
    )


# --------------------------------------------------------------------------- bootstrap


def _unique_rows(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of ``counts`` (sorted), the row index of each unit, and row frequencies.

    Rows are packed into one integer key (mixed radix) when that fits in 62 bits, which is
    far faster than ``np.unique(axis=0)``; otherwise that is the fallback.
    """
    base = int(counts.max()) + 1
    if counts.shape[1] * math.log2(base) <= 62:
        keys = counts @ (base ** np.arange(counts.shape[1], dtype=np.int64))
        _, first, inverse, freq = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
        return counts[first], inverse.ravel(), freq
    patterns, inverse, freq = np.unique(counts, axis=0, return_inverse=True, return_counts=True)
    return patterns, inverse.ravel(), freq


class _ResampleModel:
    """Alpha for any reweighting of a fixed set of unit count patterns.

    A resample is a weight vector ``w`` over the ``K`` distinct patterns ``c_k`` (how often
    each pattern was drawn). Alpha is a function of a few weighted sums:

    * ``n_g = sum_k w_k c_kg`` (margins of the coincidence matrix);
    * nominal, interval, ratio (fixed distance matrix ``d``):
      ``D_o = sum_k w_k q_k`` with ``q_k = c_k' d c_k / (m_k - 1)`` (``d`` has a zero
      diagonal, so the diagonal correction of ``o`` drops out);
    * ordinal: ``d[g, h] = (mu_g - mu_h)**2`` with mid-ranks ``mu = cumsum(n) - n / 2``,
      which change with each resample. Expanding the square,
      ``D_o = 2 a'mu**2 - 2 mu' A mu`` with ``a = sum_k w_k m_k c_k / (m_k - 1)`` and
      ``A = sum_k w_k c_k c_k' / (m_k - 1)``.

    ``D_e = n' d n / (n.. - 1)`` in every case, so one matrix product ``W @ F`` over
    per-pattern features ``F`` gives every resample at once.
    """

    def __init__(self, patterns: np.ndarray, domain: np.ndarray, level: Level):
        c = patterns.astype(np.float64)
        m = c.sum(axis=1)
        self.level, self.n_values = level, c.shape[1]
        if level is Level.ORDINAL:
            self.distance = None
            outer = c[:, :, None] * c[:, None, :] / (m - 1)[:, None, None]
            parts = [c, c * (m / (m - 1))[:, None], outer.reshape(len(c), -1)]
        else:
            self.distance = _distance_matrix(domain, level)
            q = np.einsum("kg,gh,kh->k", c, self.distance, c) / (m - 1)
            parts = [c, q[:, None]]
        self.features = np.concatenate(parts, axis=1)

    def alphas(self, weights: np.ndarray) -> np.ndarray:
        """Alpha per row of ``weights`` (resamples × patterns); NaN where undefined."""
        sums = weights @ self.features
        v = self.n_values
        n_v = sums[:, :v]
        n = n_v.sum(axis=1)
        if self.distance is None:
            mu = np.cumsum(n_v, axis=1) - n_v / 2 - (n / 2)[:, None]  # centred mid-ranks
            a, big_a = sums[:, v : 2 * v], sums[:, 2 * v :].reshape(-1, v, v)
            observed = 2 * (a * mu**2).sum(axis=1) - 2 * np.einsum("rg,rgh,rh->r", mu, big_a, mu)
            expected = 2 * n * (n_v * mu**2).sum(axis=1) - 2 * (n_v * mu).sum(axis=1) ** 2
        else:
            observed = sums[:, v]
            expected = np.einsum("rg,gh,rh->r", n_v, self.distance, n_v)
        defined = (n_v > 0).sum(axis=1) >= 2
        ratio = np.divide((n - 1) * observed, expected, out=np.full(len(sums), np.nan), where=defined)
        return 1.0 - ratio


def _distance_matrix(domain: np.ndarray, level: Level) -> np.ndarray:
    """Squared distance between domain values for the fixed metrics (not ordinal)."""
    if level is Level.NOMINAL:
        return 1.0 - np.eye(domain.size)
    v = domain.astype(np.float64)
    diff = v[:, None] - v[None, :]
    if level is Level.INTERVAL:
        return diff**2
    total = v[:, None] + v[None, :]
    return np.divide(diff, total, out=np.zeros_like(diff), where=total != 0) ** 2


def _pattern_weights(
    rng: np.random.Generator, pattern_of_unit: np.ndarray, freq: np.ndarray, n_resamples: int
) -> Iterator[np.ndarray]:
    """Yield chunks of resample weights (resamples × patterns), ``n_resamples`` rows in all.

    Drawing ``N`` of the ``N`` units with replacement and counting how many fall on each
    pattern is exactly a multinomial draw with probabilities ``freq / N``. When patterns
    are few (``8 K <= N``) the multinomial is sampled directly (cost ``O(K)`` per resample);
    otherwise unit indices are drawn and binned (cost ``O(N)`` per resample).
    """
    n_units, n_patterns = pattern_of_unit.size, freq.size
    direct = 8 * n_patterns <= n_units
    per_row = n_patterns if direct else max(n_units, n_patterns)
    chunk = max(1, _CHUNK_ELEMENTS // per_row)
    for start in range(0, n_resamples, chunk):
        rows = min(chunk, n_resamples - start)
        if direct:
            yield rng.multinomial(n_units, freq / n_units, size=rows).astype(np.float64)
        else:
            drawn = pattern_of_unit[rng.integers(0, n_units, size=(rows, n_units))]
            drawn += (np.arange(rows) * n_patterns)[:, None]
            binned = np.bincount(drawn.ravel(), minlength=rows * n_patterns)
            yield binned.reshape(rows, n_patterns).astype(np.float64)
