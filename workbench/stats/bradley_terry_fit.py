"""Fitting Bradley–Terry log-strengths to aggregated pairwise wins, and the bootstrap.

The model, the prior and the tie treatment are described in ``stats.pairwise``.

**Fitting** is Hunter's (2004) MM algorithm on the aggregated data (per-model total wins
``W_i`` and the symmetric games matrix ``N_ij``), updating all strengths at once::

    p_i <- (W_i + prior / 2) / (sum_j N_ij / (p_i + p_j) + prior / (p_i + 1))

(``p = exp(theta)``; the reference opponent has ``p = 1``), each step followed by the
exact best common shift of all log-strengths (real games only fix differences, so
otherwise the level would be found by the weak prior at a crawl), and steps grouped into
SQUAREM cycles (Varadhan & Roland 2008) with a monotonicity safeguard, because plain MM
converges slowly when a model wins nearly everything. It stops once one MM step moves no
log-strength by ``tol`` or more (``max_iter`` bounds the MM steps; reaching it emits a
``RuntimeWarning``). The result is centred to mean 0 (only differences are identified).
Aggregating first makes the cost independent of the number of comparisons once they are
counted.

**Bootstrap** (:func:`leaderboard`): comparisons are resampled with replacement (a seeded
``numpy.random.default_rng``), ``n`` out of ``n``. Identical comparisons (same unordered
pair and same score) are merged into cells first, and a resample is drawn as multinomial
counts over the cells with probabilities ``count / n`` — the same distribution as drawing
``n`` row indices, at a cost that does not grow with ``n``. Each resample is refitted
(warm-started at the point estimate, all resamples of a chunk in one vectorised MM loop) and
centred; the interval is the percentile interval of the resampled centred log-strengths.
Ranks come from :func:`ranks_from_intervals`.
"""

from __future__ import annotations

import warnings

import numpy as np

# Upper bound on the elements of one temporary array in the bootstrap (16 MB of float64).
_CHUNK_ELEMENTS = 1 << 21


def fit_strengths(wins: np.ndarray, games: np.ndarray, prior: float, max_iter: int, tol: float) -> np.ndarray:
    """Uncentred log-strengths of one aggregated data set; warns if MM did not converge."""
    m = wins.shape[0]
    if m == 0:
        return np.zeros(0)
    theta, converged, _ = _mm(
        wins.sum(axis=1)[None], np.asarray(games, dtype=np.float64)[None], prior, np.zeros((1, m)), max_iter, tol
    )
    if not converged[0]:
        warnings.warn(
            f"Bradley–Terry MM did not converge to tol={tol:g} in {max_iter} MM steps", RuntimeWarning, stacklevel=3
        )
    return theta[0]


