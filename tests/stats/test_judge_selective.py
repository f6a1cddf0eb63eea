"""Selective evaluation (Jung et al. 2025): exact binomial tails, Clopper–Pearson bounds,
the fixed-sequence threshold search, and its guarantee on simulated judges."""

from __future__ import annotations

import math

import numpy as np
import pytest

from workbench.stats.selective import (
    binomial_cdf,
    clopper_pearson_lower,
    clopper_pearson_upper,
    select_threshold,
    threshold_grid,
)


def _cdf_by_hand(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


def test_binomial_cdf_hand_worked_values():
    assert binomial_cdf(2, 10, 0.5) == pytest.approx(56 / 1024, rel=1e-12)  # 1 + 10 + 45
    assert binomial_cdf(0, 5, 0.2) == pytest.approx(0.8**5, rel=1e-12)
    assert binomial_cdf(10, 10, 0.3) == 1.0
    assert binomial_cdf(3, 10, 0.0) == 1.0 and binomial_cdf(3, 10, 1.0) == 0.0
    for k, n, p in [(7, 40, 0.15), (30, 200, 0.2), (0, 300, 0.01), (120, 300, 0.5)]:
        assert binomial_cdf(k, n, p) == pytest.approx(_cdf_by_hand(k, n, p), rel=1e-9)


def test_binomial_cdf_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    for k, n, p in [(0, 1, 0.5), (5, 17, 0.33), (44, 300, 0.15), (999, 5000, 0.2), (2, 1000, 0.001)]:
        assert binomial_cdf(k, n, p) == pytest.approx(float(stats.binom.cdf(k, n, p)), rel=1e-9, abs=1e-300)


def test_clopper_pearson_published_and_closed_form_values():
    # 9 of 10: the two-sided 95% Clopper-Pearson interval is [0.5550, 0.9975] (standard tables).
    assert clopper_pearson_lower(9, 10, 0.975) == pytest.approx(0.5550, abs=5e-5)
    assert clopper_pearson_upper(9, 10, 0.975) == pytest.approx(0.9975, abs=5e-5)
    # All successes: P(X >= n | L) = L**n, so L = (1 - confidence) ** (1 / n); no success: L = 0.
    assert clopper_pearson_lower(20, 20, 0.9) == pytest.approx(0.1 ** (1 / 20), rel=1e-12)
    assert clopper_pearson_upper(0, 20, 0.9) == pytest.approx(1 - 0.1 ** (1 / 20), rel=1e-9)
    assert clopper_pearson_lower(0, 20, 0.9) == 0.0
    assert clopper_pearson_lower(0, 0, 0.9) is None


def test_clopper_pearson_matches_scipy_beta_quantiles():
    stats = pytest.importorskip("scipy.stats")
    for x, n, conf in [(1, 7, 0.9), (45, 50, 0.95), (255, 300, 0.9), (3, 1000, 0.99)]:
        assert clopper_pearson_lower(x, n, conf) == pytest.approx(
            float(stats.beta.ppf(1 - conf, x, n - x + 1)), abs=1e-10
        )
        assert clopper_pearson_upper(x, n, conf) == pytest.approx(float(stats.beta.ppf(conf, x + 1, n - x)), abs=1e-10)


def test_grid_is_descending_from_one_to_zero():
    grid = threshold_grid(0.25)
    assert grid.tolist() == [1.0, 0.75, 0.5, 0.25, 0.0]
    assert threshold_grid().size == 1001


def test_threshold_hand_worked():
    # 40 confident items all agree, 40 items at 0.6 all disagree. Any threshold in (0.6, 0.95]
    # keeps the 40 good items: P(Bin(40, 0.2) <= 0) = 0.8**40 ~ 1.3e-4 <= 0.1, rejected.
    # At 0.6 all 80 count with 40 disagreements: not rejected, the search stops there.
    conf = [0.95] * 40 + [0.6] * 40
    agrees = [True] * 40 + [False] * 40
    result = select_threshold(conf, agrees, 0.8, 0.1, grid=threshold_grid(0.05))
    assert result.threshold == pytest.approx(0.65)
    assert (result.n_accepted, result.agreements, result.calibration_size) == (40, 40, 80)
    assert result.guaranteed_level == 0.8
    assert result.lower_bound == pytest.approx(0.1 ** (1 / 40))
    assert result.tests[0].threshold == pytest.approx(0.95) and result.tests[0].p_value == pytest.approx(0.8**40)
    assert result.tests[-1].threshold == pytest.approx(0.6) and not result.tests[-1].rejected
    assert result.coverage == pytest.approx(0.5)


def test_search_stops_at_the_first_failure():
    # 0.9: 30 items all agree; 0.8: 30 items, half disagree; 0.7: 200 items all agree.
    # At 0.8, 15 of 60 disagree: P(Bin(60, 0.2) <= 15) is far above delta, so the search stops
    # although 0.7 (15 of 260) would pass on its own.
    conf = [0.9] * 30 + [0.8] * 30 + [0.7] * 200
    agrees = [True] * 30 + [True, False] * 15 + [True] * 200
    result = select_threshold(conf, agrees, 0.8, 0.1, grid=threshold_grid(0.05))
    assert result.threshold == pytest.approx(0.85)
    assert result.tests[-1].threshold == pytest.approx(0.8) and result.tests[-1].n == 60
    assert _cdf_by_hand(15, 60, 0.2) == pytest.approx(result.tests[-1].p_value, rel=1e-9)
    # The 0.7 point alone would have passed: proof that stopping mattered.
    assert _cdf_by_hand(15, 260, 0.2) < 0.1


def test_points_with_too_few_items_are_not_tested_and_a_bad_judge_gets_no_threshold():
    conf = [0.99] * 10 + [0.9] * 100
    agrees = [True] * 10 + [True, False] * 50
    result = select_threshold(conf, agrees, 0.85, 0.1, grid=threshold_grid(0.01), min_calibration=30)
    assert all(t.n >= 30 for t in result.tests)
    assert result.tests[0].threshold == pytest.approx(0.9)
    assert result.threshold is None and result.guaranteed_level is None and result.n_accepted == 0
    assert select_threshold([], [], 0.8, 0.1).threshold is None


@pytest.mark.parametrize("bad", [{"target_agreement": 1.0}, {"delta": 0.0}, {"target_agreement": -0.1}])
def test_levels_are_checked(bad):
    args = {"target_agreement": 0.8, "delta": 0.1, **bad}
    with pytest.raises(ValueError):
        select_threshold([0.9], [True], **args)


# --------------------------------------------------------------------------- simulated judges


def _simulate(accuracy, draw_confidence, target: float, delta: float, repetitions: int, seed: int):
    """Run the search on ``repetitions`` calibration sets of 300 items from a judge whose
    chance of agreeing with humans at confidence ``c`` is ``accuracy(c)``; return the true
    agreement above each chosen threshold and the share of fresh items it accepts.

    The truth is the mean of ``accuracy`` over a large fixed sample of confidences (the
    known model), not anything the search reports."""
    rng = np.random.default_rng(seed)
    population = np.sort(draw_confidence(rng, 400_000))
    acc_suffix = np.cumsum(accuracy(population)[::-1])[::-1]
    truths, coverages = [], []
    for _ in range(repetitions):
        conf = draw_confidence(rng, 300)
        agrees = rng.random(300) < accuracy(conf)
        lam = select_threshold(conf, agrees, target, delta, grid=threshold_grid(0.01)).threshold
        if lam is None:
            truths.append(None)
            coverages.append(0.0)
            continue
        start = int(np.searchsorted(population, lam, side="left"))
        truths.append(acc_suffix[start] / (population.size - start) if start < population.size else None)
        coverages.append(1.0 - start / population.size)
    return truths, coverages


def _uniform(low, high):
    return lambda rng, n: rng.uniform(low, high, n)


@pytest.mark.parametrize(
    ("name", "accuracy", "draw"),
    [
        ("calibrated", lambda c: c, _uniform(0.5, 1.0)),
        ("overconfident by 15 points", lambda c: np.clip(c - 0.15, 0, 1), _uniform(0.5, 1.0)),
        ("two kinds of item", lambda c: np.where(c > 0.85, 0.93, 0.55), _uniform(0.5, 1.0)),
    ],
)
def test_guarantee_holds_on_simulated_judges(name, accuracy, draw):
    target, delta, reps = 0.85, 0.1, 300
    truths, _ = _simulate(accuracy, draw, target, delta, reps, seed=7)
    violations = sum(1 for t in truths if t is not None and t < target)
    assert violations / reps <= delta, f"{name}: {violations} of {reps} repetitions fell below {target}"


def test_a_good_judge_gets_most_items_accepted():
    # Half the items are easy (confidence 0.9-1.0, calibrated), half hard (0.5-0.7).
    def draw(rng, n):
        easy = rng.random(n) < 0.5
        return np.where(easy, rng.uniform(0.9, 1.0, n), rng.uniform(0.5, 0.7, n))

    truths, coverages = _simulate(lambda c: c, draw, 0.85, 0.1, 100, seed=3)
    assert float(np.median(coverages)) >= 0.45
    assert sum(1 for t in truths if t is not None and t < 0.85) <= 0.1 * len(truths)


def test_the_simulation_can_catch_a_method_without_the_guarantee():
    # Negative control: the lowest threshold whose *empirical* agreement reaches the target
    # (no confidence bound) falls below the target far more often than delta.
    rng = np.random.default_rng(11)
    violations, reps = 0, 300
    for _ in range(reps):
        conf = rng.uniform(0.5, 1.0, 300)
        agrees = rng.random(300) < conf
        order = np.argsort(-conf)
        running = np.cumsum(agrees[order]) / np.arange(1, 301)
        ok = np.nonzero(running[29:] >= 0.85)[0]
        if ok.size:
            lam = conf[order][29 + ok[-1]]
            violations += (1 + lam) / 2 < 0.85  # true agreement above lam for this judge
    assert violations / reps > 0.3
