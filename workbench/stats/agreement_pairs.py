"""Agreement between two rater populations on the same pairwise units (e.g. humans vs LLM
judges): the share of identical outcomes and Cohen's kappa over (A, tie, B).

Outcomes are canonical scores of response A: 1.0 A won, 0.5 tie, 0.0 B won.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = [
    "AGREEMENT_LABELS",
    "AGREEMENT_OUTCOMES",
    "PairAgreement",
    "agreement_between",
    "cohens_kappa",
    "percent_agreement",
]

#: Outcome categories for agreement, in contingency-table order.
AGREEMENT_OUTCOMES = (1.0, 0.5, 0.0)
AGREEMENT_LABELS = ("A", "tie", "B")


@dataclasses.dataclass(frozen=True, eq=False)
class PairAgreement:
    """Agreement between two rater populations on the same pairwise units.

    ``contingency[g, h]`` counts units where the first population's outcome is category
    ``g`` and the second's is ``h``, categories in the order of ``labels`` (outcomes 1.0,
    0.5, 0.0). ``kappa`` (Cohen's, over the three categories) and ``percent_agreement``
    are ``None`` when undefined (no units; or, for kappa, chance agreement equal to 1).
    """

    n_units: int
    percent_agreement: float | None
    kappa: float | None
    contingency: np.ndarray
    labels: tuple[str, ...] = AGREEMENT_LABELS
    method: str = "share of identical outcomes; Cohen's kappa from the 3×3 contingency table (A, tie, B)"


def cohens_kappa(contingency) -> float | None:
    """Cohen's kappa of a square contingency table (rows: coder 1, columns: coder 2).

    ``kappa = (p_o - p_e) / (1 - p_e)`` with observed agreement ``p_o = trace / n`` and chance
    agreement ``p_e = sum_g row_g * col_g / n**2`` (each coder's own marginals). ``None``
    when undefined: an empty table, or ``p_e == 1`` (both coders used one and the same
    category throughout).
    """
    table = _contingency(contingency)
    n = table.sum()
    if n == 0:
        return None
    p_o = np.trace(table) / n
    p_e = float(table.sum(axis=1) @ table.sum(axis=0)) / n**2
    if math.isclose(p_e, 1.0, rel_tol=0.0, abs_tol=1e-12):
        return None
    return float((p_o - p_e) / (1.0 - p_e))


def percent_agreement(contingency) -> float | None:
    """Share of units on the diagonal of a square contingency table (``None`` if empty)."""
    table = _contingency(contingency)
    n = table.sum()
    return None if n == 0 else float(np.trace(table) / n)


def agreement_between(a_outcomes, b_outcomes) -> PairAgreement:
    """Agreement of two rater populations (e.g. humans vs LLM judges) on the same pairs.

    ``a_outcomes[k]`` and ``b_outcomes[k]`` are the two populations' canonical outcomes for
    unit ``k`` (1.0 A won, 0.5 tie, 0.0 B won); only these three values are accepted, so
    aggregate several ratings per unit (e.g. majority) beforehand and drop unmatched units.
    Returns the share of units with identical outcomes and Cohen's kappa over the three
    categories from the 3×3 contingency table (see :func:`cohens_kappa`).
    """
    x = _agreement_codes(a_outcomes, "a_outcomes")
    y = _agreement_codes(b_outcomes, "b_outcomes")
    if x.shape != y.shape:
        raise ValueError(f"a_outcomes and b_outcomes must have one length, got {x.size} and {y.size}")
    k = len(AGREEMENT_OUTCOMES)
    table = np.bincount(x * k + y, minlength=k * k).reshape(k, k).astype(np.int64)
    table.setflags(write=False)
    return PairAgreement(
        n_units=int(x.size),
        percent_agreement=percent_agreement(table),
        kappa=cohens_kappa(table),
        contingency=table,
    )


def _contingency(contingency) -> np.ndarray:
    table = np.asarray(contingency, dtype=np.float64)
    if table.ndim != 2 or table.shape[0] != table.shape[1]:
        raise ValueError(f"contingency table must be square, got shape {table.shape}")
    if not np.isfinite(table).all() or (table < 0).any():
        raise ValueError("contingency counts must be finite and non-negative")
    return table


def _agreement_codes(outcomes, name: str) -> np.ndarray:
    values = np.asarray(outcomes, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {values.shape}")
    codes = np.full(values.shape, -1, dtype=np.int64)
    for code, value in enumerate(AGREEMENT_OUTCOMES):
        codes[values == value] = code
    if (codes < 0).any():
        raise ValueError(f"{name} must hold only 1.0 (A), 0.5 (tie) or 0.0 (B)")
    return codes
