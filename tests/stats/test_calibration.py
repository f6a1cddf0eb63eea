"""Per-rater calibration: Wilson and binomial references, intra-rater alpha, planted raters."""

from __future__ import annotations

import math
from pathlib import Path
from statistics import NormalDist

import krippendorff
import numpy as np
import pytest

from workbench.domain import Level
from workbench.stats.alpha import krippendorff_alpha
from workbench.stats.calibration import (
    JudgmentTable,
    RaterCalibration,
    Thresholds,
    binomial_test,
    calibrate,
    intra_rater_consistency,
    wilson_interval,
)
from workbench.stats.consistency import unit_value_counts

PATIENTS = Path(__file__).resolve().parents[1] / "data" / "calibration" / "dawid-skene-1979"
SCALE = np.arange(1.0, 8.0)
GOOD, RANDOM, LEFT, FAST, LENIENT = range(12), 12, 13, 14, 15


# --------------------------------------------------------------------------- Wilson, binomial


@pytest.mark.parametrize(
    "successes, trials, low, high",
    [(8, 10, 0.4902, 0.9433), (0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (1, 2, 0.0945, 0.9055)],
)
def test_wilson_interval_known_values(successes, trials, low, high):
    result = wilson_interval(successes, trials)
    assert result.estimate == pytest.approx(successes / trials)
    assert result.low == pytest.approx(low, abs=1e-4)
    assert result.high == pytest.approx(high, abs=1e-4)


def test_wilson_interval_without_trials_and_bad_input():
    empty = wilson_interval(0, 0)
    assert (empty.estimate, empty.low, empty.high) == (None, None, None)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)
    with pytest.raises(ValueError):
        wilson_interval(1, 2, confidence=1.0)


@pytest.mark.parametrize(
    "successes, trials, p, expected",  # R: binom.test(x, n, p)$p.value
    [(7, 10, 0.5, 0.3438), (60, 100, 0.5, 0.05689), (0, 5, 0.5, 0.0625), (5, 10, 0.5, 1.0), (10, 10, 0.5, 0.001953)],
)
def test_binomial_test_matches_r(successes, trials, p, expected):
    assert binomial_test(successes, trials, p) == pytest.approx(expected, rel=1e-3)


def test_binomial_test_large_n_is_stable_and_near_the_normal_approximation():
    n, x = 100_000, 50_300
    z = (x - n / 2 - 0.5) / math.sqrt(n / 4)
    assert binomial_test(x, n) == pytest.approx(2 * (1 - NormalDist().cdf(z)), abs=1e-3)
    assert binomial_test(n // 2, n) == 1.0
    assert 0.0 <= binomial_test(51_000, n) < 1e-9
    assert binomial_test(3, 10, 0.3) == pytest.approx(1.0)
    assert binomial_test(0, 0) == 1.0
    assert binomial_test(0, 4, 0.0) == 1.0 and binomial_test(1, 4, 0.0) == 0.0


# --------------------------------------------------------------------------- intra-rater consistency


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_intra_rater_consistency_of_observer_one(level):
    path = PATIENTS / "patients_long.csv"
    if not path.is_file():
        pytest.fail(f"reference data not found at {path}")
    patient, observer, repeat, label = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int64).T
    mine = observer == 1
    result = intra_rater_consistency(patient[mine], label[mine].astype(float), level)
    matrix = np.full((3, 45), np.nan)  # independent: readings × patients, straight into the package
    matrix[repeat[mine] - 1, patient[mine] - 1] = label[mine]
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement=level)
    assert result.alpha.alpha == pytest.approx(expected, abs=1e-12)
    assert (result.n_units, result.n_pairs) == (45, 135)
    pairs = [(0, 1), (0, 2), (1, 2)]
    agree = sum(int((matrix[a] == matrix[b]).sum()) for a, b in pairs)
    assert result.percent_agreement == pytest.approx(agree / 135)


def test_intra_rater_consistency_without_repeats():
    result = intra_rater_consistency([1, 2, 3], [1.0, 2.0, np.nan], "nominal")
    assert result.alpha.alpha is None and result.percent_agreement is None and result.n_pairs == 0


# --------------------------------------------------------------------------- JudgmentTable


