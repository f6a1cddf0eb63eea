"""The export page: choose filters, watch the live count (htmx), download a zip.

The count runs ``count_dataset`` (the export's decision on the vote counts or mean
ratings, no files); the download runs the export itself. A single-response project offers
the rating shapes; every project offers its raw judgments.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Response, current_app, request

from ..domain import Role, TaskKind
from ..errors import FieldError, InvalidInput
from ..export import (
    AGGREGATES,
    LABELS,
    PAIRINGS,
    PAIRWISE_SHAPES,
    RATING_SHAPES,
    SHAPES,
    TIE_POLICIES,
    ExportOptions,
    PreferenceCounts,
    count_dataset,
    export_dataset,
    export_judgments,
)
from ..models import Project
from ..services.calibration import parse_thresholds
from ..services.projects import get_project
from .auth import requires
from .db import get_session
from .htmx import render

bp = Blueprint("exports", __name__)
STAFF = (Role.RESEARCHER, Role.ADMIN)
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # zip entries carry no wall-clock time: same data, same zip


@dataclass(frozen=True)
class ExportForm:
    format: str = "parquet"
    shape: str = "auto"
    aggregate: str = "majority"
    ties: str = "drop"
    min_raters: int = 1
    min_agreement: float = 0.0
    exclude_flagged: bool = False
    include_gold: bool = False
    labels: str = "humans"
    judge: str | None = None
    pairs: str = "best-random"
    min_gap: float | None = None
    seed: int = 0
    threshold: float | None = None
    normalize: bool = False

    def options(self, alpha_resamples: int = 1000) -> ExportOptions:
        return ExportOptions(
            shape=self.shape,
            formats=(self.format,),
            aggregate=self.aggregate,
            ties=self.ties,
            min_raters=self.min_raters,
            min_agreement=self.min_agreement,
            exclude_flagged_raters=self.exclude_flagged,
            include_gold=self.include_gold,
            alpha_resamples=alpha_resamples,
            labels=self.labels,
            judge=self.judge if self.labels != "humans" else None,
            pairs=self.pairs,
            min_gap=self.min_gap,
            seed=self.seed,
            threshold=self.threshold,
            normalize=self.normalize,
        )


@dataclass(frozen=True)
class ExportContext:
    project: Project
    form: ExportForm
    summary: PreferenceCounts | dict[str, int] | None
    error: InvalidInput | None
    pairings: tuple[str, ...] = PAIRINGS
    aggregates: tuple[str, ...] = AGGREGATES
    ties: tuple[str, ...] = TIE_POLICIES
    labels: tuple[str, ...] = LABELS

    @property
    def single(self) -> bool:
        return self.project.task_kind == TaskKind.SINGLE

    @property
    def shapes(self) -> tuple[str, ...]:
        return RATING_SHAPES if self.single else PAIRWISE_SHAPES


def parse_form(args) -> ExportForm:
    errors = []

    def choice(name, allowed, default):
        value = args.get(name) or default
        if value not in allowed:
            errors.append(FieldError(name, f"choose one of {', '.join(allowed)}"))
            return default
        return value

    def number(name, kind, default, low=float("-inf"), high=float("inf")):
        raw = args.get(name)
        if raw in (None, ""):
            return default
        try:
            value = kind(raw)
        except ValueError:
            errors.append(FieldError(name, "must be a number"))
            return default
        if not low <= value <= high:
            errors.append(FieldError(name, f"must be from {low} to {high}"))
            return default
        return value

    form = ExportForm(
        format=choice("format", ("jsonl", "parquet"), "parquet"),
        shape=choice("shape", SHAPES, "auto"),
        aggregate=choice("aggregate", AGGREGATES, "majority"),
        ties=choice("ties", TIE_POLICIES, "drop"),
        min_raters=number("min_raters", int, 1, 1, 10_000),
        min_agreement=number("min_agreement", float, 0.0, 0.0, 1.0),
        exclude_flagged=args.get("exclude_flagged") in ("1", "on", "true"),
        include_gold=args.get("include_gold") in ("1", "on", "true"),
        labels=choice("labels", LABELS, "humans"),
        judge=(args.get("judge") or "").strip()[:100] or None,
        pairs=choice("pairs", PAIRINGS, "best-random"),
        min_gap=number("min_gap", float, None, 0.0, 1e9),
        seed=number("seed", int, 0, 0, 2**31 - 1),
        threshold=number("threshold", float, None, -1e9, 1e9),
        normalize=args.get("normalize") in ("1", "on", "true"),
    )
    if errors:
        raise InvalidInput("check the export options", errors)
    return form


def _thresholds():
    return parse_thresholds(current_app.config.get("CALIBRATION_THRESHOLDS"))


def _context(project_id: int) -> tuple[ExportContext, int]:
    session = get_session()
    project = get_project(session, project_id)
    try:
        form = parse_form(request.args)
        counts = count_dataset(session, project, form.options(), _thresholds())
        return ExportContext(project, form, counts, None), 200
    except InvalidInput as exc:
        return ExportContext(project, ExportForm(), None, exc), 422


@bp.get("/projects/<int:project_id>/export")
@requires(*STAFF)
def show_export(project_id: int):
    ctx, status = _context(project_id)
    return render("exports/export.html", "exports/_count.html", status=status, ctx=ctx)


@bp.get("/projects/<int:project_id>/export/count")
@requires(*STAFF)
def count_export(project_id: int):
    ctx, status = _context(project_id)
    return render("exports/export.html", "exports/_count.html", status=status, ctx=ctx)


@bp.get("/projects/<int:project_id>/export/download")
@requires(*STAFF)
def download_export(project_id: int):
    """A zip of the data file, manifest.json and the dataset card."""
    session = get_session()
    project = get_project(session, project_id)
    form = parse_form(request.args)
    kind = "ratings" if project.task_kind == TaskKind.SINGLE else "preferences"
    name = f"{_slug(project.name)}-{kind}.zip"
    if request.method == "HEAD":
        return head_of_download("application/zip", name)
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="workbench-export-") as folder:
        export_dataset(session, project, folder, form.options(), _thresholds())
        _zip(folder, buffer)
    return _download(buffer, name)


@bp.get("/projects/<int:project_id>/export/judgments")
@requires(*STAFF)
def download_judgments(project_id: int):
    """A zip of the raw judgments (one row per live judgment, with provenance) and manifest.json."""
    session = get_session()
    project = get_project(session, project_id)
    fmt = "jsonl" if request.args.get("format") == "jsonl" else "parquet"
    include_gold = request.args.get("include_gold") in ("1", "on", "true")
    name = f"{_slug(project.name)}-judgments.zip"
    if request.method == "HEAD":
        return head_of_download("application/zip", name)
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="workbench-export-") as folder:
        export_judgments(session, project, folder, formats=(fmt,), include_gold=include_gold)
        _zip(folder, buffer)
    return _download(buffer, name)


def _zip(folder: str, buffer: io.BytesIO) -> None:
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(Path(folder).iterdir()):
            archive.writestr(zipfile.ZipInfo(path.name, date_time=FIXED_TIME), path.read_bytes())


def _download(buffer: io.BytesIO, name: str) -> Response:
    response = Response(buffer.getvalue(), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def head_of_download(mimetype: str, filename: str) -> Response:
    """HEAD on a download: what the file would be called and its type, without making it.

    Running the export for a HEAD would cost as much as the download and, streamed from a
    temporary folder, leave the folder behind (no body is ever read to clean it up).
    """
    response = Response(b"", mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers.pop("Content-Length", None)
    return response


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-") or "project"
