"""Thresholds that turn a judge's alignment figures into flags (like ``rater_flags``).

Every flag needs at least ``min_items`` observations of the figure concerned, and says
what it saw in words. The limits and why:

- ``min_kappa`` 0.4: Cohen's kappa against the human majority below 0.4, the lower end of
  "moderate" agreement (Landis & Koch 1977);
- ``max_alpha_drop`` 0.05: Krippendorff's alpha falls by more than 0.05 when the judge
  joins the humans as one more rater (it disagrees more than the people do); counted on
  the units at least two people rated;
- ``min_position_consistency`` 0.9: fewer than 90% of the items asked in both orders
  keep their verdict when the sides are swapped;
- ``position_p_value`` 0.01 and ``min_position_deviation`` 0.15: the left-hand response
  is picked outside 35%–65% of the time and the exact binomial test gives p < 0.01 (the
  rater flags' rule);
- ``max_length_excess`` 0.1: the judge picks the longer response at least 10 points more
  often than the humans on the same items;
- ``max_self_preference`` 0.1: the judge picks its own model's response at least 10
  points more often than the humans on the same items;
- ``max_ece`` 0.1: expected calibration error above 0.1 (confidence and agreement differ
  by more than 10 points on average).
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.stats.binomial import Proportion
from workbench.stats.judge_alignment import Agreement, LeftShare, ReliabilityDiagram, SideBias

__all__ = ["JudgeThresholds", "judge_flags"]


@dataclass(frozen=True)
class JudgeThresholds:
    min_kappa: float = 0.4
    max_alpha_drop: float = 0.05
    min_position_consistency: float = 0.9
    position_p_value: float = 0.01
    min_position_deviation: float = 0.15
    max_length_excess: float = 0.1
    max_self_preference: float = 0.1
    max_ece: float = 0.1
    min_items: int = 10


def judge_flags(
    agreement: Agreement,
    consistency: Proportion,
    left: LeftShare,
    length: SideBias | None,
    self_preference: SideBias | None,
    reliability: ReliabilityDiagram,
    t: JudgeThresholds = JudgeThresholds(),
) -> tuple[str, ...]:
    """The flags of one judge, in the order of the module docstring."""
    flags: list[str] = []
    kappa = agreement.kappa.value
    if kappa is not None and agreement.n_items >= t.min_items and kappa < t.min_kappa:
        flags.append(f"kappa {kappa:.2f} < {t.min_kappa:g} against the human majority")
    a_h, a_j = agreement.alpha_humans.alpha, agreement.alpha_with_judge.alpha
    alpha_units = agreement.alpha_humans.n_units
    if a_h is not None and a_j is not None and alpha_units >= t.min_items and a_h - a_j > t.max_alpha_drop:
        flags.append(f"alpha falls from {a_h:.2f} to {a_j:.2f} with the judge as a rater")
    if consistency.trials >= t.min_items and consistency.estimate < t.min_position_consistency:
        flags.append(
            f"position: {consistency.estimate:.0%} of verdicts survive the swap "
            f"({consistency.successes}/{consistency.trials}) < {t.min_position_consistency:.0%}"
        )
    share = left.share
    if (
        share.trials >= t.min_items
        and abs(share.estimate - 0.5) > t.min_position_deviation
        and left.p_value < t.position_p_value
    ):
        side, pct = ("left", share.estimate) if share.estimate > 0.5 else ("right", 1.0 - share.estimate)
        p_text = "p<0.001" if left.p_value < 0.001 else f"p={left.p_value:.3f}"
        flags.append(f"favours the {side} response ({pct:.0%}, {p_text})")
    for bias, limit, words in (
        (length, t.max_length_excess, "the longer response"),
        (self_preference, t.max_self_preference, "its own model's response"),
    ):
        if bias is None or bias.difference is None or bias.judge.trials < t.min_items:
            continue
        if bias.difference > limit:
            flags.append(
                f"picks {words} {bias.judge.estimate:.0%} of the time vs {bias.humans.estimate:.0%} for humans"
            )
    if reliability.ece is not None and reliability.n >= t.min_items and reliability.ece > t.max_ece:
        flags.append(f"confidence miscalibrated: ECE {reliability.ece:.2f} > {t.max_ece:g}")
    return tuple(flags)