def test_judgment_table_validates_and_fills_defaults():
    table = JudgmentTable.from_columns([0, 1, 1], [5, 5, 6], [1.0, 2.0, np.nan])
    assert len(table) == 3 and table.order.tolist() == [0, 1, 2]
    assert np.isnan(table.gold).all() and not table.is_tie.any()
    with pytest.raises(ValueError, match="length"):
        JudgmentTable.from_columns([0, 1], [5, 5, 6], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="left_pick"):
        JudgmentTable.from_columns([0], [0], [1.0], left_pick=[0.5])
    with pytest.raises(ValueError, match="integers"):
        JudgmentTable.from_columns([0.5], [0], [1.0])
    with pytest.raises(ValueError, match="not in value_domain"):
        calibrate(JudgmentTable.from_columns([0, 1], [0, 0], [1.0, 9.0]), SCALE, "ordinal")


# --------------------------------------------------------------------------- planted raters


def _planted_table(seed: int = 7, n_units: int = 300, per_unit: int = 10) -> JudgmentTable:
    """A 7-point pairwise preference scale (1 = A much better, 4 = tie, 7 = B much better).

    A is shown on the left at random. Twelve good raters give the true value (90%) or one
    step off; rater 12 clicks at random, 13 always picks the left side, 14 answers well
    but in under 3 s, 15 adds +1 (capped at 7). Half of the units are gold items.
    """
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, 8, size=n_units).astype(float)
    is_gold = rng.random(n_units) < 0.5
    rows = []
    for unit in range(n_units):
        for rater in rng.choice(16, size=per_unit, replace=False).tolist():
            a_left = bool(rng.random() < 0.5)
            value = float(np.clip(truth[unit] + rng.choice([-1, 0, 1], p=[0.05, 0.9, 0.05]), 1, 7))
            seconds = float(rng.lognormal(np.log(20), 0.5))
            if rater == RANDOM:
                value = float(rng.integers(1, 8))
            elif rater == LEFT:
                strength = float(rng.integers(1, 4))
                value = strength if a_left else 8.0 - strength
            elif rater == FAST:
                seconds = float(rng.uniform(0.5, 2.5))
            elif rater == LENIENT:
                value = min(value + 1.0, 7.0)
            rows.append((rater, unit, value, seconds, a_left))
    rater, unit, value, seconds, a_left = (np.array(column) for column in zip(*rows, strict=True))
    tie = value == 4
    left = np.where(tie, np.nan, ((value < 4) == a_left).astype(float))
    return JudgmentTable.from_columns(
        rater,
        unit,
        value,
        gold=np.where(is_gold[unit], truth[unit], np.nan),
        left_pick=left,
        is_tie=tie,
        seconds=seconds,
        order=np.arange(rater.size)[::-1] * 3,
    )


@pytest.fixture(scope="module")
def planted() -> JudgmentTable:
    return _planted_table()


def test_planted_bad_raters_rank_worst_with_the_right_reasons(planted):
    results = calibrate(planted, SCALE, Level.ORDINAL)
    assert all(isinstance(c, RaterCalibration) for c in results)
    assert sorted(c.rater for c in results) == list(range(16))
    assert [c.score for c in results] == sorted((c.score for c in results), reverse=True)
    assert {c.rater for c in results[:4]} == {RANDOM, LEFT, FAST, LENIENT}
    by_rater = {c.rater: c for c in results}
    reasons = {
        RANDOM: ("gold accuracy", "agrees with others", "alpha is 0."),
        LEFT: ("always picks left",),
        FAST: ("too fast: 100% under 3 s",),
        LENIENT: ("lenient: +0.",),
    }
    for rater, expected in reasons.items():
        for reason in expected:
            assert any(flag.startswith(reason) for flag in by_rater[rater].flags), (rater, by_rater[rater].flags)
    assert by_rater[FAST].flags == ("too fast: 100% under 3 s",)
    for rater in GOOD:
        assert by_rater[rater].flags == (), by_rater[rater]
        assert by_rater[rater].gold.estimate > 0.8 and by_rater[rater].consensus.estimate > 0.8
    assert by_rater[LEFT].position.estimate == 1.0 and by_rater[LEFT].position_p < 1e-10
    assert by_rater[LEFT].tie_rate == 0.0 and by_rater[LENIENT].leniency > 0.75
    assert by_rater[RANDOM].delta_alpha > 0.05  # removing the random clicker raises alpha
    assert all(by_rater[r].delta_alpha < 0 for r in GOOD)
    assert by_rater[FAST].median_seconds < 3 < by_rater[0].median_seconds
    assert all(c.competence is None for c in results)  # Dawid-Skene only for nominal


def _alpha_without(table: JudgmentTable, rater, domain, level):
    keep = table.rater != rater if rater is not None else np.ones(len(table), dtype=bool)
    counts, _ = unit_value_counts(table.unit[keep], table.value[keep], domain)
    return krippendorff_alpha(counts, domain, level).alpha


