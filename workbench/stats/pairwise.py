"""Pairwise preferences: win matrices, Bradley–Terry strengths, a bootstrapped leaderboard.

Agreement between two populations on the same pairs (Cohen's kappa) is in ``agreement_pairs``.

Everything here works in the **canonical orientation** (DESIGN.md §5): a comparison is a
row ``(a[i], b[i], outcome[i])`` of model indices and the score of ``a`` — 1.0 when ``a``
(the item's first response) won, 0.0 when ``b`` won, 0.5 for a tie. Any score in
``[0, 1]`` is accepted and treated as a fractional win (``n_ties`` counts exactly 0.5).

Statistics in brief
-------------------
**Ties as half wins.** A comparison with score ``s`` adds ``s`` to the wins of ``a`` over
``b`` and ``1 - s`` to the wins of ``b`` over ``a``; a tie is half a win each. Bradley–Terry
(``P(i beats j) = p_i / (p_i + p_j)``, ``theta = log p``) is then fitted to these
fractional wins. This is the usual quasi-likelihood treatment (as in LMSYS's Chatbot Arena):
it is consistent for ``theta`` whenever a comparison's expected score is
``p_i / (p_i + p_j)``, ties included, but it does not model the tie rate itself.

**Regularisation.** Without it a model that never wins (never loses) has strength -inf
(+inf), and the MLE exists only when the "beats" graph is strongly connected (Hunter 2004,
Assumption 1). Every model therefore also plays ``prior`` *virtual games*, each scored as a
tie, against a fixed reference opponent of log-strength 0 (default ``prior=1.0``: one
virtual tie = half a win and half a loss). This is a proper, symmetric, log-concave prior
``density(theta_i) ∝ sech(theta_i / 2) ** prior`` on each log-strength (Laplace-like tails,
so it is weak: it moves a model with 1400 real games by well under 0.01), the fitted
objective is strictly concave and has a unique finite maximiser, and a model that always
wins gets a finite, largest strength. ``prior=0`` gives the plain MLE and raises
``ValueError`` when that does not exist.

**Disconnected comparison graphs.** With ``prior > 0`` every component is tied to the same
reference opponent, so every model gets a finite strength and each component is shrunk
toward log-strength 0; models that never played sit at 0 (before centring). Strengths are
comparable *within* a component only: the offset *between* components comes from the prior
alone, not from data. :class:`Leaderboard` reports ``n_components``; treat cross-component
order as unknown when it is above 1.

**Fitting** (Hunter's MM with SQUAREM) and the vectorised **bootstrap** are in
``bradley_terry_fit``; input checks and graph reachability in ``pairwise_inputs``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Sequence

import numpy as np

from workbench.domain import PairChoice

from .bradley_terry_fit import bootstrap_strengths, fit_strengths
from .pairwise_inputs import (
    centre,
    check_comparisons,
    check_fit_options,
    check_n_models,
    count_components,
    frozen,
    frozen_masked,
    mean_lengths,
    require_mle,
)

__all__ = [
    "ELO_BASE",
    "ELO_SCALE",
    "OUTCOME_OF_CHOICE",
    "Leaderboard",
    "bradley_terry",
    "bradley_terry_from_counts",
    "elo_scale",
    "leaderboard",
    "ranks_from_intervals",
    "win_matrix",
    "win_rate",
]

#: Canonical pairwise choice -> outcome score of response A.
OUTCOME_OF_CHOICE: dict[PairChoice, float] = {PairChoice.A: 1.0, PairChoice.TIE: 0.5, PairChoice.B: 0.0}

#: Elo-like display scale: ``ELO_SCALE / ln(10) * strength + ELO_BASE``.
ELO_SCALE = 400.0
ELO_BASE = 1000.0


# --------------------------------------------------------------------------- results


@dataclasses.dataclass(frozen=True, eq=False)
class Leaderboard:
    """Bradley–Terry leaderboard; every per-model array is in the order of ``models``.

    Rows are sorted by ``strength`` descending (stable, so equal strengths keep input
    order); ``model_index`` maps each row back to the caller's model index. ``strength``,
    ``ci_low`` and ``ci_high`` are natural-log strengths centred to mean 0 (use
    :func:`elo_scale` for display). ``wins[i, j]`` is the (fractional) wins of row ``i``
    over row ``j``; ``games[i, j]`` the comparisons between them (symmetric). ``mean_length``
    is a masked array (masked where a model has no response lengths) or ``None`` when no
    lengths were given. All arrays are read-only.
    """

    models: tuple[str, ...]
    model_index: np.ndarray
    strength: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    rank: np.ndarray
    wins: np.ndarray
    games: np.ndarray
    n_comparisons: int
    n_ties: int
    n_components: int
    mean_length: np.ma.MaskedArray | None
    ci_level: float
    n_resamples: int
    method: str

    @property
    def win_rate(self) -> np.ma.MaskedArray:
        """``wins / games``, masked where two models never met (see :func:`win_rate`)."""
        return win_rate(self.wins, self.games)

    @property
    def elo(self) -> np.ndarray:
        return elo_scale(self.strength)

    @property
    def elo_ci_low(self) -> np.ndarray:
        return elo_scale(self.ci_low)

    @property
    def elo_ci_high(self) -> np.ndarray:
        return elo_scale(self.ci_high)


# --------------------------------------------------------------------------- public API


def win_matrix(a, b, outcome, n_models: int, *, counts=None) -> tuple[np.ndarray, np.ndarray]:
    """Aggregate comparisons into ``(wins, games)``, both ``(n_models, n_models)``.

    ``wins[i, j]`` (float) sums the scores of ``i`` against ``j`` — ties count half to each —
    and ``games[i, j]`` (int64, symmetric) counts their comparisons, so
    ``wins + wins.T == games``. ``counts`` (optional, non-negative integers) makes row ``k``
    stand for ``counts[k]`` identical comparisons, for input already grouped in SQL.
    Use :func:`win_rate` for ``wins / games`` without NaN.
    """
    m = check_n_models(n_models)
    ai, bi, s, w = check_comparisons(a, b, outcome, m, counts)
    wf = w.astype(np.float64)
    flat_ab = ai * m + bi
    flat_ba = bi * m + ai
    wins = np.bincount(flat_ab, weights=wf * s, minlength=m * m) + np.bincount(
        flat_ba, weights=wf * (1.0 - s), minlength=m * m
    )
    games = np.bincount(flat_ab, weights=w, minlength=m * m) + np.bincount(flat_ba, weights=w, minlength=m * m)
    return wins.reshape(m, m), np.rint(games).astype(np.int64).reshape(m, m)


def win_rate(wins, games) -> np.ma.MaskedArray:
    """``wins / games`` as a masked array, masked where ``games == 0`` (never NaN).

    Masked cells hold 0.0 underneath; ``.tolist()`` turns them into ``None`` (JSON-ready),
    ``.filled(x)`` into ``x``.
    """
    wins = np.asarray(wins, dtype=np.float64)
    games = np.asarray(games)
    if wins.shape != games.shape:
        raise ValueError(f"wins and games differ in shape: {wins.shape} vs {games.shape}")
    played = games > 0
    rate = np.divide(wins, games, out=np.zeros(wins.shape), where=played)
    return np.ma.MaskedArray(rate, mask=~played)


def bradley_terry(
    a,
    b,
    outcome,
    n_models: int,
    *,
    max_iter: int = 1000,
    tol: float = 1e-10,
    prior: float = 1.0,
    counts=None,
) -> np.ndarray:
    """Bradley–Terry log-strengths (natural log, centred to mean 0), shape ``(n_models,)``.

    Fits the comparisons ``(a[i], b[i], outcome[i])`` — ties as half wins — with the MM
    algorithm and the ``prior`` virtual tied games per model described in the module
    docstring. ``prior=0`` is the plain MLE and raises ``ValueError`` unless it exists.
    Emits a ``RuntimeWarning`` if ``max_iter`` MM steps pass before one moves no
    log-strength by ``tol`` or more.
    """
    wins, games = win_matrix(a, b, outcome, n_models, counts=counts)
    return bradley_terry_from_counts(wins, games, max_iter=max_iter, tol=tol, prior=prior)


def bradley_terry_from_counts(
    wins, games, *, max_iter: int = 1000, tol: float = 1e-10, prior: float = 1.0
) -> np.ndarray:
    """:func:`bradley_terry` on an already aggregated ``(wins, games)`` (see :func:`win_matrix`)."""
    wins = np.asarray(wins, dtype=np.float64)
    games = np.asarray(games, dtype=np.float64)
    if wins.ndim != 2 or wins.shape[0] != wins.shape[1] or games.shape != wins.shape:
        raise ValueError(f"wins and games must be square matrices of one shape, got {wins.shape} and {games.shape}")
    if not (np.isfinite(wins).all() and np.isfinite(games).all()) or (wins < 0).any():
        raise ValueError("wins must be finite and non-negative")
    if not np.allclose(games, games.T) or not np.allclose(wins + wins.T, games):
        raise ValueError("games must be symmetric and equal wins + wins.T")
    prior, max_iter, tol = check_fit_options(prior, max_iter, tol)
    if prior == 0.0:
        require_mle(wins, games)
    return centre(fit_strengths(wins, games, prior, max_iter, tol))


def ranks_from_intervals(low, high, *, atol: float = 0.0) -> np.ndarray:
    """Rank = 1 + the number of models whose lower bound is above this model's upper bound.

    "Above" means by more than ``atol`` (default 0: strictly above), so that bounds equal
    up to numerical noise count as overlapping. Models whose intervals overlap can share a
    rank, and ranks need not be consecutive (1, 1, 3, ...); the best rank is 1. Returns int64.
    """
    low = np.asarray(low, dtype=np.float64)
    high = np.asarray(high, dtype=np.float64)
    if low.ndim != 1 or low.shape != high.shape:
        raise ValueError(f"low and high must be 1-D of one length, got {low.shape} and {high.shape}")
    if np.isnan(low).any() or np.isnan(high).any() or (low > high).any():
        raise ValueError("intervals must be non-NaN with low <= high")
    if not atol >= 0:
        raise ValueError(f"atol must be >= 0, got {atol!r}")
    return 1 + (low[None, :] > high[:, None] + atol).sum(axis=1, dtype=np.int64)


def elo_scale(strength, *, scale: float = ELO_SCALE, base: float = ELO_BASE) -> np.ndarray:
    """Natural-log strengths on an Elo-like display scale: ``scale / ln 10 * strength + base``.

    With the defaults, 400 points = odds of 10:1, as in Elo; differences only are meaningful.
    """
    return scale / math.log(10.0) * np.asarray(strength, dtype=np.float64) + base


def leaderboard(
    models: Sequence[str],
    a,
    b,
    outcome,
    *,
    n_resamples: int = 1000,
    seed: int | None = 0,
    ci_level: float = 0.95,
    lengths: np.ndarray | None = None,
    length_model: np.ndarray | None = None,
    counts: np.ndarray | None = None,
    prior: float = 1.0,
    max_iter: int = 1000,
    tol: float = 1e-10,
) -> Leaderboard:
    """Bradley–Terry strengths of ``models`` with percentile bootstrap CIs and CI-based ranks.

    ``a``/``b`` index into ``models``; ``outcome`` is the score of ``a`` (1 won, 0 lost,
    0.5 tie) in canonical orientation. ``counts`` optionally weights each row as that many
    identical comparisons (e.g. a SQL ``GROUP BY a, b, outcome``); the bootstrap then
    resamples the underlying comparisons, exactly as if the rows had been expanded.
    ``lengths`` with ``length_model`` (one entry per response: its length and the index of
    the model that wrote it) adds ``mean_length``. See the module docstring for the method;
    the result's ``method`` states it too. ``prior`` must be positive here (a resample can
    lack a finite MLE). With no comparisons at all every strength and bound is 0.
    """
    names = tuple(str(name) for name in models)
    if len(set(names)) != len(names):
        raise ValueError("model names must be unique")
    m = len(names)
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, numbers.Integral) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if not 0.0 < ci_level < 1.0:
        raise ValueError(f"ci_level must be between 0 and 1, got {ci_level!r}")
    prior, max_iter, tol = check_fit_options(prior, max_iter, tol)
    if prior == 0.0:
        raise ValueError("leaderboard needs prior > 0: a bootstrap resample may have no finite MLE")
    ai, bi, s, w = check_comparisons(a, b, outcome, m, counts)
    mean_length = mean_lengths(lengths, length_model, m)

    wins, games = win_matrix(ai, bi, s, m, counts=w)
    n_comparisons = int(w.sum())
    n_ties = int(w[s == 0.5].sum())
    theta = fit_strengths(wins, games, prior, max_iter, tol)
    boot, n_unconverged, no_data = bootstrap_strengths(
        ai, bi, s, w, m, theta, int(n_resamples), seed, prior, max_iter, tol
    )
    tail = (1.0 - ci_level) / 2.0
    if m:
        ci_low, ci_high = np.quantile(boot, [tail, 1.0 - tail], axis=0)
    else:
        ci_low = ci_high = np.zeros(0)
    strength = centre(theta)
    order = np.argsort(-strength, kind="stable")
    # Bounds that are equal in exact arithmetic (e.g. models no resample separates) differ
    # by fitting noise of order tol; do not let that noise separate ranks.
    rank_atol = max(1e-8, 1000.0 * tol)
    rank = ranks_from_intervals(ci_low[order], ci_high[order], atol=rank_atol)
    n_components = count_components(games)
    method = (
        "Bradley–Terry (natural-log strengths, centred to mean 0) fitted by the MM algorithm (Hunter 2004, "
        "SQUAREM-accelerated) "
        f"on aggregated wins; ties count as half a win to each side; regularised by {prior:g} virtual tied "
        "game(s) per model against a reference opponent of log-strength 0 "
        f"(prior ∝ sech(θ/2)^{prior:g}); {ci_level * 100:g}% percentile bootstrap CI from {n_resamples} "
        f"resamples of the {n_comparisons} comparisons with replacement (seed {seed}; "
        f"{n_unconverged} resample fit(s) stopped at max_iter={max_iter}); "
        f"rank = 1 + number of models whose CI lies entirely above (by more than {rank_atol:g})"
    )
    if no_data:
        method += "; no comparisons, so all strengths are the prior's 0"
    if n_components > 1:
        method += f"; comparison graph has {n_components} components: order across them comes from the prior only"
    return Leaderboard(
        models=tuple(names[i] for i in order),
        model_index=frozen(order.astype(np.int64)),
        strength=frozen(strength[order]),
        ci_low=frozen(ci_low[order]),
        ci_high=frozen(ci_high[order]),
        rank=frozen(rank),
        wins=frozen(wins[np.ix_(order, order)]),
        games=frozen(games[np.ix_(order, order)]),
        n_comparisons=n_comparisons,
        n_ties=n_ties,
        n_components=n_components,
        mean_length=None if mean_length is None else frozen_masked(mean_length[order]),
        ci_level=float(ci_level),
        n_resamples=int(n_resamples),
        method=method,
    )
