"""Uploaded item and judgment files: streamed to a temporary file, checked, imported.

The same importers as ``workbench import`` and ``workbench import-judgments``
(``imports.import_rows``, ``judgment_import.import_judgments``) read the file from disk in
bounded memory, so a large upload is never held whole. The temporary file is copied from
the request in ``CHUNK`` sized pieces, refused as soon as it passes the size limit, and
removed afterwards whatever happens. A refused file (any bad row, unless the good rows are
asked for) imports nothing and comes back as an ``UploadResult`` listing every problem as
"line N: field: message".
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy.orm import Session

from ..errors import FieldError, ImportInvalid, InvalidInput
from ..models import Project
from ..words import counted
from .import_formats import guess_format, open_source
from .imports import MAX_ERRORS, RowError, import_rows
from .judgment_import import import_judgments

CHUNK = 1 << 20
SUFFIXES = (".jsonl", ".ndjson", ".csv", ".parquet", ".jsonl.gz", ".ndjson.gz", ".csv.gz")


def size_words(n: int) -> str:
    """A byte count as people read it: "256 MB", "100 KB"."""
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def too_large_message(limit: int) -> str:
    return f"The file is larger than the upload limit of {size_words(limit)}; nothing was imported."


class UploadTooLarge(InvalidInput):
    """The file passed the upload size limit; nothing was kept."""

    def __init__(self, limit: int):
        super().__init__(too_large_message(limit))
        self.limit = limit


def suffix_of(filename: str) -> str:
    """The file's known suffix (it decides the format), or an error naming the accepted ones."""
    name = (filename or "").lower()
    found = next((s for s in sorted(SUFFIXES, key=len, reverse=True) if name.endswith(s)), None)
    if found is None:
        raise InvalidInput(
            "unknown file type", [FieldError("file", "choose a .jsonl, .ndjson, .csv or .parquet file (.gz also read)")]
        )
    return found


@contextmanager
def spooled_upload(stream: IO[bytes], filename: str, limit: int, chunk: int = CHUNK) -> Iterator[Path]:
    """Copy ``stream`` to a temporary file named like ``filename``'s type; remove it on exit.

    Reads ``chunk`` bytes at a time and raises ``UploadTooLarge`` once more than ``limit``
    bytes arrive, so neither memory nor disk holds more than the limit.
    """
    suffix = suffix_of(filename)
    fd, name = tempfile.mkstemp(prefix="workbench-upload-", suffix=suffix)
    path = Path(name)
    try:
        size = 0
        with os.fdopen(fd, "wb") as out:
            while block := stream.read(chunk):
                size += len(block)
                if size > limit:
                    raise UploadTooLarge(limit)
                out.write(block)
        if size == 0:
            raise InvalidInput("the file is empty", [FieldError("file", "the file is empty; nothing was imported")])
        yield path
    finally:
        path.unlink(missing_ok=True)


@dataclass(frozen=True)
class UploadResult:
    """What an upload did: counts, duplicates and every problem, or why it was refused."""

    kind: str  # "items" or "judgments"
    refused: bool
    summary: str
    imported: int = 0
    duplicates: int = 0
    duplicate_ids: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default_factory=tuple)  # "line N: field: message"
    raters_created: int = 0


def _problem(error: RowError) -> str:
    return f"{error.location}: {error.message}"


def refused(kind: str, exc: InvalidInput) -> UploadResult:
    return UploadResult(kind, True, exc.summary, problems=tuple(str(e) for e in exc.errors))


def _open(path: Path):
    try:
        return open_source(path, guess_format(path))
    except ValueError as exc:  # an unreadable Parquet file
        raise InvalidInput("the file cannot be read", [FieldError("file", str(exc))]) from None


def upload_items(session: Session, project: Project, path: Path, *, skip_invalid: bool = False) -> UploadResult:
    """Import the item file at ``path``; a refused file comes back with ``refused`` set."""
    source = _open(path)
    try:
        report = import_rows(session, project, source.rows, skip_invalid=skip_invalid, unit=source.unit)
    except ImportInvalid as exc:
        return refused("items", exc)
    problems = tuple(_problem(e) for e in report.rejected[:MAX_ERRORS])
    summary = f"Imported {counted(report.imported, 'item')}; {report.duplicates} already present, left unchanged"
    if report.rejected:
        summary += f"; skipped {counted(report.skipped, 'bad row')}"
    return UploadResult("items", False, summary, report.imported, report.duplicates, report.duplicate_ids, problems)


def upload_judgments(
    session: Session, project: Project, path: Path, *, skip_invalid: bool = False, repeats: str = "refuse"
) -> UploadResult:
    """Import the judgment file at ``path`` (rows ``{item_id, rater, answers, ...}``);
    ``repeats`` is one of ``judgment_import.REPEAT_POLICIES``."""
    source = _open(path)
    try:
        report = import_judgments(
            session, project, source.rows, skip_invalid=skip_invalid, unit=source.unit, repeats=repeats
        )
    except ImportInvalid as exc:
        return refused("judgments", exc)
    problems = tuple(_problem(e) for e in report.rejected[:MAX_ERRORS])
    summary = (
        f"Imported {counted(report.imported, 'judgment')}; {report.duplicates} already present, left unchanged; "
        f"{counted(report.raters_created, 'new external rater')}"
    )
    if report.rejected:
        summary += f"; skipped {counted(len({e.number for e in report.rejected}), 'bad row')}"
    return UploadResult(
        "judgments", False, summary, report.imported, report.duplicates, (), problems, report.raters_created
    )
