"""Pairwise statistics: Bradley–Terry against planted strengths and an independent Newton fit,
bootstrap coverage, win matrices, CI ranks, and Cohen's kappa against published values."""

from __future__ import annotations

import csv
import math
import time
from pathlib import Path

import numpy as np
import pytest

from workbench.domain import PairChoice
from workbench.stats.agreement_pairs import agreement_between, cohens_kappa, percent_agreement
from workbench.stats.pairwise import (
    OUTCOME_OF_CHOICE,
    Leaderboard,
    bradley_terry,
    bradley_terry_from_counts,
    elo_scale,
    leaderboard,
    ranks_from_intervals,
    win_matrix,
    win_rate,
)

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reliability"
PLANTED = np.linspace(-1.5, 1.5, 8)  # already centred


# --------------------------------------------------------------------------- helpers


def simulate(theta: np.ndarray, per_pair: int, rng: np.random.Generator, tie_share: float = 0.3):
    """``per_pair`` comparisons of every pair, sides shuffled, from Bradley–Terry with ties.

    A comparison is a tie with probability ``t = 2 * tie_share * min(p, 1 - p)`` and a win
    for ``a`` with probability ``p - t / 2``, so the expected score of ``a`` is exactly
    ``p = sigmoid(theta_a - theta_b)``: the model that "ties as half wins" estimates.
    """
    m = theta.size
    i, j = np.triu_indices(m, k=1)
    first = np.repeat(i, per_pair)
    second = np.repeat(j, per_pair)
    swap = rng.random(first.size) < 0.5
    a = np.where(swap, second, first)
    b = np.where(swap, first, second)
    p = 1.0 / (1.0 + np.exp(-(theta[a] - theta[b])))
    tie = 2.0 * tie_share * np.minimum(p, 1.0 - p)
    u = rng.random(a.size)
    outcome = np.where(u < p - tie / 2.0, 1.0, np.where(u < p + tie / 2.0, 0.5, 0.0))
    return a, b, outcome


def newton_fit(wins: np.ndarray, games: np.ndarray, prior: float) -> np.ndarray:
    """Reference fit: Newton's method on the same regularised log-likelihood, centred.

    ``L = sum_ij wins_ij log sigmoid(t_i - t_j) + prior * sum_i (t_i / 2 - log(1 + e^t_i))``
    (``prior`` virtual ties against an opponent of strength 0). With ``prior == 0``,
    ``t_0`` is pinned at 0 to remove the shift invariance.
    """
    m = wins.shape[0]
    theta = np.zeros(m)
    free = np.arange(m) if prior else np.arange(1, m)
    for _ in range(100):
        sig = 1.0 / (1.0 + np.exp(-(theta[:, None] - theta[None, :])))
        grad = wins.sum(axis=1) - (games * sig).sum(axis=1)
        curv = games * sig * (1.0 - sig)
        hess = curv - np.diag(curv.sum(axis=1))
        if prior:
            own = 1.0 / (1.0 + np.exp(-theta))
            grad += prior * (0.5 - own)
            hess -= np.diag(prior * own * (1.0 - own))
        step = np.linalg.solve(hess[np.ix_(free, free)], grad[free])
        theta[free] -= step
        if np.abs(step).max() < 1e-14:
            break
    return theta - theta.mean()


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    rx = np.argsort(np.argsort(x)).astype(float)
    ry = np.argsort(np.argsort(y)).astype(float)
    return float(np.corrcoef(rx, ry)[0, 1])


def unsort(board: Leaderboard, values: np.ndarray) -> np.ndarray:
    """Per-model values of a leaderboard back in the caller's model order."""
    out = np.empty_like(values)
    out[board.model_index] = values
    return out


# --------------------------------------------------------------------------- Bradley–Terry


def test_planted_strengths_are_recovered():
    rng = np.random.default_rng(20240601)
    a, b, outcome = simulate(PLANTED, 200, rng)
    assert 0.1 < (outcome == 0.5).mean() < 0.3  # the data really has ties
    est = bradley_terry(a, b, outcome, PLANTED.size)
    assert abs(est.mean()) < 1e-12
    assert spearman(est, PLANTED) == 1.0
    assert np.all(np.diff(est) > 0)  # every adjacent pair in planted order
    assert np.abs(est - PLANTED).max() < 0.2
    # The default regularisation is weak: 1400 games per model, shift well under 0.01.
    mle = bradley_terry(a, b, outcome, PLANTED.size, prior=0.0)
    assert np.abs(est - mle).max() < 0.01
    assert np.abs(est - mle).max() > 0  # but it is there


