"""Dawid & Skene (1979): per-rater confusion matrices and item classes by EM.

Model
-----
Each item ``i`` has an unobserved true class ``z_i`` drawn from ``priors``; a rating by
rater ``r`` of an item of class ``k`` is label ``l`` with probability ``confusion[r, k, l]``,
independently of everything else. Ratings are given in long format (one row per rating),
so a rater may rate an item any number of times (each rating is one factor in the
likelihood; Dawid & Skene's observer 1 rated every patient three times).

EM, as in the paper:

* start from majority-vote posteriors: ``T[i, k]`` is the share of item ``i``'s ratings
  that say ``k`` (Dawid & Skene's starting point; a tie is thereby split evenly);
* M-step: ``priors = mean_i T[i]`` and ``confusion[r, k, l] ∝ sum over r's ratings of i
  with label l of T[i, k]`` (rows normalised);
* E-step: ``T[i, k] ∝ priors[k] * prod over i's ratings (r, l) of confusion[r, k, l]``,
  computed in log space with the max subtracted per item;
* stop when the observed-data log-likelihood (which EM never decreases) changes by less
  than ``tol`` per rating (default 1e-12), or after ``max_iter`` EM steps (default 2000).
  With acceleration the test is on what a plain EM step would still gain.

EM creeps on sparse crowd data, so by default each round is accelerated with SQUAREM
(Varadhan & Roland 2008, scheme S3): from parameters ``θ0`` two EM steps give ``θ1`` and
``θ2``; with ``r = θ1 - θ0``, ``v = θ2 - 2θ1 + θ0`` and ``α = -|r|/|v|`` (at most -1) the
extrapolation ``θ0 - 2αr + α²v`` is projected back onto probabilities (negative entries
clipped, rows renormalised) and followed by one more EM step. Monotonicity safeguard
(as in the SQUAREM package): when that step's log-likelihood is below ``θ0``'s (or not
finite), the step is tried once more at half the extrapolation (``α`` halfway to -1), and
then the round keeps ``θ2``, the plain EM result, so the log-likelihood never decreases.
``accelerate=False`` runs
plain EM; both reach the same fixed point (``tests/stats/test_dawid_skene.py``). Measured
on 300k synthetic ratings (``benchmarks/bench_dawid_skene.py``): see docs/benchmarks.md.

crowd-kit's ``DawidSkene`` stops on a different quantity (an "ELBO" that counts the log
prior once per rating); on the Dawid–Skene patient data that stops it after three rounds,
and plain EM with ``max_iter=3`` here reproduces its output
(``tests/stats/test_dawid_skene.py``).

Smoothing: none in the estimates themselves. Zero probabilities are legitimate maximum
likelihood values (a rater who never says ``l`` for class ``k``), so the reported
``confusion`` and ``priors`` are the exact EM values. Only when taking logarithms are
probabilities floored at ``_LOG_FLOOR = 1e-300`` (``log = -690.8``), which avoids
``log(0) = -inf`` and the resulting ``-inf - -inf = NaN`` for an item that is impossible
under every class. It alters only posteriors that are exactly 0 without it (they become
negligible, about 1e-300 relative) or undefined. A row of ``confusion`` for a class the
rater never (even fractionally) saw is 0/0; it is set to uniform (the rater gave no
evidence about that class) and ``rater_class_mass`` shows which rows those are.

Items and raters may be arbitrary integer ids; they are mapped to codes ``0..n-1`` in
sorted id order and the code → id arrays are returned (``item_ids``, ``rater_ids``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DawidSkeneResult", "dawid_skene"]

_LOG_FLOOR = 1e-300


@dataclass(frozen=True, eq=False)
class DawidSkeneResult:
    """Estimates of a Dawid–Skene fit; row ``j`` of a per-item array is ``item_ids[j]``.

    ``confusion[r, k, l]`` is P(rater ``rater_ids[r]`` says ``l`` | true class ``k``): rows
    are the true class and sum to 1. ``competence[r] = sum_k priors[k] * confusion[r, k, k]``
    is the rater's estimated probability of giving the correct label to a random item.
    ``rater_class_mass[r, k] = sum of T[i, k] over r's ratings`` is how much (soft) evidence
    each confusion row rests on. ``log_likelihood`` is the observed-data log-likelihood
    (natural log) of the returned parameters; ``posteriors`` are computed from them.
    """

    priors: np.ndarray
    confusion: np.ndarray
    posteriors: np.ndarray
    labels: np.ndarray
    competence: np.ndarray
    item_ids: np.ndarray
    rater_ids: np.ndarray
    rater_class_mass: np.ndarray
    iterations: int
    converged: bool
    log_likelihood: float


def dawid_skene(
    items: np.ndarray,
    raters: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    *,
    max_iter: int = 2000,
    tol: float = 1e-12,
    accelerate: bool = True,
) -> DawidSkeneResult:
    """Fit the Dawid–Skene model to ratings in long format (one row per rating).

    ``items`` and ``raters`` are integer ids (any values); ``labels`` are class codes
    ``0..n_classes-1``. ``iterations`` counts EM steps (M-step plus E-step; a SQUAREM round
    takes three); ``converged`` is False when ``max_iter`` steps did not bring the
    per-rating log-likelihood gain below ``tol``. ``accelerate=False, max_iter=3``
    reproduces crowd-kit.
    """
    item_ids, item, rater_ids, rater, label = _validate(items, raters, labels, n_classes, max_iter, tol)
    n_raters, k = rater_ids.size, int(n_classes)
    # One row per distinct (item, rater, label) with its multiplicity: repeats cost nothing.
    key = (item * n_raters + rater) * k + label
    unique_key, weight = np.unique(key, return_counts=True)
    label_u = unique_key % k
    rater_u = (unique_key // k) % n_raters
    item_u = unique_key // (k * n_raters)
    weight = weight.astype(np.float64)
    cell = rater_u * k + label_u  # (rater, label) index of each row
    repeats = weight if (weight != 1).any() else None  # most data has no repeats: skip the product

    # rows are sorted item-major (np.unique sorts the packed keys), each item has a row
    starts = np.flatnonzero(np.r_[True, item_u[1:] != item_u[:-1]])
    votes = _per_item(starts, (label_u[:, None] == np.arange(k)[None, :]) * weight[:, None])
    posteriors = votes / votes.sum(axis=1, keepdims=True)

    def em(params):
        """One EM step from the parameters' posteriors: new parameters, their posteriors and log-likelihood."""
        priors, confusion, mass = _m_step(params[3], item_u, cell, repeats, n_raters, k)
        post, loglik = _e_step(priors, confusion, starts, cell, repeats)
        return priors, confusion, mass, post, loglik

    state = em((None, None, None, posteriors))
    iterations, converged = 1, False
    while iterations < max_iter:
        if not accelerate or iterations + 3 > max_iter:
            previous = state[4]
            state, iterations = em(state), iterations + 1
            gain = state[4] - previous
        else:
            one = em(state)
            two = em(one)
            iterations += 2
            start, state = state, two
            gain = (two[4] - start[4]) / 2  # what plain EM still gains per step from here
            for scale in (1.0, 0.5):  # a shorter step before falling back to plain EM
                jump = _squarem_step(start, one, two, scale)
                if jump is None:
                    break
                post, _ = _e_step(*jump, starts, cell, repeats)
                stabilised = em((*jump, None, post))
                iterations += 1
                if np.isfinite(stabilised[4]) and stabilised[4] >= start[4]:
                    state = stabilised
                    break
        if abs(gain) < tol * label.size:
            converged = True
            break
    priors, confusion, mass, posteriors, log_likelihood = state

    diagonal = confusion[:, np.arange(k), np.arange(k)]
    return DawidSkeneResult(
        priors=priors,
        confusion=confusion,
        posteriors=posteriors,
        labels=posteriors.argmax(axis=1),
        competence=diagonal @ priors,
        item_ids=item_ids,
        rater_ids=rater_ids,
        rater_class_mass=mass,
        iterations=iterations,
        converged=converged,
        log_likelihood=float(log_likelihood),
    )


