"""Corrections to rater calibration, each on data that showed the defect.

Expected values are counted by hand from the tables built here, not taken from our output.
"""

from __future__ import annotations

import numpy as np
import pytest

from workbench.domain import Level
from workbench.stats.alpha import alpha_with_ci
from workbench.stats.calibration import JudgmentTable, calibrate
from workbench.stats.rater_flags import Thresholds


def test_tie_rate_counts_judgments_without_a_display_order():
    # Imported pairwise judgments: 1 tie and 9 side choices, display order unknown.
    n = 10
    table = JudgmentTable.from_columns(
        rater=np.zeros(n, dtype=np.int64),
        unit=np.arange(n),
        value=np.array([2.0] + [0.0] * 5 + [1.0] * 4),
        is_tie=np.array([True] + [False] * 9),
        is_choice=np.array([False] + [True] * 9),
    )
    (row,) = calibrate(table, [0.0, 1.0, 2.0], Level.NOMINAL)
    assert row.tie_rate == 0.1  # 1 of 10, not 1 of 1
    assert row.position.trials == 0  # no side can be called "left" without the display order


def test_straight_lining_and_drift_need_a_known_order():
    n = 12
    values = np.ones(n)  # the same answer every time: 100% straight-lining if the order meant anything
    gold = np.where(np.arange(n) < 6, 1.0, 0.0)
    known = JudgmentTable.from_columns(rater=np.zeros(n, dtype=np.int64), unit=np.arange(n), value=values, gold=gold)
    unknown = JudgmentTable.from_columns(
        rater=np.zeros(n, dtype=np.int64), unit=np.arange(n), value=values, gold=gold, order=np.full(n, -1)
    )
    (in_order,) = calibrate(known, [0.0, 1.0], Level.NOMINAL)
    (no_order,) = calibrate(unknown, [0.0, 1.0], Level.NOMINAL)
    assert in_order.straight_lining == 1.0 and in_order.drift == -1.0
    assert no_order.straight_lining is None and no_order.drift is None
    assert not any("straight" in f or "drops" in f for f in no_order.flags)
    assert no_order.gold.trials == in_order.gold.trials == n  # gold accuracy does not need the order


def test_the_bootstrap_ci_does_not_depend_on_unit_row_order():
    rng = np.random.default_rng(7)
    # Many distinct count patterns, so resampling draws unit indices (the order-sensitive path).
    counts = rng.integers(0, 6, size=(400, 5))
    counts[counts.sum(axis=1) < 2, 0] = 2
    shuffled = counts[rng.permutation(len(counts))]
    first = alpha_with_ci(counts, [1, 2, 3, 4, 5], "ordinal", n_resamples=200, seed=3)
    second = alpha_with_ci(shuffled, [1, 2, 3, 4, 5], "ordinal", n_resamples=200, seed=3)
    assert first.alpha == pytest.approx(second.alpha, rel=1e-12)  # summation order only
    assert (first.ci_low, first.ci_high) == (second.ci_low, second.ci_high)


def _offset_table(offset: float, n_units: int = 12) -> JudgmentTable:
    """Three raters on a -100..100 scale; rater 2 rates every unit ``offset`` above the others."""
    base = np.linspace(-60, 40, n_units).round()
    values = np.concatenate([base, base, base + offset])
    return JudgmentTable.from_columns(
        rater=np.repeat([0, 1, 2], n_units), unit=np.tile(np.arange(n_units), 3), value=values
    )


def test_leniency_is_judged_relative_to_the_scale_by_default():
    domain = np.arange(-100, 101, dtype=np.float64)
    table = _offset_table(20.0)
    by_rater = {r.rater: r for r in calibrate(table, domain, Level.INTERVAL)}
    assert by_rater[2].leniency == 20.0  # its mean minus the others' mean, by hand
    assert not any("lenient" in f for f in by_rater[2].flags)  # 20 < 0.125 * 200 = 25
    strict = Thresholds(max_abs_leniency=10.0)
    by_rater = {r.rater: r for r in calibrate(table, domain, Level.INTERVAL, strict)}
    assert any("lenient" in f for f in by_rater[2].flags)  # an absolute limit still works
    loud = {r.rater: r for r in calibrate(_offset_table(30.0), domain, Level.INTERVAL)}
    assert any("lenient" in f for f in loud[2].flags)  # 30 > 25


def _spread_table(n_units: int = 12, far: float = 5.0) -> JudgmentTable:
    """Three raters on a -100..100 scale who never give the same value: rater 1 is 5 points
    above rater 0, rater 2 is ``far`` points above rater 0."""
    base = np.linspace(-60, 40, n_units).round()
    values = np.concatenate([base, base + 5, base + far])
    return JudgmentTable.from_columns(
        rater=np.repeat([0, 1, 2], n_units), unit=np.tile(np.arange(n_units), 3), value=values
    )


def test_agreeing_with_others_is_judged_relative_to_the_scale_by_default():
    domain = np.arange(-100, 101, dtype=np.float64)
    near = {r.rater: r for r in calibrate(_spread_table(far=10.0), domain, Level.INTERVAL)}
    # the others' values on a unit are both modal; every answer is within 25 = 0.125 * 200 of one
    assert [near[r].consensus.estimate for r in (0, 1, 2)] == [1.0, 1.0, 1.0]
    assert not any("agrees with others" in f for r in near.values() for f in r.flags)
    far = {r.rater: r for r in calibrate(_spread_table(far=60.0), domain, Level.INTERVAL)}
    assert far[2].consensus.estimate == 0.0  # 55 and 60 points from the others' values
    assert any("agrees with others" in f for f in far[2].flags)
    exact = {
        r.rater: r
        for r in calibrate(_spread_table(far=10.0), domain, Level.INTERVAL, Thresholds(consensus_abs_distance=0.0))
    }
    assert exact[0].consensus.estimate == 0.0  # exact agreement, as before, when asked for


def test_agreeing_with_others_stays_exact_on_short_scales():
    table = JudgmentTable.from_columns(
        rater=np.repeat([0, 1, 2], 6), unit=np.tile(np.arange(6), 3), value=np.r_[[3] * 6, [3] * 6, [4] * 6]
    )
    by_rater = {r.rater: r for r in calibrate(table, [1, 2, 3, 4, 5, 6, 7], Level.ORDINAL)}
    assert by_rater[2].consensus.estimate == 0.0  # 1 point off on 1-7 is beyond 0.75: no agreement
    assert by_rater[0].consensus.estimate == 1.0
