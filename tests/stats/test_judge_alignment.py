"""Judge vs human majority: agreement, kappa, alpha, position, length, self-preference,
reliability and flags, checked against hand-worked values and independent computations."""

from __future__ import annotations

import math
import random

import krippendorff
import numpy as np
import pytest

from workbench.stats.binomial import wilson_interval
from workbench.stats.judge_alignment import (
    human_majority,
    judge_agreement,
    left_share,
    position_consistency,
    reliability_diagram,
    side_bias,
)
from workbench.stats.judge_flags import JudgeThresholds, judge_flags


def test_strict_majority_needs_more_than_half():
    assert human_majority([0, 0, 1]) == 0
    assert human_majority([0]) == 0
    assert human_majority([0, 1]) is None
    assert human_majority([0, 0, 1, 2]) is None  # a plurality, not a majority
    assert human_majority([2, 2, 2, 1]) == 2
    assert human_majority([]) is None


def _votes_from_table(table):
    """Items whose human majority and judge answer fill ``table[h][j]`` (three humans agreeing)."""
    votes, judge, item = {}, {}, 0
    for h, row in enumerate(table):
        for j, count in enumerate(row):
            for _ in range(count):
                votes[item], judge[item] = [h, h, 1 - h], j
                item += 1
    return votes, judge


def test_kappa_and_confusion_on_a_hand_worked_table():
    # Rows humans (yes, no), columns judge: [[20, 5], [10, 15]].
    # p_o = 35/50 = 0.7; p_e = 25/50 * 30/50 + 25/50 * 20/50 = 0.5; kappa = 0.2 / 0.5 = 0.4.
    votes, judge = _votes_from_table([[20, 5], [10, 15]])
    result = judge_agreement(votes, judge, 2, n_resamples=200)
    assert result.confusion.tolist() == [[20, 5], [10, 15]]
    assert result.agreement.value == pytest.approx(0.7)
    assert result.kappa.value == pytest.approx(0.4)
    assert result.n_items == 50 and result.n_no_majority == 0
    assert result.agreement.low < 0.7 < result.agreement.high
    assert result.kappa.low < 0.4 < result.kappa.high


def test_items_without_majority_or_without_judge_are_left_out_and_counted():
    votes = {1: [0, 0, 1], 2: [0, 1], 3: [1, 2], 4: [2, 2], 5: [1]}
    judge = {1: 0, 2: 0, 3: 1, 4: 1, 6: 0}
    result = judge_agreement(votes, judge, 3, n_resamples=50)
    assert result.n_items == 2 and result.n_no_majority == 2
    assert result.confusion.tolist() == [[1, 0, 0], [0, 0, 0], [0, 1, 0]]
    assert result.agreement.value == 0.5


def test_alphas_match_the_krippendorff_package_on_the_reliability_matrix():
    rng = random.Random(5)
    votes, judge = {}, {}
    for item in range(40):
        truth = rng.randrange(3)
        votes[item] = [truth if rng.random() < 0.7 else rng.randrange(3) for _ in range(rng.choice([1, 2, 3]))]
        judge[item] = truth if rng.random() < 0.8 else rng.randrange(3)
    result = judge_agreement(votes, judge, 3, n_resamples=100)
    humans = np.full((3, 40), np.nan)
    for item, codes in votes.items():
        humans[: len(codes), item] = codes
    with_judge = np.vstack([humans, [judge[i] for i in range(40)]])
    expected_h = krippendorff.alpha(reliability_data=humans, level_of_measurement="nominal")
    expected_j = krippendorff.alpha(reliability_data=with_judge, level_of_measurement="nominal")
    assert result.alpha_humans.alpha == pytest.approx(expected_h, abs=1e-12)
    assert result.alpha_with_judge.alpha == pytest.approx(expected_j, abs=1e-12)


def test_alpha_hand_worked_two_units():
    # Unit 1: humans 0, 0; unit 2: humans 0, 1; judge 0 on both.
    # Humans alone: o = [[2, 1], [1, 0]] / pairs; n = 4, n_0 = 3, n_1 = 1.
    #   D_o = 2 * 1 (the 0-1 pair of unit 2, both orders, weight 1) = 2
    #   D_e = 2 * n_0 * n_1 / (n - 1) = 6 / 3 = 2  ->  alpha = 1 - 2 / 2 = 0.
    # With the judge: unit 2 = {0, 0, 1}: o_01 = o_10 = 2 * 1 / 2 = 1; n = 6, n_0 = 5, n_1 = 1.
    #   D_o = 2; D_e = 2 * 5 / 5 = 2 -> alpha = 0 again.
    result = judge_agreement({1: [0, 0], 2: [0, 1]}, {1: 0, 2: 0}, 2, n_resamples=10)
    assert result.alpha_humans.alpha == pytest.approx(0.0, abs=1e-12)
    assert result.alpha_with_judge.alpha == pytest.approx(0.0, abs=1e-12)


def test_bootstrap_is_seeded_and_independent_of_row_order():
    rng = random.Random(1)
    items = list(range(200))
    votes = {i: [rng.randrange(2)] * 3 for i in items}
    judge = {i: votes[i][0] if rng.random() < 0.75 else 1 - votes[i][0] for i in items}
    first = judge_agreement(votes, judge, 2, n_resamples=300, seed=4)
    shuffled = items[:]
    rng.shuffle(shuffled)
    second = judge_agreement(
        {i: votes[i] for i in shuffled}, {i: judge[i] for i in reversed(shuffled)}, 2, n_resamples=300, seed=4
    )
    assert (first.agreement, first.kappa) == (second.agreement, second.kappa)
    assert first.alpha_with_judge.ci_low == second.alpha_with_judge.ci_low


