"""Word-level difference between two texts, for showing raters what changed from A to B.

Returns runs of words tagged ``equal``, ``delete`` (only in the first text) or ``insert``
(only in the second); whitespace is kept with the word before it, so joining the
``equal`` and ``delete`` runs gives back the first text exactly, and ``equal`` plus
``insert`` the second. Templates escape the runs; nothing here produces HTML.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

_TOKEN = re.compile(r"\S+\s*|\s+")
MAX_TOKENS = 20_000


@dataclass(frozen=True)
class Run:
    op: str  # "equal", "delete" or "insert"
    text: str


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def word_diff(a: str, b: str) -> list[Run]:
    ta, tb = _tokens(a), _tokens(b)
    if len(ta) + len(tb) > MAX_TOKENS:
        return [Run("delete", a), Run("insert", b)]
    # Compare words without their trailing whitespace, so a changed line break is not a change.
    matcher = difflib.SequenceMatcher(None, [t.strip() for t in ta], [t.strip() for t in tb], autojunk=False)
    runs: list[Run] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            runs.append(Run("equal", "".join(tb[j1:j2])))
            continue
        if i2 > i1:
            runs.append(Run("delete", "".join(ta[i1:i2])))
        if j2 > j1:
            runs.append(Run("insert", "".join(tb[j1:j2])))
    return runs
