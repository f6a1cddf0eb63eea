"""Thresholds that turn a rater's calibration figures into flags, and the badness score.

Score (badness), documented so a ranking can be explained::

    score = number of flags + 0.99 * mean over defined figures of min(b, 3) / 3

where ``b`` is each figure's distance from good relative to its threshold (``b >= 1`` is
at or past the limit): gold error / allowed error, Δalpha / max_delta_alpha, consensus
disagreement / allowed disagreement, |leniency| / allowed leniency, |left share − 0.5| /
min_position_deviation, too-fast share / max_too_fast_share, straight-lining /
max_straight_lining, gold-accuracy drop / max_gold_drop. A rater with more flags always
ranks worse; among raters with as many flags, the one nearer the limits ranks worse.
Ties are broken by rater code.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Thresholds", "judge_rater", "leniency_limit"]

_SEVERITY_CAP = 3.0


@dataclass(frozen=True)
class Thresholds:
    """Limits that turn figures into flags (the figures are documented on
    :class:`workbench.stats.calibration.RaterCalibration`).

    No flag is raised from fewer than ``min_judgments_for_flags`` observations of the
    figure concerned (gold items, compared judgments, pairwise judgments, timed
    judgments, ...). ``gold_tolerance``: a value within this distance of the gold value
    counts as correct (0 = exact match; e.g. 1.0 accepts ±1 on a scale).
    """

    min_gold_accuracy: float = 0.7  # flag gold accuracy below 70%
    gold_tolerance: float = 0.0  # exact match with the gold value counts as correct
    max_delta_alpha: float = 0.02  # flag if alpha rises by more than 0.02 without the rater
    # Leniency: a mean offset from the others beyond this share of the scale's range is
    # flagged (0.125 is ±0.5 points on a 1-5 scale, ±0.75 on 1-7, ±25 on -100..100); set
    # max_abs_leniency to a number of points instead to use an absolute limit.
    max_relative_leniency: float = 0.125
    max_abs_leniency: float | None = None
    position_p_value: float = 0.01  # position bias needs p below 0.01 ...
    min_position_deviation: float = 0.15  # ... and a left share outside 35%-65%
    too_fast_seconds: float = 3.0  # a judgment under 3 s is "too fast" ...
    max_too_fast_share: float = 0.2  # ... and more than 20% of them is flagged
    max_straight_lining: float = 0.8  # flag when over 80% of answers repeat the previous one
    min_consensus_agreement: float = 0.5  # flag agreeing with the others' mode under 50%
    # On a scale, an answer "agrees with the others" within this share of the scale's range
    # of their modal value (0.125: exact on 1-5 and 1-7 scales, ±25 on -100..100); set
    # consensus_abs_distance to a number of points instead to use an absolute distance.
    consensus_relative_distance: float = 0.125
    consensus_abs_distance: float | None = None
    max_gold_drop: float = 0.25  # flag gold accuracy falling 25 points from first to second half
    min_judgments_for_flags: int = 5  # never flag from fewer observations than this


def judge_rater(f: dict, n: dict, t: Thresholds) -> tuple[tuple[str, ...], float]:
    """Flags and badness score of one rater.

    ``f`` maps :class:`~workbench.stats.calibration.RaterCalibration` field names to the
    figures; ``n`` holds sample sizes: ``answered`` (answered judgments), ``timed``
    (judgments with seconds) and ``shared`` (units compared for leniency), and may hold
    ``scale_range`` (largest minus smallest value of the question's scale), which makes the
    leniency limit relative.
    """
    flags: list[str] = []
    severities: list[float] = []

    def check(value, limit, sample, message, allowed=True):
        if value is None:
            return
        b = _ratio(value, limit)
        severities.append(min(b, _SEVERITY_CAP))
        if b > 1.0 and allowed and sample >= t.min_judgments_for_flags:
            flags.append(message())

    gold, consensus, position = f["gold"], f["consensus"], f["position"]
    if gold.estimate is not None:
        check(
            1.0 - gold.estimate,
            1.0 - t.min_gold_accuracy,
            gold.trials,
            lambda: f"gold accuracy {gold.estimate:.0%} < {t.min_gold_accuracy:.0%} ({gold.successes}/{gold.trials})",
        )
    if consensus.estimate is not None:
        check(
            1.0 - consensus.estimate,
            1.0 - t.min_consensus_agreement,
            consensus.trials,
            lambda: f"agrees with others {consensus.estimate:.0%} < {t.min_consensus_agreement:.0%}",
        )
    delta = f["delta_alpha"]
    check(
        None if delta is None else max(delta, 0.0),
        t.max_delta_alpha,
        n["answered"],
        # Read by researchers and by the rater on "My figures": no "this rater".
        lambda: f"alpha is {delta:.3f} higher without these judgments",
    )
    lean = f["leniency"]
    lean_limit = leniency_limit(t, n.get("scale_range"))
    check(
        None if lean is None else abs(lean),
        lean_limit,
        n["shared"],
        lambda: f"{'lenient' if lean > 0 else 'severe'}: {lean:+.2g} vs others (limit ±{lean_limit:.2g})",
    )
    if position.estimate is not None:
        share, p = position.estimate, f["position_p"]
        check(
            abs(share - 0.5),
            t.min_position_deviation,
            position.trials,
            lambda: _position_flag(share, p),
            allowed=p < t.position_p_value,
        )
    fast = f["too_fast_share"]
    check(fast, t.max_too_fast_share, n["timed"], lambda: f"too fast: {fast:.0%} under {t.too_fast_seconds:g} s")
    same = f["straight_lining"]
    check(
        same, t.max_straight_lining, n["answered"] - 1, lambda: f"straight-lining: {same:.0%} same as previous answer"
    )
    drift = f["drift"]
    check(
        None if drift is None else max(-drift, 0.0),
        t.max_gold_drop,
        gold.trials,
        lambda: f"gold accuracy drops {-drift:.0%} from first to second half",
    )
    mean_severity = sum(severities) / len(severities) if severities else 0.0
    return tuple(flags), len(flags) + 0.99 * mean_severity / _SEVERITY_CAP


def leniency_limit(t: Thresholds, scale_range: float | None) -> float:
    """The leniency limit in scale points: absolute when set, else relative to the range."""
    if t.max_abs_leniency is not None or not scale_range:
        return t.max_abs_leniency if t.max_abs_leniency is not None else 0.75
    return t.max_relative_leniency * scale_range


def consensus_distance(t: Thresholds, scale_range: float | None) -> float:
    """How far from the others' modal value an answer still agrees, in scale points
    (0 for nominal questions: the same answer)."""
    if t.consensus_abs_distance is not None:
        return t.consensus_abs_distance
    return t.consensus_relative_distance * scale_range if scale_range else 0.0


def _position_flag(share: float, p: float) -> str:
    side, pct = ("left", share) if share > 0.5 else ("right", 1.0 - share)
    p_text = "p<0.001" if p < 0.001 else f"p={p:.3f}"
    return f"{'always picks' if pct >= 0.9 else 'favours'} {side} ({pct:.0%}, {p_text})"


def _ratio(value: float, limit: float) -> float:
    if limit > 0:
        return value / limit
    return _SEVERITY_CAP if value > 0 else 0.0