def _squarem_step(start, one, two, alpha_scale=1.0):
    """The SQUAREM (S3) extrapolation from three successive EM states: (priors, confusion),
    or None when the steps did not move. ``alpha_scale`` < 1 shortens the step toward ``two``."""
    r = [one[j] - start[j] for j in (0, 1)]
    v = [two[j] - 2 * one[j] + start[j] for j in (0, 1)]
    r_norm = np.sqrt(sum(float((x * x).sum()) for x in r))
    v_norm = np.sqrt(sum(float((x * x).sum()) for x in v))
    if v_norm == 0 or r_norm == 0:
        return None
    alpha = min(-1.0 + alpha_scale * (-r_norm / v_norm + 1.0), -1.0)
    return tuple(_simplex(start[j] - 2 * alpha * r[j] + alpha**2 * v[j]) for j in (0, 1))


def _simplex(values):
    """Negative entries clipped, each last-axis row renormalised (uniform when nothing is left)."""
    clipped = np.maximum(values, 0.0)
    total = clipped.sum(axis=-1, keepdims=True)
    uniform = np.full_like(clipped, 1.0 / clipped.shape[-1])
    return np.where(total > 0, clipped / np.where(total > 0, total, 1.0), uniform)


def _m_step(posteriors, item_u, cell, weight, n_raters, k):
    """Priors and row-normalised confusion matrices from the current posteriors."""
    priors = posteriors.mean(axis=0)
    soft = np.take(posteriors.T, item_u, axis=1)  # true class × rows, each row contiguous
    if weight is not None:
        soft *= weight
    counts = (
        np.stack([np.bincount(cell, weights=soft[c], minlength=n_raters * k) for c in range(k)], axis=1)
        .reshape(n_raters, k, k)
        .transpose(0, 2, 1)
    )  # counts[r, true, said]
    mass = counts.sum(axis=2)
    confusion = np.full_like(counts, 1.0 / k)
    seen = mass > 0
    confusion[seen] = counts[seen] / mass[seen][:, None]
    return priors, confusion, mass