def test_outcome_one_means_a_won():
    a = np.array([0, 0, 0, 1])
    b = np.array([1, 1, 1, 0])
    outcome = np.array([1.0, 1.0, 1.0, 0.0])  # model 0 won all four, as a and as b
    est = bradley_terry(a, b, outcome, 2)
    assert est[0] > 0 > est[1]
    assert OUTCOME_OF_CHOICE[PairChoice.A] == 1.0
    assert OUTCOME_OF_CHOICE[PairChoice.B] == 0.0
    assert OUTCOME_OF_CHOICE[PairChoice.TIE] == 0.5


@pytest.mark.parametrize("prior", [1.0, 0.5, 3.0])
def test_mm_matches_newton_on_regularised_likelihood(prior):
    # Model 0 never loses, model 3 never wins: no MLE without the prior.
    a = np.array([0, 0, 1, 1, 2, 2, 0, 1, 2, 3, 1, 2])
    b = np.array([1, 2, 2, 2, 1, 3, 3, 3, 3, 1, 2, 1])
    outcome = np.array([1.0, 1.0, 1.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.5])
    wins, games = win_matrix(a, b, outcome, 4)
    assert wins[:, 0].sum() == 0 and wins[3].sum() == 0
    with pytest.raises(ValueError, match="MLE does not exist"):
        bradley_terry(a, b, outcome, 4, prior=0.0)
    expected = newton_fit(wins, games, prior)
    got = bradley_terry(a, b, outcome, 4, prior=prior)
    np.testing.assert_allclose(got, expected, atol=1e-8)
    np.testing.assert_allclose(bradley_terry_from_counts(wins, games, prior=prior), expected, atol=1e-8)


def test_mm_matches_newton_mle_without_prior():
    rng = np.random.default_rng(7)
    theta = np.array([0.8, -0.3, 0.1, -0.6, 0.0])
    a, b, outcome = simulate(theta, 30, rng)
    wins, games = win_matrix(a, b, outcome, theta.size)
    np.testing.assert_allclose(
        bradley_terry(a, b, outcome, theta.size, prior=0.0), newton_fit(wins, games, 0.0), atol=1e-8
    )


def test_only_ties_give_equal_strengths():
    rng = np.random.default_rng(3)
    a, b, _ = simulate(np.zeros(5), 20, rng)
    outcome = np.full(a.size, 0.5)
    np.testing.assert_allclose(bradley_terry(a, b, outcome, 5), 0.0, atol=1e-9)
    board = leaderboard(list("vwxyz"), a, b, outcome, n_resamples=50)
    np.testing.assert_allclose(board.strength, 0.0, atol=1e-9)
    np.testing.assert_allclose([board.ci_low, board.ci_high], 0.0, atol=1e-9)
    assert board.rank.tolist() == [1] * 5  # noise of order tol must not split ranks
    assert board.n_ties == board.n_comparisons == a.size


def test_always_winner_gets_finite_largest_strength():
    rng = np.random.default_rng(11)
    a, b, outcome = simulate(np.array([0.0, 0.4, -0.2, 0.3]), 40, rng)
    # Model 0 won every one of its comparisons, on either side.
    involved = (a == 0) | (b == 0)
    outcome = np.where(involved, np.where(a == 0, 1.0, 0.0), outcome)
    est = bradley_terry(a, b, outcome, 4)
    assert np.isfinite(est).all()
    assert est.argmax() == 0 and est[0] > np.sort(est)[-2] + 1.0
    # The plain MLE does not exist and says so.
    with pytest.raises(ValueError, match="MLE does not exist"):
        bradley_terry(a, b, outcome, 4, prior=0.0)
    # Many games won outright: MM alone would crawl; the fit still converges (no warning).
    many = bradley_terry(np.zeros(10_000, int), np.ones(10_000, int), np.ones(10_000), 2)
    assert np.isfinite(many).all() and many[0] > 4.0


