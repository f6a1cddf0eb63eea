"""Counts in words: "1 item", "3 items", "0 items"."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, the noun in the plural unless ``n`` is 1 (``plural``: when it is
    not the noun with an ``s``)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
