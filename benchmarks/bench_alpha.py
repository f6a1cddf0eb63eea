"""Agreement speed: alpha with a 1000-resample bootstrap CI on 1M judgments.

    python benchmarks/bench_alpha.py [--units 333334] [--raters 3] [--values 7]

Prints the bare ``krippendorff.alpha`` call on the prepared value counts and our
estimate + CI on the same counts, so the ratio between them is visible.
"""

from __future__ import annotations

import argparse
import time

import krippendorff
import numpy as np

from workbench.domain import Level
from workbench.stats.alpha import alpha_with_ci


def counts(units: int, raters: int, values: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, values, size=units)
    noisy = np.clip(truth[:, None] + rng.integers(-1, 2, size=(units, raters)), 0, values - 1)
    out = np.zeros((units, values), dtype=np.int64)
    np.add.at(out, (np.repeat(np.arange(units), raters), noisy.ravel()), 1)
    return out


def best_of(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=333_334)
    parser.add_argument("--raters", type=int, default=3)
    parser.add_argument("--values", type=int, default=7)
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    vc = counts(args.units, args.raters, args.values)
    domain = list(range(args.values))
    bare = best_of(lambda: krippendorff.alpha(value_counts=vc, value_domain=domain, level_of_measurement="ordinal"))
    ours = best_of(lambda: alpha_with_ci(vc, domain, Level.ORDINAL, n_resamples=args.resamples))
    result = alpha_with_ci(vc, domain, Level.ORDINAL, n_resamples=args.resamples)
    print(f"{args.units * args.raters:,} judgments, {args.units:,} units, {args.values} ordinal values")
    print(f"  bare krippendorff.alpha:           {bare * 1000:8.1f} ms")
    print(
        f"  alpha + {args.resamples}-resample bootstrap CI: {ours * 1000:8.1f} ms  ({ours / bare:.2f}x the bare call)"
    )
    print(f"  alpha = {result.alpha:.4f}, 95% CI [{result.ci_low:.4f}, {result.ci_high:.4f}]")


if __name__ == "__main__":
    main()