def test_disconnected_graph_is_finite_and_reported():
    a = np.array([0, 0, 1, 2, 2, 3])
    b = np.array([1, 1, 0, 3, 3, 2])
    outcome = np.array([1.0, 1.0, 0.0, 1.0, 0.5, 0.0])
    board = leaderboard(["a", "b", "c", "d", "never"], a, b, outcome, n_resamples=100)
    assert np.isfinite(board.strength).all()
    assert board.n_components == 3
    assert "3 components" in board.method
    strength = dict(zip(board.models, board.strength, strict=True))
    assert strength["a"] > strength["b"] and strength["c"] > strength["d"]
    # A model that never played sits at the prior's centre: the uncentred 0.
    never = strength["never"]
    np.testing.assert_allclose(never, -np.mean(board.strength - never), atol=1e-9)


def test_input_validation():
    with pytest.raises(ValueError, match="itself"):
        bradley_terry([0, 1], [0, 0], [1.0, 1.0], 2)
    with pytest.raises(ValueError, match="outside"):
        bradley_terry([0, 2], [1, 0], [1.0, 1.0], 2)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        win_matrix([0], [1], [2.0], 2)
    with pytest.raises(ValueError, match="one length"):
        win_matrix([0, 1], [1], [1.0], 2)
    with pytest.raises(ValueError, match="unique"):
        leaderboard(["x", "x"], [0], [1], [1.0])
    with pytest.raises(ValueError, match="prior > 0"):
        leaderboard(["x", "y"], [0], [1], [1.0], prior=0.0)


# --------------------------------------------------------------------------- win matrix


def test_win_matrix_counts_ties_as_half_wins():
    a = np.array([0, 1, 0, 2, 2, 0])
    b = np.array([1, 0, 1, 0, 1, 2])
    outcome = np.array([1.0, 1.0, 0.5, 0.0, 0.5, 1.0])
    wins, games = win_matrix(a, b, outcome, 4)
    np.testing.assert_array_equal(
        wins,
        [[0.0, 1.5, 2.0, 0.0], [1.5, 0.0, 0.5, 0.0], [0.0, 0.5, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]],
    )
    np.testing.assert_array_equal(games, [[0, 3, 2, 0], [3, 0, 1, 0], [2, 1, 0, 0], [0, 0, 0, 0]])
    assert games.dtype == np.int64
    np.testing.assert_array_equal(wins + wins.T, games)
    rate = win_rate(wins, games)
    assert rate.mask.tolist() == (games == 0).tolist()
    assert rate[0, 1] == 0.5 and rate[0, 2] == 1.0
    assert not np.isnan(rate.data).any()
    assert rate.tolist()[3] == [None, None, None, None]  # JSON-ready


def test_counts_equal_expanded_rows():
    a = np.array([0, 1, 2, 0])
    b = np.array([1, 0, 1, 2])
    outcome = np.array([1.0, 0.5, 0.0, 1.0])
    counts = np.array([3, 2, 4, 1])
    expanded = [np.repeat(x, counts) for x in (a, b, outcome)]
    w1, g1 = win_matrix(a, b, outcome, 3, counts=counts)
    w2, g2 = win_matrix(*expanded, 3)
    np.testing.assert_array_equal(w1, w2)
    np.testing.assert_array_equal(g1, g2)
    grouped = leaderboard(["p", "q", "r"], a, b, outcome, counts=counts, n_resamples=200, seed=5)
    rows = leaderboard(["p", "q", "r"], *expanded, n_resamples=200, seed=5)
    # Same cells, same draws: identical results, not just similar.
    for field in ("strength", "ci_low", "ci_high", "rank", "wins", "games"):
        np.testing.assert_array_equal(getattr(grouped, field), getattr(rows, field))
    assert grouped.n_comparisons == rows.n_comparisons == counts.sum()
    assert grouped.n_ties == 2


# --------------------------------------------------------------------------- ranks


