"""Counts in words: "1 item", "3 items", "0 items"."""

from __future__ import annotations


def plural(n: int, noun: str, plural_form: str | None = None) -> str:
    """``noun`` as it reads after the number ``n``: the plural unless ``n`` is 1
    (``plural_form``: when it is not the noun with an ``s``)."""
    return noun if n == 1 else plural_form or noun + "s"


def counted(n: int, noun: str, plural_form: str | None = None) -> str:
    """``n`` and ``noun``, the noun in the plural unless ``n`` is 1."""
    return f"{n} {plural(n, noun, plural_form)}"
