"""Differences between two rubric versions: guidelines line by line, questions by structure.

Questions are matched by id; a removed and an added question of the same type with the same
prompt, label or answer space count as one *renamed* question. A question whose answer
space changes (type, choices, strength scale, scale bounds, options, single vs multiple,
per-response) has a **meaning change**: its judgments before and after answer different
questions and must never be pooled (agreement and export already work per version).
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..words import counted
from .questions import question_from_dict

# -- guidelines -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    text: str
    changed: bool


@dataclass(frozen=True)
class LinePair:
    """One row of a side-by-side text diff; a side is None where the line does not exist."""

    kind: str  # equal, delete, insert, replace
    left_no: int | None
    right_no: int | None
    left: tuple[Span, ...] | None
    right: tuple[Span, ...] | None


def _words(line: str) -> list[str]:
    return re.findall(r"\s+|\w+|[^\w\s]", line)


def _inline(old: str, new: str) -> tuple[tuple[Span, ...], tuple[Span, ...]]:
    a, b = _words(old), _words(new)
    left: list[Span] = []
    right: list[Span] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if i2 > i1:
            left.append(Span("".join(a[i1:i2]), tag != "equal"))
        if j2 > j1:
            right.append(Span("".join(b[j1:j2]), tag != "equal"))
    return tuple(left), tuple(right)


def text_diff(old: str, new: str) -> tuple[LinePair, ...]:
    a, b = old.splitlines(), new.splitlines()
    rows: list[LinePair] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            rows += [
                LinePair("equal", i + 1, j + 1, (Span(a[i], False),), (Span(b[j], False),))
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            ]
            continue
        n = max(i2 - i1, j2 - j1)
        for k in range(n):
            i, j = i1 + k, j1 + k
            has_left, has_right = i < i2, j < j2
            if has_left and has_right:
                left, right = _inline(a[i], b[j])
                rows.append(LinePair("replace", i + 1, j + 1, left, right))
            elif has_left:
                rows.append(LinePair("delete", i + 1, None, (Span(a[i], True),), None))
            else:
                rows.append(LinePair("insert", None, j + 1, None, (Span(b[j], True),)))
    return tuple(rows)


# -- questions ------------------------------------------------------------------------------


def answer_space(q: dict[str, Any]) -> dict[str, Any]:
    """What counts as a valid answer to ``q``; a change here is a change of meaning."""
    return question_from_dict(q).answer_space


def _flat(q: dict[str, Any]) -> dict[str, str]:
    """Question fields as ``path -> shown value``, options keyed by their value."""
    out: dict[str, str] = {}
    for key, value in q.items():
        if key == "id":
            continue
        if key == "options":
            for o in value:
                out[f"option {o['value']}"] = o["label"]
        elif key == "examples":
            out["examples"] = f"{counted(len(value), 'example')} ({_digest(value)})"
        elif key in ("anchors", "labels"):
            for k, v in value.items():
                out[f"{key} {k}"] = v
        elif key == "strength":
            out["strength max"] = str(value["max"])
            for k, v in value.get("labels", {}).items():
                out[f"strength label {k}"] = v
        elif isinstance(value, dict | list):
            out[key] = json.dumps(value, sort_keys=True, ensure_ascii=False)
        else:
            out[key] = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return out


def _digest(value: Any) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:7]


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: str | None  # None: added
    after: str | None  # None: removed


@dataclass(frozen=True)
class QuestionChange:
    kind: str  # added, removed, renamed, changed, unchanged
    old_id: str | None
    new_id: str | None
    type: str
    label: str
    fields: tuple[FieldChange, ...] = ()
    meaning_change: bool = False
    meaning_reasons: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.new_id or self.old_id or ""


def _space_reasons(old: dict[str, Any], new: dict[str, Any]) -> tuple[str, ...]:
    a, b = answer_space(old), answer_space(new)
    if a["type"] != b["type"]:
        return (f"type {a['type']} → {b['type']}",)
    reasons = []
    for key in a:
        if a[key] != b[key]:
            if key == "options":
                gone, added = sorted(set(a[key]) - set(b[key])), sorted(set(b[key]) - set(a[key]))
                parts = ([f"removed {', '.join(gone)}"] if gone else []) + (
                    [f"added {', '.join(added)}"] if added else []
                )
                reasons.append("options " + "; ".join(parts))
            else:
                reasons.append(f"{key.replace('_', ' ')} {_shown(a[key])} → {_shown(b[key])}")
    return tuple(reasons)


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "/".join(map(str, value))
    return str(value)


def _compare(old: dict[str, Any], new: dict[str, Any], kind: str) -> QuestionChange:
    a, b = _flat(old), _flat(new)
    fields = tuple(FieldChange(k, a.get(k), b.get(k)) for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k))
    reasons = _space_reasons(old, new)
    if kind == "same":
        kind = "changed" if fields else "unchanged"
    return QuestionChange(
        kind, old["id"], new["id"], new["type"], new.get("label", new["id"]), fields, bool(reasons), reasons
    )


def _renames(removed: list[dict[str, Any]], added: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    pairs = []
    tests = (
        lambda o, n: o["prompt"] == n["prompt"] or (o.get("label") is not None and o.get("label") == n.get("label")),
        lambda o, n: answer_space(o) == answer_space(n),
    )
    for same in tests:
        for old in list(removed):
            candidates = [n for n in added if n["type"] == old["type"] and same(old, n)]
            if len(candidates) == 1:
                pairs.append((old, candidates[0]))
                removed.remove(old)
                added.remove(candidates[0])
    return pairs


def question_diff(old_doc: dict[str, Any], new_doc: dict[str, Any]) -> tuple[QuestionChange, ...]:
    """Every question of both versions, in the new version's order, removed ones last."""
    old_by_id = {q["id"]: q for q in old_doc["questions"]}
    new_by_id = {q["id"]: q for q in new_doc["questions"]}
    removed = [q for q in old_doc["questions"] if q["id"] not in new_by_id]
    added = [q for q in new_doc["questions"] if q["id"] not in old_by_id]
    renamed = {new["id"]: old for old, new in _renames(removed, added)}
    out: list[QuestionChange] = []
    for q in new_doc["questions"]:
        if q["id"] in old_by_id:
            out.append(_compare(old_by_id[q["id"]], q, "same"))
        elif q["id"] in renamed:
            out.append(_compare(renamed[q["id"]], q, "renamed"))
        else:
            out.append(
                QuestionChange(
                    "added",
                    None,
                    q["id"],
                    q["type"],
                    q.get("label", q["id"]),
                    tuple(FieldChange(k, None, v) for k, v in _flat(q).items()),
                )
            )
    for q in removed:
        out.append(
            QuestionChange(
                "removed",
                q["id"],
                None,
                q["type"],
                q.get("label", q["id"]),
                tuple(FieldChange(k, v, None) for k, v in _flat(q).items()),
            )
        )
    return tuple(out)


# -- whole documents ------------------------------------------------------------------------


@dataclass(frozen=True)
class RubricDiff:
    header: tuple[FieldChange, ...]  # title, description, task_kind
    guidelines: tuple[LinePair, ...]
    questions: tuple[QuestionChange, ...]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def meaning_changes(self) -> tuple[QuestionChange, ...]:
        return tuple(q for q in self.questions if q.meaning_change)

    @property
    def guidelines_changed(self) -> bool:
        return any(row.kind != "equal" for row in self.guidelines)


def rubric_diff(old_doc: dict[str, Any], new_doc: dict[str, Any]) -> RubricDiff:
    header = tuple(
        FieldChange(key, old_doc.get(key), new_doc.get(key))
        for key in ("title", "description", "task_kind")
        if old_doc.get(key) != new_doc.get(key)
    )
    questions = question_diff(old_doc, new_doc)
    counts = {
        kind: sum(1 for q in questions if q.kind == kind)
        for kind in ("added", "removed", "renamed", "changed", "unchanged")
    }
    counts["meaning"] = sum(1 for q in questions if q.meaning_change)
    return RubricDiff(header, text_diff(old_doc["guidelines"], new_doc["guidelines"]), questions, counts)
