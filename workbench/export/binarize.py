"""From mean ratings to training rows: groups, preference pairs, thresholds (no I/O).

A single-response project rates one response per item; items sharing a prompt (the same
text, or the same chat messages, or the same ``metadata.group`` when given) form a group.
Each rated item has the mean of its ratings on one scale question, kept as an exact
fraction so that "differ by at least 1" and "at least 4" never depend on rounding.

Pairs within a group (the higher mean is ``chosen``; equal means never make a pair):

- ``best-worst``: the best response against the worst one.
- ``best-random``: the best response against one drawn at random, with a seed of its own
  per group, from those rated lower (UltraFeedback's binarization).
- ``all``: every two responses whose means differ.

With ``min_gap`` G a pair needs a difference of at least G (in ``best-random`` the draw
is among the responses at least G below the best). The best (or worst) of responses
sharing the top (or bottom) mean is the first in external-id order.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import dataclass
from fractions import Fraction
from typing import Any


def exact(value: float | int) -> Fraction:
    """A number as the decimal the user wrote (``0.1`` is one tenth, not the nearest float)."""
    return Fraction(str(value))


@dataclass(frozen=True)
class Rated:
    """One rated item: its ratings' count, sum, sum of squares, least and greatest."""

    pk: int
    item_id: str
    n: int
    total: Fraction
    squares: Fraction
    low: float
    high: float

    @property
    def mean(self) -> Fraction:
        return self.total / self.n

    @property
    def std(self) -> float:
        """Population standard deviation of the ratings (0 for one rating)."""
        variance = self.squares / self.n - self.mean**2
        return math.sqrt(max(float(variance), 0.0))


def group_key(prompt: Any, metadata: Any) -> tuple[str, str]:
    """(group id, key): ``metadata.group`` when present, else a hash of the prompt's JSON.

    The key compares prompts by value (chat messages in order, keys sorted); the id of a
    prompt group is ``prompt-`` and 16 hex digits of that JSON's sha256.
    """
    group = metadata.get("group") if isinstance(metadata, dict) else None
    if group is not None:
        name = group if isinstance(group, str) else json.dumps(group, sort_keys=True, ensure_ascii=False)
        return name, "group\0" + name
    text = json.dumps(prompt, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return f"prompt-{digest[:16]}", "prompt\0" + digest


def pairs(
    group: list[Rated], how: str, min_gap: Fraction | None, seed: int, group_id: str
) -> list[tuple[Rated, Rated]]:
    """The (chosen, rejected) pairs of one group (items in external-id order)."""

    def far(hi: Rated, lo: Rated) -> bool:
        gap = hi.mean - lo.mean
        return gap > 0 and (min_gap is None or gap >= min_gap)

    if len(group) < 2:
        return []
    if how == "all":
        out = []
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                if far(a, b):
                    out.append((a, b))
                elif far(b, a):
                    out.append((b, a))
        return out
    best = max(group, key=lambda r: r.mean)  # max and min keep the first of equals
    if how == "best-worst":
        worst = min(group, key=lambda r: r.mean)
        return [(best, worst)] if far(best, worst) else []
    lower = [r for r in group if far(best, r)]
    if not lower:
        return []
    draw = random.Random(f"{seed}:{group_id}")  # noqa: S311 - a reproducible draw, not a secret
    return [(best, draw.choice(lower))]


def normalized(mean: Fraction, low: int, high: int) -> float:
    """The mean mapped from the scale ``low..high`` onto 0..1."""
    return float((mean - low) / (high - low)) if high > low else 0.0