def test_ranks_from_intervals_hand_made():
    low = np.array([0.5, 0.4, -1.0, -2.0, 0.6])
    high = np.array([1.0, 0.6, 0.45, -1.5, 0.6])
    # model 2: lows above 0.45 are 0.5 and 0.6 -> rank 3; model 3: four lows above -1.5.
    assert ranks_from_intervals(low, high).tolist() == [1, 1, 3, 5, 1]
    assert ranks_from_intervals(low, high).dtype == np.int64
    # Touching is not above; atol widens "not above".
    assert ranks_from_intervals([1.0, 0.0], [2.0, 1.0]).tolist() == [1, 1]
    assert ranks_from_intervals([1.0 + 1e-12, 0.0], [2.0, 1.0]).tolist() == [1, 2]
    assert ranks_from_intervals([1.0 + 1e-12, 0.0], [2.0, 1.0], atol=1e-9).tolist() == [1, 1]
    with pytest.raises(ValueError):
        ranks_from_intervals([1.0], [0.0])


# --------------------------------------------------------------------------- leaderboard


def test_leaderboard_sorted_and_aligned():
    rng = np.random.default_rng(99)
    theta = np.array([-0.5, 1.2, 0.1, -1.4])
    names = ["low", "top", "mid", "bottom"]
    a, b, outcome = simulate(theta, 150, rng)
    lengths = np.array([10.0, 20.0, 30.0, 5.0, 7.0])
    length_model = np.array([1, 1, 0, 2, 2])  # "bottom" wrote no response
    board = leaderboard(names, a, b, outcome, n_resamples=200, lengths=lengths, length_model=length_model)
    assert board.models == ("top", "mid", "low", "bottom")
    assert board.model_index.tolist() == [1, 2, 0, 3]
    assert np.all(np.diff(board.strength) < 0)
    assert np.all(board.ci_low <= board.strength) and np.all(board.strength <= board.ci_high)
    assert board.rank.tolist() == [1, 2, 3, 4]
    wins, games = win_matrix(a, b, outcome, 4)
    order = board.model_index
    np.testing.assert_array_equal(board.wins, wins[np.ix_(order, order)])
    np.testing.assert_array_equal(board.games, games[np.ix_(order, order)])
    assert board.wins[0, 3] == wins[1, 3]  # "top" over "bottom"
    np.testing.assert_allclose(unsort(board, board.strength), bradley_terry(a, b, outcome, 4))
    assert board.mean_length.tolist() == [15.0, 6.0, 30.0, None]
    assert board.n_comparisons == a.size and board.n_ties == int((outcome == 0.5).sum())
    assert board.n_components == 1 and board.n_resamples == 200 and board.ci_level == 0.95
    for phrase in ("half a win", "virtual tied", "percentile bootstrap", "200 resamples"):
        assert phrase in board.method
    np.testing.assert_allclose(board.elo, 400.0 / math.log(10.0) * board.strength + 1000.0)
    with pytest.raises(ValueError):
        board.strength[0] = 0.0  # read-only


def test_elo_scale():
    np.testing.assert_allclose(elo_scale([0.0, math.log(10.0)]), [1000.0, 1400.0])


def test_leaderboard_is_deterministic_for_a_seed():
    rng = np.random.default_rng(1)
    a, b, outcome = simulate(PLANTED[:5], 30, rng)
    names = list("abcde")
    first = leaderboard(names, a, b, outcome, n_resamples=300, seed=42)
    again = leaderboard(names, a, b, outcome, n_resamples=300, seed=42)
    other = leaderboard(names, a, b, outcome, n_resamples=300, seed=43)
    np.testing.assert_array_equal(first.ci_low, again.ci_low)
    np.testing.assert_array_equal(first.ci_high, again.ci_high)
    assert not np.array_equal(first.ci_low, other.ci_low)
    np.testing.assert_array_equal(first.strength, other.strength)  # point estimate has no randomness


def test_bootstrap_matches_naive_row_resampling():
    """Multinomial draws over merged cells must behave like resampling rows with replacement."""
    rng = np.random.default_rng(5)
    theta = np.array([0.6, 0.0, -0.2, -0.4])
    a, b, outcome = simulate(theta, 60, rng)
    board = leaderboard(list("abcd"), a, b, outcome, n_resamples=1000, seed=1)
    naive_rng = np.random.default_rng(2)
    naive = np.array(
        [
            bradley_terry(a[idx], b[idx], outcome[idx], 4)
            for idx in (naive_rng.integers(0, a.size, a.size) for _ in range(400))
        ]
    )
    lo, hi = np.quantile(naive, [0.025, 0.975], axis=0)
    width_naive = hi - lo
    width_board = unsort(board, board.ci_high - board.ci_low)
    np.testing.assert_allclose(width_board, width_naive, rtol=0.2)