@pytest.mark.parametrize("level", [level.value for level in Level])
def test_delta_alpha_equals_recomputing_without_the_rater(planted, level):
    # add repeats, unanswered judgments and a unit rated once to exercise the edge cases
    extra = JudgmentTable.from_columns([0, 0, 3, 5, 5], [0, 0, 1, 999, 2], [2.0, 3.0, np.nan, 4.0, 6.0])
    table = JudgmentTable.from_columns(
        np.concatenate([planted.rater, extra.rater]),
        np.concatenate([planted.unit, extra.unit]),
        np.concatenate([planted.value, extra.value]),
    )
    full = _alpha_without(table, None, SCALE, level)
    for c in calibrate(table, SCALE, level):
        assert c.delta_alpha == pytest.approx(_alpha_without(table, c.rater, SCALE, level) - full, abs=1e-10)


def test_nominal_question_gets_competence_and_no_leniency():
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 3, size=200)
    raters, units, values = [], [], []
    for r, accuracy in enumerate([0.95, 0.9, 0.85, 0.8, 0.4]):
        said = np.where(rng.random(200) < accuracy, truth, rng.integers(0, 3, size=200))
        raters.append(np.full(200, r)), units.append(np.arange(200)), values.append(said.astype(float))
    table = JudgmentTable.from_columns(np.concatenate(raters), np.concatenate(units), np.concatenate(values))
    results = {c.rater: c for c in calibrate(table, [0.0, 1.0, 2.0], "nominal")}
    competence = [results[r].competence for r in range(5)]
    assert competence == sorted(competence, reverse=True) and competence[4] < 0.7 < competence[3]
    assert all(c.leniency is None for c in results.values())
    assert calibrate(table, [0.0, 1.0, 2.0], "nominal")[0].rater == 4


def test_hand_computed_figures():
    # rater 0: values 1,1,1,2 (order 0..3); rater 1: 1,2,2,2; rater 2: 2,2 on units 1 and 2
    table = JudgmentTable.from_columns(
        rater=[0, 0, 0, 0, 1, 1, 1, 1, 2, 2],
        unit=[0, 1, 2, 3, 0, 1, 2, 3, 1, 2],
        value=[1, 1, 1, 2, 1, 2, 2, 2, 2, 2],
        gold=[1, 2, 1, 2, 1, 2, 1, 2, np.nan, np.nan],
        left_pick=[1, 1, np.nan, 0, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan],
        is_tie=[False, False, True, False, False, False, False, False, False, False],
        seconds=[1, 10, 2, 30, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan],
    )
    r0 = next(c for c in calibrate(table, [1.0, 2.0], "interval") if c.rater == 0)
    assert (r0.gold.successes, r0.gold.trials) == (3, 4)
    assert r0.drift == pytest.approx(1.0 - 0.5)  # correct: yes, no | yes, yes
    # unit 0: others {1} -> agree; unit 1: others {2,2} -> no; unit 2: others {2,2} -> no; unit 3: {2} -> yes
    assert (r0.consensus.successes, r0.consensus.trials) == (2, 4)
    assert r0.leniency == pytest.approx(np.mean([0.0, -1.0, -1.0, 0.0]))
    assert (r0.position.successes, r0.position.trials) == (2, 3)
    assert r0.tie_rate == pytest.approx(1 / 4)
    assert r0.median_seconds == pytest.approx(6.0) and r0.too_fast_share == pytest.approx(0.5)
    assert r0.straight_lining == pytest.approx(2 / 3)
    assert r0.flags == ()  # fewer than min_judgments_for_flags observations everywhere


def test_tied_mode_counts_as_agreement_and_flags_need_enough_data():
    table = JudgmentTable.from_columns([0, 1, 2], [0, 0, 0], [1.0, 1.0, 2.0])
    r2 = next(c for c in calibrate(table, [1.0, 2.0], "nominal") if c.rater == 2)
    assert (r2.consensus.successes, r2.consensus.trials) == (0, 1)
    r0 = next(c for c in calibrate(table, [1.0, 2.0], "nominal") if c.rater == 0)
    assert (r0.consensus.successes, r0.consensus.trials) == (1, 1)  # others: {1, 2}, a tied mode
    lax = Thresholds(min_judgments_for_flags=1, min_consensus_agreement=0.5)
    assert any("agrees with others 0%" in f for f in calibrate(table, [1.0, 2.0], "nominal", lax)[0].flags)
