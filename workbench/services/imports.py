"""Import items from JSON Lines into a project: all rows or none.

Every line is checked against ``workbench/schemas/item.schema.json`` and against the
project (two responses for a pairwise project, one for a single-response project). Rows
whose id is already in the project are reported as duplicates and left unchanged, so a
re-import is harmless. Any bad row aborts the whole import with every problem listed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..domain import TaskKind
from ..errors import FieldError, ImportInvalid
from ..models import Item, Project, Response

MAX_ERRORS = 200


@lru_cache(maxsize=1)
def item_schema() -> dict[str, Any]:
    return json.loads((Path(__file__).resolve().parent.parent / "schemas" / "item.schema.json").read_text())


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(item_schema())


@dataclass(frozen=True)
class ImportReport:
    imported: int
    duplicates: int
    duplicate_ids: tuple[str, ...] = field(default_factory=tuple)


def _row_errors(lineno: int, row: Any, expected_responses: int) -> list[FieldError]:
    errors = []
    for error in _validator().iter_errors(row):
        path = "/".join(str(p) for p in error.absolute_path) or "(row)"
        message = error.message
        if error.validator == "oneOf" and "prompt" in path:
            message = "prompt must be a non-empty string or a list of {role, content} messages"
        errors.append(FieldError(f"line {lineno}: {path}", message))
    if not errors and len(row["responses"]) != expected_responses:
        errors.append(
            FieldError(
                f"line {lineno}: responses",
                f"this project needs {expected_responses} response(s) per item, the row has {len(row['responses'])}",
            )
        )
    return errors


def parse_lines(lines: Iterable[str], task_kind: TaskKind) -> tuple[list[tuple[int, dict[str, Any]]], list[FieldError]]:
    """Parse and check JSON Lines; blank lines are ignored."""
    expected = 2 if task_kind == TaskKind.PAIRWISE else 1
    rows: list[tuple[int, dict[str, Any]]] = []
    errors: list[FieldError] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(FieldError(f"line {lineno}", f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        row_errors = _row_errors(lineno, row, expected)
        if not row_errors:
            external_id = str(row["id"])
            if external_id in seen:
                row_errors.append(FieldError(f"line {lineno}: id", f"id {external_id!r} already appears on line {seen[external_id]}"))
            seen.setdefault(external_id, lineno)
        if row_errors:
            errors.extend(row_errors)
        else:
            rows.append((lineno, row))
    return rows, errors


def import_items(session: Session, project: Project, lines: Iterable[str], batch_size: int = 2000) -> ImportReport:
    """Insert the file's items and responses; raise ``ImportInvalid`` (nothing written) on any bad row."""
    rows, errors = parse_lines(lines, project.task_kind)
    if errors:
        shown = errors[:MAX_ERRORS]
        more = len(errors) - len(shown)
        summary = f"{len(errors)} problem(s) in the file; nothing was imported"
        if more:
            summary += f" (first {MAX_ERRORS} shown)"
        raise ImportInvalid(summary, shown)
    if not rows:
        raise ImportInvalid("the file has no items; nothing was imported")
    existing = set(session.scalars(select(Item.external_id).where(Item.project_id == project.id)))
    fresh = [row for _, row in rows if str(row["id"]) not in existing]
    duplicates = tuple(str(row["id"]) for _, row in rows if str(row["id"]) in existing)
    for start in range(0, len(fresh), batch_size):
        batch = fresh[start : start + batch_size]
        item_rows = [
            {
                "project_id": project.id,
                "external_id": str(row["id"]),
                "prompt": row["prompt"],
                "meta": row.get("metadata", {}),
                "is_gold": "gold" in row,
                "gold_answer": row.get("gold", {}).get("answer"),
                "gold_rationale": row.get("gold", {}).get("rationale"),
            }
            for row in batch
        ]
        ids = session.execute(insert(Item).returning(Item.id, Item.external_id, sort_by_parameter_order=True), item_rows).all()
        response_rows = []
        for (item_id, _), row in zip(ids, batch, strict=True):
            for position, response in enumerate(row["responses"]):
                response_rows.append(
                    {
                        "item_id": item_id,
                        "position": position,
                        "external_id": str(response.get("id", position)),
                        "model": response.get("model", ""),
                        "text": response["text"],
                        "meta": response.get("metadata", {}),
                    }
                )
        session.execute(insert(Response), response_rows)
    session.flush()
    return ImportReport(imported=len(fresh), duplicates=len(duplicates), duplicate_ids=duplicates[:50])