def test_ci_coverage_near_nominal():
    rng = np.random.default_rng(2024)
    names = [f"m{i}" for i in range(PLANTED.size)]
    covered = total = 0
    for dataset in range(120):
        a, b, outcome = simulate(PLANTED, 25, rng)
        board = leaderboard(names, a, b, outcome, n_resamples=200, seed=dataset)
        low = unsort(board, board.ci_low)
        high = unsort(board, board.ci_high)
        covered += int(((low <= PLANTED) & (PLANTED <= high)).sum())
        total += PLANTED.size
    share = covered / total
    assert 0.85 <= share <= 0.99, share


def test_leaderboard_speed_100k_comparisons():
    rng = np.random.default_rng(0)
    theta = np.linspace(-1.0, 1.0, 10)
    m = theta.size
    a = rng.integers(0, m, 100_000)
    b = (a + rng.integers(1, m, a.size)) % m
    p = 1.0 / (1.0 + np.exp(-(theta[a] - theta[b])))
    outcome = (rng.random(a.size) < p).astype(float)
    start = time.perf_counter()
    board = leaderboard([f"m{i}" for i in range(m)], a, b, outcome, n_resamples=1000)
    elapsed = time.perf_counter() - start
    assert elapsed < 10.0, elapsed  # about 0.1 s on a laptop; this only catches a blow-up
    assert "0 resample fit(s) stopped" in board.method


def test_no_comparisons():
    board = leaderboard(["x", "y"], np.array([], int), np.array([], int), np.array([]), n_resamples=10)
    assert board.strength.tolist() == [0.0, 0.0] and board.rank.tolist() == [1, 1]
    assert board.n_comparisons == 0 and board.win_rate.mask.all()


# --------------------------------------------------------------------------- agreement


def _published_tables() -> dict[str, np.ndarray]:
    path = REFERENCE / "krippendorff-2004-p246-contingency.csv"
    if not path.is_file():
        pytest.fail(f"reference data missing: {path}")
    tables: dict[str, np.ndarray] = {}
    categories = ["a", "b", "c"]
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            table = tables.setdefault(row["table"], np.zeros((3, 3), dtype=np.int64))
            table[categories.index(row["coder1"]), categories.index(row["coder2"])] = int(row["count"])
    return tables


@pytest.mark.parametrize(("name", "kappa"), [("4a", 0.186), ("4b", 0.258)])
def test_cohens_kappa_published(name, kappa):
    table = _published_tables()[name]
    assert cohens_kappa(table) == pytest.approx(kappa, abs=1e-3)
    assert percent_agreement(table) == pytest.approx(0.460, abs=1e-3)


def test_agreement_between_rebuilds_the_published_table():
    table = _published_tables()["4b"]
    outcome_of = np.array([1.0, 0.5, 0.0])
    g, h = np.nonzero(np.ones((3, 3)))
    reps = table[g, h]
    first = np.repeat(outcome_of[g], reps)
    second = np.repeat(outcome_of[h], reps)
    result = agreement_between(first, second)
    np.testing.assert_array_equal(result.contingency, table)
    assert result.n_units == 100
    assert result.kappa == pytest.approx(0.258, abs=1e-3)
    assert result.percent_agreement == pytest.approx(0.460, abs=1e-3)
    assert result.labels == ("A", "tie", "B")


def test_agreement_edge_cases():
    perfect = agreement_between([1.0, 0.0, 0.5, 1.0], [1.0, 0.0, 0.5, 1.0])
    assert perfect.kappa == pytest.approx(1.0) and perfect.percent_agreement == 1.0
    constant = agreement_between([1.0, 1.0], [1.0, 1.0])
    assert constant.kappa is None and constant.percent_agreement == 1.0
    empty = agreement_between([], [])
    assert empty.kappa is None and empty.percent_agreement is None
    with pytest.raises(ValueError, match="only 1.0"):
        agreement_between([0.7], [1.0])
    with pytest.raises(ValueError, match="one length"):
        agreement_between([1.0, 0.0], [1.0])


def test_non_convergence_warns():
    rng = np.random.default_rng(8)
    a, b, outcome = simulate(PLANTED, 20, rng)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        bradley_terry(a, b, outcome, PLANTED.size, max_iter=2)
