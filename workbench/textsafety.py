"""Text that cannot hurt: no NUL, no lone surrogates, no JSON nested without bound.

PostgreSQL refuses NUL in text and JSON, and a lone surrogate (``"\\ud800"`` in JSON) is not
encodable as UTF-8, so either would fail somewhere downstream (a 500 on PostgreSQL, a broken
page on SQLite). Every untrusted value is checked once where it enters: imports, judgments,
rubrics, forms and JSON bodies; the error names the field.
"""

from __future__ import annotations

import json
import re
from typing import Any

# A JSON document nested deeper than this is refused (a judgment or an item is a few levels deep).
MAX_JSON_DEPTH = 64

_UNSAFE = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored, or None."""
    match = _UNSAFE.search(value)
    if match is None:
        return None
    if match.group() == "\x00":
        return "contains a NUL character"
    return "contains an unpaired surrogate (not valid Unicode text)"


def unsafe_value(value: Any, path: str = "", depth: int = 0) -> tuple[str, str] | None:
    """(field path, problem) of the first unsafe string or key in a JSON value, or None.

    Paths read like ``responses/1/text``; the root itself is ``(value)``.
    """
    if depth > MAX_JSON_DEPTH:
        return path or "(value)", f"is nested deeper than {MAX_JSON_DEPTH} levels"
    if isinstance(value, str):
        problem = text_problem(value)
        return (path or "(value)", problem) if problem else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}/{key}" if path else str(key)
            if isinstance(key, str) and (problem := text_problem(key)):
                return path or "(value)", f"has a key that {problem}"
            found = unsafe_value(item, where, depth + 1)
            if found:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = unsafe_value(item, f"{path}/{index}" if path else str(index), depth + 1)
            if found:
                return found
    return None


def json_depth_exceeds(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when raw JSON text opens more than ``limit`` nested arrays or objects.

    Checked on the text before parsing, so a deeply nested body never reaches the parser's
    recursion (strings are skipped, escapes included).
    """
    if isinstance(text, bytes):
        if text.count(b"[") + text.count(b"{") <= limit:
            return False
        text = text.decode("utf-8", "replace")
    elif text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    in_string = False
    escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def displayable(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD, for showing data stored before checks."""
    return re.sub("[\ud800-\udfff]", "\ufffd", text)


def load_json(text: str | bytes) -> Any:
    """``json.loads``, refusing documents nested deeper than ``MAX_JSON_DEPTH`` first."""
    if json_depth_exceeds(text):
        raise json.JSONDecodeError(f"nested deeper than {MAX_JSON_DEPTH} levels", "", 0)
    return json.loads(text)
