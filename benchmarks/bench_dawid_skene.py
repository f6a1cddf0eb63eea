"""Dawid-Skene on 300k synthetic ratings: time to convergence, and how far a short run stops.

    python benchmarks/bench_dawid_skene.py [--ratings 300000] [--classes 3] [--raters 500]

Sparse crowd data: ``ratings / 3`` items, each rated by 3 of ``raters`` raters drawn at
random; every rater has an accuracy drawn from 0.55..0.95 and errs uniformly. Times the
default fit, a plain EM fit capped like the old default (100 rounds, tol 1e-5 per rating),
and reports the largest difference in competence between them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.stats.dawid_skene import dawid_skene


def synthetic(n_ratings: int, k: int, n_raters: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    n_items = n_ratings // 3
    truth = rng.integers(0, k, n_items)
    accuracy = rng.uniform(0.55, 0.95, n_raters)
    items = np.repeat(np.arange(n_items), 3)
    raters = np.concatenate([rng.choice(n_raters, 3, replace=False) for _ in range(n_items)])
    correct = rng.random(items.size) < accuracy[raters]
    wrong = (truth[items] + rng.integers(1, k, items.size)) % k
    labels = np.where(correct, truth[items], wrong)
    return items, raters, labels


def timed(label: str, **kwargs):
    start = time.perf_counter()
    fit = dawid_skene(*DATA, K, **kwargs)
    took = time.perf_counter() - start
    print(f"{label:<40} {took:8.2f} s  rounds {fit.iterations:5d}  converged {fit.converged}  "
          f"loglik {fit.log_likelihood:.6f}")  # fmt: skip
    return fit


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=300_000)
    parser.add_argument("--classes", type=int, default=3)
    parser.add_argument("--raters", type=int, default=500)
    parser.add_argument("--plain-tight", action="store_true", help="Also time plain EM to the default tolerance.")
    args = parser.parse_args()
    K = args.classes
    DATA = synthetic(args.ratings, K, args.raters)
    default = timed("default")
    short = timed("plain EM, 100 rounds, tol 1e-5", max_iter=100, tol=1e-5, accelerate=False)
    print(f"largest competence difference, short vs default: {np.abs(short.competence - default.competence).max():.4f}")
    if args.plain_tight:
        tight = timed("plain EM, default tolerance", accelerate=False)
        print(
            f"largest competence difference, plain vs default: {np.abs(tight.competence - default.competence).max():.2e}"
        )
