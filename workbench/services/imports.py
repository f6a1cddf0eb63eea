"""Import items into a project from JSON Lines, CSV or Parquet: all rows or none by default.

Every row is checked against ``workbench/schemas/item.schema.json`` (the published item
schema) and against the project (two responses for a pairwise project, one for a
single-response project). Rows whose id is already in the project are reported as
duplicates and left unchanged, so a re-import is harmless. Problems are reported per row
(line or row number, field, message). By default any bad row aborts the whole import with
every problem listed; with ``skip_invalid`` the good rows are imported and the bad ones
come back in the report.

Speed: a plain-Python check accepts the common well-formed row; only rows it does not
accept go through ``jsonschema``, which then says exactly what is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ..domain import TaskKind
from ..errors import FieldError, ImportInvalid, schema_message
from ..models import Item, Project, utcnow
from ..words import counted
from .import_formats import SourceRow, refuse_unsafe, text_lines_as_rows

MAX_ERRORS = 200


@lru_cache(maxsize=1)
def item_schema() -> dict[str, Any]:
    return json.loads((Path(__file__).resolve().parent.parent / "schemas" / "item.schema.json").read_text())


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(item_schema())


@dataclass(frozen=True)
class RowError:
    """One problem in one row: ``number`` is the line (JSON Lines, CSV) or row (Parquet)."""

    number: int
    field: str
    message: str
    unit: str = "line"

    @property
    def location(self) -> str:
        return f"{self.unit} {self.number}" + (f": {self.field}" if self.field else "")

    def to_field_error(self) -> FieldError:
        return FieldError(self.location, self.message)

    def as_dict(self) -> dict[str, Any]:
        return {self.unit: self.number, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class ImportReport:
    imported: int
    duplicates: int
    duplicate_ids: tuple[str, ...] = field(default_factory=tuple)
    rejected: tuple[RowError, ...] = field(default_factory=tuple)

    @property
    def skipped(self) -> int:
        return len({e.number for e in self.rejected})


def raise_invalid(errors: list[RowError], what: str = "file") -> None:
    shown = [e.to_field_error() for e in errors[:MAX_ERRORS]]
    bad_rows = len({e.number for e in errors})
    summary = f"{counted(len(errors), 'problem')} in {counted(bad_rows, 'row')} of the {what}; nothing was imported"
    if len(errors) > MAX_ERRORS:
        summary += f" (first {MAX_ERRORS} shown)"
    raise ImportInvalid(summary, shown)


_TOP = frozenset({"id", "prompt", "responses", "metadata", "gold"})
_RESPONSE = frozenset({"id", "model", "text", "metadata"})
_ROLES = frozenset({"system", "user", "assistant", "tool"})


def _ok_id(value: Any) -> bool:
    if type(value) is str:
        return 1 <= len(value) <= 200
    return type(value) is int


def _quick_ok(row: Any) -> bool:
    """True when the row certainly satisfies the item schema (False means: ask jsonschema)."""
    if type(row) is not dict or not row.keys() <= _TOP or "prompt" not in row or "responses" not in row:
        return False
    if not _ok_id(row.get("id")):
        return False
    prompt = row["prompt"]
    if type(prompt) is str:
        if not prompt:
            return False
    elif type(prompt) is list and prompt:
        for m in prompt:
            if (
                type(m) is not dict
                or m.keys() != {"role", "content"}
                or m["role"] not in _ROLES
                or type(m["content"]) is not str
            ):
                return False
    else:
        return False
    responses = row["responses"]
    if type(responses) is not list or not 1 <= len(responses) <= 2:
        return False
    for r in responses:
        if type(r) is not dict or not r.keys() <= _RESPONSE or type(r.get("text")) is not str:
            return False
        if "id" in r and not _ok_id(r["id"]):
            return False
        if "model" in r and (type(r["model"]) is not str or len(r["model"]) > 200):
            return False
        if "metadata" in r and type(r["metadata"]) is not dict:
            return False
    if "metadata" in row and type(row["metadata"]) is not dict:
        return False
    if "gold" in row:
        gold = row["gold"]
        if type(gold) is not dict or not gold.keys() <= {"answer", "rationale"} or type(gold.get("answer")) is not dict:
            return False
        if "rationale" in gold and type(gold["rationale"]) is not str:
            return False
    return True


def _row_errors(number: int, row: Any, expected_responses: int, unit: str = "line") -> list[RowError]:
    errors = []
    if not _quick_ok(row):
        for error in _validator().iter_errors(row):
            path = "/".join(str(p) for p in error.absolute_path) or "(row)"
            message = schema_message(error)
            if error.validator == "oneOf" and "prompt" in path:
                message = "prompt must be a non-empty string or a list of {role, content} messages"
            if len(message) > 300:
                message = message[:300] + "..."
            errors.append(RowError(number, path, message, unit))
    if not errors and len(row["responses"]) != expected_responses:
        errors.append(
            RowError(
                number,
                "responses",
                f"this project needs {counted(expected_responses, 'response')} per item, the row has {len(row['responses'])}",
                unit,
            )
        )
    if not errors and len(row["responses"]) == 2:
        first, second = row["responses"]
        ids = [str(first.get("id", 0)), str(second.get("id", 1))]
        if ids[0] == ids[1]:
            errors.append(RowError(number, "responses", f"response ids repeat within the item: {ids}", unit))
    return errors


def check_rows(
    source: Iterable[SourceRow], task_kind: TaskKind, unit: str = "line"
) -> Iterator[tuple[int, dict[str, Any] | None, list[RowError]]]:
    """(number, row or None, problems) for every row, including duplicate ids within the file."""
    expected = 2 if task_kind == TaskKind.PAIRWISE else 1
    seen: dict[str, int] = {}
    for item in refuse_unsafe(source):
        if item.error is not None:
            yield item.number, None, [RowError(item.number, item.error[0], item.error[1], unit)]
            continue
        row = item.row
        errors = _row_errors(item.number, row, expected, unit)
        if not errors:
            external_id = str(row["id"])
            if external_id in seen:
                errors.append(
                    RowError(
                        item.number, "id", f"id {external_id!r} already appears on {unit} {seen[external_id]}", unit
                    )
                )
            else:
                seen[external_id] = item.number
        yield item.number, (None if errors else row), errors


_ITEM_COLUMNS = (
    "project_id",
    "external_id",
    "prompt",
    "metadata",
    "is_gold",
    "gold_answer",
    "gold_rationale",
    "created_at",
)
_RESPONSE_COLUMNS = ("item_id", "position", "external_id", "model", "text", "metadata")
_JSON_COLUMNS = {"prompt", "metadata", "gold_answer"}


def _insert_sql(session: Session, table: str, columns: tuple[str, ...]) -> str:
    postgres = session.get_bind().dialect.name == "postgresql"
    marks = [("CAST(%s AS JSONB)" if c in _JSON_COLUMNS else "%s") if postgres else "?" for c in columns]
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(marks)})"


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return "{}" if value == {} else json.dumps(value)


def _insert(session: Session, project: Project, batch: list[dict[str, Any]]) -> None:
    """Insert one batch of items and their responses.

    A driver-level executemany with the JSON already serialized: the ORM and per-row
    type processing cost more than the database itself at 100k rows. The new item ids are
    read back by external id in one query.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    now = utcnow()
    stamp = now if postgres else now.strftime("%Y-%m-%d %H:%M:%S.%f")
    connection = session.connection()
    item_rows = []
    for row in batch:
        gold = row.get("gold")
        item_rows.append(
            (
                project.id,
                str(row["id"]),
                json.dumps(row["prompt"]),
                _json(row.get("metadata", {})),
                (gold is not None) if postgres else int(gold is not None),
                _json(gold["answer"]) if gold else None,
                gold.get("rationale") if gold else None,
                stamp,
            )
        )
    connection.exec_driver_sql(_insert_sql(session, "items", _ITEM_COLUMNS), item_rows)
    ids = dict(
        session.execute(
            select(Item.external_id, Item.id).where(
                Item.project_id == project.id, Item.external_id.in_([r[1] for r in item_rows])
            )
        ).all()
    )
    response_rows = []
    for row in batch:
        item_id = ids[str(row["id"])]
        for position, response in enumerate(row["responses"]):
            response_rows.append(
                (
                    item_id,
                    position,
                    str(response.get("id", position)),
                    response.get("model", ""),
                    response["text"],
                    _json(response.get("metadata", {})),
                )
            )
    connection.exec_driver_sql(_insert_sql(session, "responses", _RESPONSE_COLUMNS), response_rows)


