"""Raw judgment export: one row per live judgment, canonical orientation.

Columns: ``item_id`` (external id), ``rater`` (pseudonym, stable within the project),
``rater_kind`` (``human``, ``machine`` or ``external``), ``answers`` (the stored canonical
answers; a JSON string in Parquet so every rubric fits one schema), ``display_order``
(canonical positions in screen order: ``[1, 0]`` means the second response was shown on
the left), ``issued_at``, ``submitted_at`` (ISO 8601 UTC), ``duration_ms``,
``rubric_version`` and ``rubric_version_sha256``. Gold items and honeypots are left out
unless ``include_gold``. Rows are ordered by external id, then submission time and id.
Written next to a ``manifest.json`` like the preference export.
"""

from __future__ import annotations

import json
import os
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy.orm import Session

from .. import __version__
from ..errors import FieldError, InvalidInput
from ..models import Judgment, Project
from ..services.pseudonyms import pseudonym
from ..services.research import live_judgments
from .options import FORMATS
from .preferences import MANIFEST_FILE
from .queries import exportable_items, external_id_order
from .writers import FileDigest, atomic_files, write_bytes_atomically

JUDGMENTS_FILE = "judgments.jsonl"
JUDGMENTS_PARQUET = "judgments.parquet"
FORMAT = "workbench.judgments/1"
EXTERNAL_DOMAIN = "external.invalid"

SCHEMA = pa.schema(
    [
        pa.field("item_id", pa.string(), nullable=False),
        pa.field("rater", pa.string(), nullable=False),
        pa.field("rater_kind", pa.string(), nullable=False),
        pa.field("answers", pa.string(), nullable=False),
        pa.field("display_order", pa.list_(pa.int32())),
        pa.field("issued_at", pa.string()),
        pa.field("submitted_at", pa.string()),
        pa.field("duration_ms", pa.int64()),
        pa.field("rubric_version", pa.int32()),
        pa.field("rubric_version_sha256", pa.string()),
    ]
)


@dataclass(frozen=True)
class JudgmentExportSummary:
    rows: int
    manifest_path: Path
    files: tuple[FileDigest, ...]


def _kind(email: str, is_machine: bool) -> str:
    if is_machine:
        return "machine"
    return "external" if email.endswith("@" + EXTERNAL_DOMAIN) else "human"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def export_judgments(
    session: Session,
    project: Project,
    out_dir: str | os.PathLike[str],
    *,
    formats=("jsonl",),
    include_gold: bool = False,
    created_at: datetime | None = None,
    batch_size: int = 5000,
) -> JudgmentExportSummary:
    """Write ``judgments.jsonl``/``judgments.parquet`` and ``manifest.json``; never commits."""
    formats = tuple(dict.fromkeys(formats))
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise InvalidInput("cannot export judgments", [FieldError("formats", f"give jsonl and/or parquet, not {bad}")])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    query = (
        live_judgments(project)
        .where(exportable_items(include_gold))
        .order_by(external_id_order(session), Judgment.submitted_at, Judgment.id)
        .execution_options(yield_per=batch_size)
    )
    names: dict[int, str] = {}
    with atomic_files(out) as files:
        sinks = []
        if "jsonl" in formats:
            sinks.append(files.jsonl(JUDGMENTS_FILE))
        if "parquet" in formats:
            sinks.append(files.parquet(JUDGMENTS_PARQUET, SCHEMA))
        with closing(session.execute(query)) as rows:
            for row in rows:
                rater = names.get(row.rater_id) or names.setdefault(row.rater_id, pseudonym(project, row.rater_id))
                record: dict[str, Any] = {
                    "item_id": row.item_id,
                    "rater": rater,
                    "rater_kind": _kind(row.email, row.is_machine),
                    "answers": row.answers,
                    "display_order": list(row.display_order) if row.display_order is not None else None,
                    "issued_at": _iso(row.issued_at),
                    "submitted_at": _iso(row.submitted_at),
                    "duration_ms": row.duration_ms,
                    "rubric_version": row.rubric_version,
                    "rubric_version_sha256": row.rubric_version_sha256,
                }
                for sink in sinks:
                    if sink.name.endswith(".parquet"):
                        sink.write({**record, "answers": json.dumps(row.answers, sort_keys=True, ensure_ascii=False)})
                    else:
                        sink.write(record)
        digests = files.commit()
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "workbench_version": __version__,
        "project": project.name,
        "rubric": {"slug": project.rubric.slug},
        "filters": {"include_gold": include_gold, "live_only": True},
        "orientation": "canonical: answers' A is the item's response at position 0",
        "columns": [f.name for f in SCHEMA],
        "counts": {"judgments": digests[0].rows if digests else 0, "raters": len(names)},
        "files": {d.name: d.manifest_entry() for d in digests},
    }
    if created_at is not None:
        manifest["created_at"] = created_at.isoformat()
    data = (json.dumps(manifest, sort_keys=True, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    write_bytes_atomically(out / MANIFEST_FILE, data)
    return JudgmentExportSummary(
        rows=manifest["counts"]["judgments"], manifest_path=out / MANIFEST_FILE, files=tuple(digests)
    )
