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
  than ``tol`` per rating.

crowd-kit's ``DawidSkene`` stops on a different quantity (an "ELBO" that counts the log
prior once per rating); on the Dawid–Skene patient data that stops it after three rounds,
and ``max_iter=3`` here reproduces its output (``tests/stats/test_dawid_skene.py``).

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
    max_iter: int = 100,
    tol: float = 1e-5,
) -> DawidSkeneResult:
    """Fit the Dawid–Skene model to ratings in long format (one row per rating).

    ``items`` and ``raters`` are integer ids (any values); ``labels`` are class codes
    ``0..n_classes-1``. ``iterations`` counts EM rounds (M-step plus E-step); ``converged``
    is False when ``max_iter`` rounds did not bring the per-rating log-likelihood gain below
    ``tol``. ``max_iter=3`` reproduces crowd-kit.
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

    # rows are sorted item-major (np.unique sorts the packed keys), each item has a row
    starts = np.flatnonzero(np.r_[True, item_u[1:] != item_u[:-1]])
    votes = _per_item(starts, (label_u[:, None] == np.arange(k)[None, :]) * weight[:, None])
    posteriors = votes / votes.sum(axis=1, keepdims=True)

    log_likelihood, previous = -np.inf, -np.inf
    converged, iterations = False, 0
    while iterations < max_iter:
        iterations += 1
        priors, confusion, mass = _m_step(posteriors, item_u, cell, weight, n_raters, k)
        posteriors, log_likelihood = _e_step(priors, confusion, starts, rater_u, label_u, weight)
        if abs(log_likelihood - previous) < tol * label.size:
            converged = True
            break
        previous = log_likelihood

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


def _m_step(posteriors, item_u, cell, weight, n_raters, k):
    """Priors and row-normalised confusion matrices from the current posteriors."""
    priors = posteriors.mean(axis=0)
    soft = posteriors[item_u] * weight[:, None]  # rows × true class
    counts = (
        np.stack([np.bincount(cell, weights=soft[:, c], minlength=n_raters * k) for c in range(k)], axis=1)
        .reshape(n_raters, k, k)
        .transpose(0, 2, 1)
    )  # counts[r, true, said]
    mass = counts.sum(axis=2)
    confusion = np.full_like(counts, 1.0 / k)
    seen = mass > 0
    confusion[seen] = counts[seen] / mass[seen][:, None]
    return priors, confusion, mass


def _e_step(priors, confusion, starts, rater_u, label_u, weight):
    """Posteriors of each item's class and the observed-data log-likelihood."""
    log_conf = np.log(np.maximum(confusion, _LOG_FLOOR))
    contribution = log_conf[rater_u, :, label_u] * weight[:, None]  # rows × true class
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
