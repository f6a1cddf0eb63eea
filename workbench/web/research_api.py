"""The researcher JSON API under ``/api/v1`` (bearer tokens of researchers and admins).

Bulk item import, paged judgments, agreement / raters / leaderboard as JSON, the
preference export as a stream, and the OpenAPI document describing all of it
(``/api/v1/openapi.json``). Views parse the request, call one service and answer JSON.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path

from flask import Response, current_app, jsonify, request, stream_with_context

from ..domain import EVERYONE, RESEARCHERS
from ..errors import FieldError, InvalidInput
from ..export import (
    AGGREGATES,
    LABELS,
    PAIRINGS,
    SHAPES,
    TIE_POLICIES,
    ExportOptions,
    dataset_file_name,
    export_dataset,
)
from ..jsonable import jsonable
from ..services.agreement import project_agreement
from ..services.calibration import parse_thresholds, rater_calibration
from ..services.import_formats import rows_from_bytes
from ..services.imports import import_rows
from ..services.leaderboard import project_leaderboard
from ..services.projects import get_project
from ..services.research import judgment_page
from .api import make_blueprint, token_requires
from .db import get_session
from .exports import head_of_download
from .openapi import openapi_document

bp = make_blueprint("research_api", __name__)
MAX_PAGE = 1000
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL
MAX_RESAMPLES = 10_000


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput("bad query parameter", [FieldError(name, "must be a whole number")]) from None
    if not low <= value <= high:
        raise InvalidInput("bad query parameter", [FieldError(name, f"must be from {low} to {high}")])
    return value


def _number_arg(name: str) -> float | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    try:
        return float(raw)
    except ValueError:
        raise InvalidInput("bad query parameter", [FieldError(name, "must be a number")]) from None


def _choice_arg(name: str, default: str, allowed) -> str:
    value = request.args.get(name, default)
    if value not in allowed:
        raise InvalidInput("bad query parameter", [FieldError(name, f"must be one of {', '.join(allowed)}")])
    return value


@bp.get("/openapi.json")
@token_requires(*EVERYONE)
def openapi():
    return jsonify(openapi_document())


@bp.post("/projects/<int:project_id>/items")
@token_requires(*RESEARCHERS)
def import_items(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    skip = request.args.get("skip_invalid", "false").lower() in ("1", "true", "yes")
    fmt = "csv" if (request.mimetype or "").endswith("csv") else "jsonl"
    report = import_rows(session, project, rows_from_bytes(request.get_data(), fmt), skip_invalid=skip)
    session.commit()
    return jsonify(
        imported=report.imported,
        duplicates=report.duplicates,
        duplicate_ids=list(report.duplicate_ids),
        rejected=[e.as_dict() for e in report.rejected],
    )


@bp.get("/projects/<int:project_id>/judgments")
@token_requires(*RESEARCHERS)
def list_judgments(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    page = judgment_page(
        session, project, after=_int_arg("after", 0, 0, MAX_ID), limit=_int_arg("limit", 100, 1, MAX_PAGE)
    )
    return jsonify(judgments=page.rows, next=page.next_cursor)


@bp.get("/projects/<int:project_id>/agreement")
@token_requires(*RESEARCHERS)
def agreement(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    results = project_agreement(session, project, n_resamples=_int_arg("bootstrap", 1000, 1, MAX_RESAMPLES))
    return jsonify(
        questions=[
            {
                "question": qa.question_id,
                "label": qa.question_label,
                "rubric_version": qa.rubric_version,
                **{k: jsonable(v) for k, v in dataclasses.asdict(qa.result).items()},
            }
            for qa in results
        ]
    )


@bp.get("/projects/<int:project_id>/raters")
@token_requires(*RESEARCHERS)
def raters(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    thresholds = parse_thresholds(current_app.config.get("CALIBRATION_THRESHOLDS"))
    report = rater_calibration(session, project, request.args.get("question") or None, thresholds)
    rows = [
        {**jsonable(r.calibration), "user_id": r.user_id, "rater": r.name, "machine": r.is_machine} for r in report.rows
    ]
    return jsonify(question=report.question.key, raters=rows)


@bp.get("/projects/<int:project_id>/leaderboard")
@token_requires(*RESEARCHERS)
def leaderboard(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    board = project_leaderboard(
        session,
        project,
        request.args.get("question") or None,
        n_resamples=_int_arg("bootstrap", 1000, 1, MAX_RESAMPLES),
    )
    return jsonify(jsonable(board))


@bp.get("/projects/<int:project_id>/export")
@token_requires(*RESEARCHERS)
def export(project_id: int):
    """The preference (or, for a single-response project, rating) file as a download stream;
    the manifest's hashes come in headers."""
    session = get_session()
    project = get_project(session, project_id)
    fmt = _choice_arg("format", "jsonl", ("jsonl", "parquet"))
    mimetype = "application/x-ndjson" if fmt == "jsonl" else "application/vnd.apache.parquet"
    options = ExportOptions(
        question_id=request.args.get("question") or None,
        shape=_choice_arg("shape", "auto", SHAPES),
        formats=(fmt,),
        aggregate=_choice_arg("aggregate", "majority", AGGREGATES),
        ties=_choice_arg("ties", "drop", TIE_POLICIES),
        min_raters=_int_arg("min_raters", 1, 1, 10_000),
        alpha_resamples=_int_arg("bootstrap", 1000, 0, MAX_RESAMPLES),
        labels=_choice_arg("labels", "humans", LABELS),
        judge=request.args.get("judge") or None,
        pairs=_choice_arg("pairs", "best-random", PAIRINGS),
        min_gap=_number_arg("min_gap"),
        seed=_int_arg("seed", 0, 0, 2**31 - 1),
        threshold=_number_arg("threshold"),
        normalize=request.args.get("normalize") in ("1", "true"),
    )
    if request.method == "HEAD":
        return head_of_download(mimetype, dataset_file_name(project, options, fmt))
    folder = Path(tempfile.mkdtemp(prefix="workbench-export-"))
    try:
        summary = export_dataset(session, project, folder, options)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    digest = next(d for d in summary.files)
    path = folder / digest.name

    def chunks():
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 16):
                yield chunk

    response = Response(stream_with_context(chunks()), mimetype=mimetype)
    # The server closes the response when it is done with it, read to the end or not (a client
    # that hangs up, a body never started): the folder goes then, not when the last chunk is read.
    response.call_on_close(lambda: shutil.rmtree(folder, ignore_errors=True))
    response.headers["Content-Disposition"] = f'attachment; filename="{digest.name}"'
    response.headers["Content-Length"] = str(digest.bytes)
    response.headers["X-Content-SHA256"] = digest.sha256
    response.headers["X-Manifest-SHA256"] = summary.manifest_sha256
    response.headers["X-Exported-Rows"] = str(digest.rows)
    return response