# Imports at least this large refresh the planner's statistics (PostgreSQL).
ANALYZE_AFTER = 1000


def import_rows(
    session: Session,
    project: Project,
    source: Iterable[SourceRow],
    *,
    skip_invalid: bool = False,
    unit: str = "line",
    batch_size: int = 2000,
) -> ImportReport:
    """Check every row of ``source`` and insert the new ones (never commits).

    Atomic by default: any bad row raises ``ImportInvalid`` listing every problem, and
    nothing is written (rows are inserted in batches inside a savepoint, which is rolled
    back). With ``skip_invalid`` the good rows are kept and the problems are returned in
    ``ImportReport.rejected``. Memory stays bounded by one batch plus the set of ids.
    """
    existing = set(session.scalars(select(Item.external_id).where(Item.project_id == project.id)))
    pending: list[dict[str, Any]] = []
    duplicates: list[str] = []
    errors: list[RowError] = []
    good = imported = 0
    savepoint = session.begin_nested()
    try:
        for _, row, problems in check_rows(source, project.task_kind, unit):
            if problems:
                errors.extend(problems)
                continue
            good += 1
            external_id = str(row["id"])
            if external_id in existing:
                duplicates.append(external_id)
                continue
            if errors and not skip_invalid:
                continue  # the import will fail; keep checking, stop writing
            pending.append(row)
            if len(pending) >= batch_size:
                _insert(session, project, pending)
                imported += len(pending)
                pending = []
        if errors and not skip_invalid:
            raise_invalid(errors)
        if not good and not errors:
            raise ImportInvalid("the file has no items; nothing was imported")
        if pending:
            _insert(session, project, pending)
            imported += len(pending)
        savepoint.commit()
    except BaseException:
        savepoint.rollback()
        raise
    session.flush()
    if imported >= ANALYZE_AFTER and session.get_bind().dialect.name == "postgresql":
        # Fresh statistics right away, so the next-item query plans as an index walk
        # instead of waiting for autovacuum to notice the new rows.
        session.execute(text("ANALYZE items, responses"))
    return ImportReport(
        imported=imported, duplicates=len(duplicates), duplicate_ids=tuple(duplicates[:50]), rejected=tuple(errors)
    )


def import_items(
    session: Session, project: Project, lines: Iterable[str], batch_size: int = 2000, *, skip_invalid: bool = False
) -> ImportReport:
    """Insert JSON Lines items and responses; raise ``ImportInvalid`` (nothing written) on any bad row."""
    return import_rows(session, project, text_lines_as_rows(lines), skip_invalid=skip_invalid, batch_size=batch_size)