def test_bootstrap_interval_of_agreement_is_close_to_the_normal_approximation():
    # 300 of 400 items agree: the percentile bootstrap of a mean is close to p ± 1.96 sqrt(p q / n).
    votes = {i: [0, 0, 0] for i in range(400)}
    judge = {i: 0 if i < 300 else 1 for i in range(400)}
    result = judge_agreement(votes, judge, 2, n_resamples=2000, seed=0)
    half = 1.959964 * math.sqrt(0.75 * 0.25 / 400)
    assert result.agreement.low == pytest.approx(0.75 - half, abs=0.01)
    assert result.agreement.high == pytest.approx(0.75 + half, abs=0.01)
    # Humans used one category only: p_e = (400 * 300) / 400**2 = 0.75 = p_o, so kappa is 0.
    assert result.kappa.value == pytest.approx(0.0)


def test_position_consistency_and_left_share():
    pairs = {1: (0, 0), 2: (1, 1), 3: (0, 1), 4: (2, 2)}
    consistency = position_consistency(pairs)
    assert (consistency.successes, consistency.trials) == (3, 4)
    # 9 left picks of 10: two-sided p = 2 * (C(10,9) + C(10,10)) / 2**10 = 22 / 1024.
    share = left_share([0] * 9 + [1], [0] * 10)
    assert share.share.estimate == 0.9
    assert share.p_value == pytest.approx(22 / 1024)
    stats = pytest.importorskip("scipy.stats")
    chosen = [0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1]
    left = [1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 1, 1]
    picks = sum(c == lf for c, lf in zip(chosen, left, strict=True))
    assert left_share(chosen, left).p_value == pytest.approx(stats.binomtest(picks, 12, 0.5).pvalue)


def test_side_bias_compares_shares():
    bias = side_bias([True, True, True, False], [True, False, False, False, True, False], n_items=4)
    assert bias.judge.estimate == 0.75 and bias.humans.estimate == pytest.approx(2 / 6)
    assert bias.difference == pytest.approx(0.75 - 2 / 6)
    assert side_bias([], [True], n_items=0).difference is None


def test_reliability_diagram_and_ece_hand_worked():
    conf = [0.95, 0.95, 0.85, 0.55, 0.55, 0.55, 0.55, 1.0, 0.0]
    agrees = [1, 0, 1, 1, 1, 0, 0, 1, 0]
    diagram = reliability_diagram(conf, agrees, n_bins=10)
    by_bin = {round(b.low, 1): b for b in diagram.bins if b.n}
    assert by_bin[0.9].n == 3 and by_bin[0.9].mean_confidence == pytest.approx((0.95 + 0.95 + 1.0) / 3)
    assert by_bin[0.9].agreement == pytest.approx(2 / 3)
    assert by_bin[0.0].n == 1 and by_bin[0.5].n == 4
    # |2/3 - 0.9667| * 3 + |1 - 0.85| * 1 + |0.5 - 0.55| * 4 + |0 - 0| * 1, over 9.
    expected = (3 * abs(2 / 3 - 2.9 / 3) + 0.15 + 4 * 0.05) / 9
    assert diagram.ece == pytest.approx(expected)
    assert reliability_diagram([], []).ece is None


def _figures(**over):
    votes, judge = _votes_from_table([[22, 3], [5, 20]])  # kappa 0.68
    base = {
        "agreement": judge_agreement(votes, judge, 2, n_resamples=20),
        "consistency": wilson_interval(20, 20),
        "left": left_share([0, 1] * 10, [0] * 20),
        "length": side_bias([True] * 10 + [False] * 10, [True] * 10 + [False] * 10, 20),
        "self_preference": None,
        "reliability": reliability_diagram([0.8] * 20, [True] * 16 + [False] * 4),
    }
    base.update(over)
    return base


def test_flags_fire_past_their_thresholds_only():
    assert judge_flags(**_figures()) == ()
    votes, judge = _votes_from_table([[15, 10], [10, 15]])  # kappa 0.2
    flags = judge_flags(
        **_figures(
            agreement=judge_agreement(votes, judge, 2, n_resamples=20),
            consistency=wilson_interval(16, 20),
            left=left_share([0] * 18 + [1] * 2, [0] * 20),
            length=side_bias([True] * 18 + [False] * 2, [True] * 10 + [False] * 10, 20),
            self_preference=side_bias([True] * 15 + [False] * 5, [True] * 10 + [False] * 10, 20),
            reliability=reliability_diagram([0.95] * 20, [True] * 12 + [False] * 8),
        )
    )
    text = " | ".join(flags)
    for words in (
        "kappa 0.20",
        "80% of verdicts survive",
        "favours the left",
        "longer response",
        "own model",
        "ECE 0.35",
    ):
        assert words in text, text
    small = JudgeThresholds(min_items=100)
    assert judge_flags(**_figures(consistency=wilson_interval(16, 20)), t=small) == ()


def test_alpha_drop_flag():
    # Humans agree perfectly on 20 items (10 A, 10 B); a judge answering at random-ish
    # (wrong on 8) lowers alpha from 1.0: the flag names both values.
    votes = {i: [i % 2] * 3 for i in range(20)}
    judge = {i: (i % 2) if i >= 8 else 1 - i % 2 for i in range(20)}
    agreement = judge_agreement(votes, judge, 2, n_resamples=20)
    assert agreement.alpha_humans.alpha == pytest.approx(1.0)
    assert agreement.alpha_with_judge.alpha < 0.95
    flags = judge_flags(**_figures(agreement=agreement))
    assert any(f.startswith("alpha falls from 1.00 to") for f in flags), flags