def _mm(
    total_wins: np.ndarray,
    games: np.ndarray,
    prior: float,
    start: np.ndarray,
    max_iter: int,
    tol: float,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Batched MM: ``total_wins (R, M)``, ``games (R, M, M)`` -> ``(theta (R, M), converged (R,), mm_steps)``.

    ``theta`` is not centred. The base map is one MM update (:func:`_mm_step`). Plain MM
    converges linearly and can crawl (at rate about ``1 - prior / (2 N)`` for a model that
    won all of its ``N`` games), so steps are grouped in SQUAREM cycles (Varadhan & Roland
    2008, scheme S3): two MM steps, an extrapolation along them, and one MM step from the
    extrapolated point, which is kept only if the objective is at least that after the two
    plain steps — so the iteration ascends at least as fast as MM and has the same fixed
    point. A resample counts as converged once one MM step moves no log-strength by ``tol``
    or more; converged resamples are frozen. ``max_iter`` bounds the MM steps per resample.
    """
    theta = np.array(start, dtype=np.float64)
    converged = np.zeros(theta.shape[0], dtype=bool)
    active = np.arange(theta.shape[0])
    steps = 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        while active.size and steps < max_iter:
            w, g, t0 = total_wins[active], games[active], theta[active]
            t1 = _mm_step(t0, w, g, prior)
            t2 = _mm_step(t1, w, g, prior)
            steps += 2
            plain_residual = np.abs(t2 - t1).max(axis=1)
            r = t1 - t0
            v = t2 - t1 - r
            r_norm = np.sqrt((r * r).sum(axis=1, keepdims=True))
            v_norm = np.sqrt((v * v).sum(axis=1, keepdims=True))
            alpha = np.where(v_norm > 0, -r_norm / np.where(v_norm > 0, v_norm, 1.0), -1.0)
            alpha = np.minimum(alpha, -1.0)  # alpha = -1 is exactly the plain second step
            extrapolated = t0 - 2.0 * alpha * r + alpha * alpha * v
            if steps < max_iter:
                t3 = _mm_step(extrapolated, w, g, prior)
                steps += 1
                accept = np.isfinite(t3).all(axis=1)
                accept &= _objective(t3, w, g, prior) >= _objective(t2, w, g, prior)
                residual = np.where(accept, np.abs(t3 - extrapolated).max(axis=1), plain_residual)
                new = np.where(accept[:, None], t3, t2)
            else:
                residual, new = plain_residual, t2
            theta[active] = new
            done = residual < tol
            converged[active[done]] = True
            active = active[~done]
    return theta, converged, steps


def _mm_step(theta: np.ndarray, total_wins: np.ndarray, games: np.ndarray, prior: float) -> np.ndarray:
    """One MM update (Hunter 2004) of log-strengths ``theta (R, M)``, plus the best common shift.

    Real games depend on differences only, so with ``prior > 0`` the common level is pinned
    by the weak prior alone and plain MM would crawl along that nearly flat direction; the
    exact maximisation over a common shift (:func:`_best_shift`) also increases the
    objective, so the step stays monotone. With ``prior == 0`` the objective is shift
    invariant and the result is centred instead.
    """
    p = np.exp(theta)
    denom = (games / (p[:, :, None] + p[:, None, :])).sum(axis=2)
    if prior:
        denom += prior / (p + 1.0)
    new = np.log((total_wins + prior / 2.0) / denom)
    return new + (_best_shift(new) if prior else -new.mean(axis=1, keepdims=True))


def _objective(theta: np.ndarray, total_wins: np.ndarray, games: np.ndarray, prior: float) -> np.ndarray:
    """Regularised log-likelihood per row: ``sum_i W_i theta_i - sum_{i<j} N_ij log(p_i + p_j)`` + prior."""
    pair = np.logaddexp(theta[:, :, None], theta[:, None, :])
    value = (total_wins * theta).sum(axis=1) - 0.5 * (games * pair).sum(axis=(1, 2))
    if prior:
        value += prior * (0.5 * theta - np.logaddexp(0.0, theta)).sum(axis=1)
    return value


def _best_shift(theta: np.ndarray) -> np.ndarray:
    """The shift ``c`` (R, 1) maximising the prior term ``-sum_i log cosh((theta_i + c) / 2)``.

    Its root ``sum_i tanh((theta_i + c) / 2) = 0`` lies in ``[-max theta, -min theta]``;
    found by Newton steps kept inside that bracket (bisecting when a step leaves it).
    """
    low = -theta.max(axis=1, keepdims=True)
    high = -theta.min(axis=1, keepdims=True)
    c = -theta.mean(axis=1, keepdims=True)
    for _ in range(100):
        t = np.tanh((theta + c) / 2.0)
        f = t.sum(axis=1, keepdims=True)
        slope = 0.5 * (1.0 - t * t).sum(axis=1, keepdims=True)
        low = np.where(f < 0, c, low)
        high = np.where(f > 0, c, high)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = c - f / slope
        inside = (newton > low) & (newton < high) & np.isfinite(newton)
        nxt = np.where(inside, newton, (low + high) / 2.0)
        done = np.abs(nxt - c) <= 1e-14 * np.maximum(1.0, np.abs(c))
        c = nxt
        if done.all():
            break
    return c


def bootstrap_strengths(ai, bi, s, w, m, theta, n_resamples, seed, prior, max_iter, tol):
    """Centred log-strengths of ``n_resamples`` bootstrap resamples, ``(R, M)``.

    Returns ``(thetas, n_unconverged, degenerate)``.
    """
    rng = np.random.default_rng(seed)
    n = int(w.sum())
    if n == 0 or m == 0:
        return np.zeros((n_resamples, m)), 0, n == 0
    # Merge identical comparisons into cells: unordered pair (lo < hi) and the score of lo.
    lo = np.minimum(ai, bi)
    hi = np.maximum(ai, bi)
    score_lo = np.where(ai == lo, s, 1.0 - s)
    scores, score_code = np.unique(score_lo, return_inverse=True)
    code = (lo * m + hi) * scores.size + score_code.ravel()
    cells, cell_of_row = np.unique(code, return_inverse=True)
    cell_count = np.bincount(cell_of_row.ravel(), weights=w, minlength=cells.size)
    keep = cell_count > 0
    cells, cell_count = cells[keep], cell_count[keep]
    cell_score = scores[cells % scores.size]
    cell_pair = cells // scores.size  # sorted, so the cells of one pair are contiguous
    pairs, pair_start = np.unique(cell_pair, return_index=True)
    pair_lo, pair_hi = pairs // m, pairs % m
    # Incidence of pair -> its lower / higher model, to sum wins per model with a matmul.
    lo_of_pair = np.zeros((pairs.size, m))
    lo_of_pair[np.arange(pairs.size), pair_lo] = 1.0
    hi_of_pair = np.zeros((pairs.size, m))
    hi_of_pair[np.arange(pairs.size), pair_hi] = 1.0
    probabilities = cell_count / cell_count.sum()

    chunk = max(1, min(n_resamples, _CHUNK_ELEMENTS // max(cells.size, m * m)))
    out = np.empty((n_resamples, m))
    unconverged = 0
    for first in range(0, n_resamples, chunk):
        r = min(chunk, n_resamples - first)
        drawn = rng.multinomial(n, probabilities, size=r).astype(np.float64)  # (r, cells)
        games_of_pair = np.add.reduceat(drawn, pair_start, axis=1)  # (r, pairs)
        wins_lo = np.add.reduceat(drawn * cell_score, pair_start, axis=1)
        total_wins = wins_lo @ lo_of_pair + (games_of_pair - wins_lo) @ hi_of_pair  # (r, m)
        games = np.zeros((r, m, m))
        games[:, pair_lo, pair_hi] = games_of_pair
        games[:, pair_hi, pair_lo] = games_of_pair
        fitted, converged, _ = _mm(total_wins, games, prior, np.broadcast_to(theta, (r, m)), max_iter, tol)
        unconverged += int((~converged).sum())
        out[first : first + r] = fitted - fitted.mean(axis=1, keepdims=True)
    return out, unconverged, False