def _e_step(priors, confusion, starts, cell, weight):
    """Posteriors of each item's class and the observed-data log-likelihood (``weight`` None: all 1)."""
    log_conf = np.log(np.maximum(confusion, _LOG_FLOOR))
    # rows (rater, said) × true class, taken by each rating's cell: a plain row gather
    table = log_conf.transpose(0, 2, 1).reshape(-1, log_conf.shape[1])
    contribution = np.take(table, cell, axis=0)
    if weight is not None:
        contribution *= weight[:, None]
    log_joint = _per_item(starts, contribution) + np.log(np.maximum(priors, _LOG_FLOOR))
    top = log_joint.max(axis=1, keepdims=True)
    scaled = np.exp(log_joint - top)
    total = scaled.sum(axis=1, keepdims=True)
    log_likelihood = float((top[:, 0] + np.log(total[:, 0])).sum())
    return scaled / total, log_likelihood


def _per_item(starts, values):
    """Sum the rows of ``values`` (rows × K, sorted by item) per item: a segmented sum."""
    return np.add.reduceat(np.asarray(values, dtype=np.float64), starts, axis=0)


def _validate(items, raters, labels, n_classes, max_iter, tol):
    arrays = [np.asarray(a) for a in (items, raters, labels)]
    for name, a in zip(("items", "raters", "labels"), arrays, strict=True):
        if a.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
        if a.dtype.kind not in "iu" and not (a.dtype.kind == "f" and np.all(np.isfinite(a) & (a == np.floor(a)))):
            raise ValueError(f"{name} must hold integers")
    if not arrays[0].size == arrays[1].size == arrays[2].size:
        raise ValueError("items, raters and labels must have the same length")
    if arrays[0].size == 0:
        raise ValueError("no ratings")
    if isinstance(n_classes, bool) or int(n_classes) != n_classes or n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}")
    label = arrays[2].astype(np.int64)
    if label.min() < 0 or label.max() >= n_classes:
        raise ValueError(f"labels must be codes 0..{int(n_classes) - 1}")
    if int(max_iter) < 1 or not tol >= 0:
        raise ValueError("max_iter must be >= 1 and tol >= 0")
    item_ids, item = np.unique(arrays[0].astype(np.int64), return_inverse=True)
    rater_ids, rater = np.unique(arrays[1].astype(np.int64), return_inverse=True)
    return item_ids, item.ravel(), rater_ids, rater.ravel(), label
