"""Input checks and small array helpers for ``pairwise``: comparison rows, fit options, and
the reachability of the comparison graph (MLE existence, connected components)."""

from __future__ import annotations

import math
import numbers

import numpy as np


def centre(theta: np.ndarray) -> np.ndarray:
    return theta - theta.mean() if theta.size else theta


def frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array)  # own copy
    array.setflags(write=False)
    return array


def frozen_masked(array: np.ma.MaskedArray) -> np.ma.MaskedArray:
    data = np.array(array.data)
    mask = np.array(np.ma.getmaskarray(array))
    data.setflags(write=False)
    mask.setflags(write=False)
    return np.ma.MaskedArray(data, mask=mask)


def check_n_models(n_models) -> int:
    if isinstance(n_models, bool) or not isinstance(n_models, numbers.Integral) or n_models < 0:
        raise ValueError(f"n_models must be a non-negative integer, got {n_models!r}")
    return int(n_models)


def index_array(values, name: str, m: int) -> np.ndarray:
    raw = np.asarray(values)
    if raw.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {raw.shape}")
    if raw.size == 0:
        return np.zeros(0, dtype=np.int64)
    if raw.dtype.kind not in "iuf":
        raise ValueError(f"{name} must hold integer model indices, got dtype {raw.dtype}")
    out = raw.astype(np.int64)
    if raw.dtype.kind == "f" and not np.array_equal(out, raw):
        raise ValueError(f"{name} must hold integer model indices")
    if (out < 0).any() or (out >= m).any():
        raise ValueError(f"{name} has model indices outside [0, {m})")
    return out


def check_comparisons(a, b, outcome, m: int, counts):
    """Validate comparison rows -> ``(a, b, score, weight)`` as int64, int64, float64, int64."""
    ai = index_array(a, "a", m)
    bi = index_array(b, "b", m)
    s = np.asarray(outcome, dtype=np.float64)
    if s.ndim != 1 or not (ai.size == bi.size == s.size):
        raise ValueError(f"a, b and outcome must be 1-D of one length, got {ai.size}, {bi.size}, {s.size}")
    if (ai == bi).any():
        raise ValueError("a model cannot be compared with itself (a[i] == b[i])")
    if np.isnan(s).any() or (s < 0).any() or (s > 1).any():
        raise ValueError("outcome must lie in [0, 1] (1 = a won, 0 = b won, 0.5 = tie), without NaN")
    if counts is None:
        w = np.ones(s.size, dtype=np.int64)
    else:
        raw = np.asarray(counts)
        if raw.shape != s.shape:
            raise ValueError(f"counts must match outcome in shape, got {raw.shape} and {s.shape}")
        w = raw.astype(np.int64) if raw.size else np.zeros(0, dtype=np.int64)
        if raw.size and (raw.dtype.kind not in "iuf" or not np.array_equal(w, raw) or (w < 0).any()):
            raise ValueError("counts must be non-negative integers")
    return ai, bi, s, w


def check_fit_options(prior, max_iter, tol) -> tuple[float, int, float]:
    prior = float(prior)
    if not math.isfinite(prior) or prior < 0:
        raise ValueError(f"prior must be a finite number >= 0, got {prior!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    tol = float(tol)
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol!r}")
    return prior, int(max_iter), tol


def reachability(adjacency: np.ndarray) -> np.ndarray:
    """Transitive closure (reflexive) of a boolean adjacency matrix by repeated squaring."""
    m = adjacency.shape[0]
    reach = adjacency | np.eye(m, dtype=bool)
    while True:
        nxt = (reach.astype(np.int64) @ reach.astype(np.int64)) > 0
        if np.array_equal(nxt, reach):
            return reach
        reach = nxt


def require_mle(wins: np.ndarray, games: np.ndarray) -> None:
    """With ``prior=0``, the MLE exists iff the "i beat j" graph is strongly connected (Hunter 2004)."""
    if wins.shape[0] < 2:
        raise ValueError("prior=0 needs at least two models")
    if not reachability(wins > 0).all():
        raise ValueError(
            "with prior=0 the Bradley–Terry MLE does not exist: some models cannot be ordered by chains of wins "
            "(a model never won or never lost, or the comparison graph is not strongly connected); use prior > 0"
        )


def count_components(games: np.ndarray) -> int:
    """Connected components of the comparison graph (a model with no games is its own)."""
    if games.shape[0] == 0:
        return 0
    reach = reachability(games > 0)
    # Each component is counted once, at its lowest-index member.
    first_member = reach.argmax(axis=1)
    return int(np.unique(first_member).size)


def mean_lengths(lengths, length_model, m: int) -> np.ma.MaskedArray | None:
    if lengths is None and length_model is None:
        return None
    if lengths is None or length_model is None:
        raise ValueError("give both lengths and length_model, or neither")
    values = np.asarray(lengths, dtype=np.float64)
    owner = index_array(length_model, "length_model", m)
    if values.ndim != 1 or values.shape != owner.shape:
        raise ValueError(f"lengths and length_model must be 1-D of one length, got {values.shape}, {owner.shape}")
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError("lengths must be finite and non-negative")
    total = np.bincount(owner, weights=values, minlength=m)
    n = np.bincount(owner, minlength=m)
    mean = np.divide(total, n, out=np.zeros(m), where=n > 0)
    return np.ma.MaskedArray(mean, mask=n == 0)
