"""Uploading item and judgment files: the form, and the two importers behind it.

The size limit is ``UPLOAD_MAX_BYTES``, set on these two endpoints before the body is read
(it may be larger than ``MAX_CONTENT_LENGTH``, which every other request keeps). A body
announced as larger is refused at once with a 413 saying the limit; a body that turns out
larger is refused while it is copied.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, current_app, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge

from ...domain import RESEARCHERS
from ...errors import FieldError, InvalidInput
from ...models import Project
from ...services.projects import get_project
from ...services.uploads import (
    UploadResult,
    UploadTooLarge,
    refused,
    size_words,
    spooled_upload,
    too_large_message,
    upload_items,
    upload_judgments,
)
from ..auth import requires
from ..db import get_session
from ..errors import handle_http_error
from ..htmx import is_htmx, render
from . import bp

FORM_SLACK = 64 * 1024  # the CSRF token and check boxes around the file
FILES = {
    "items": ("items_file", "Items file", upload_items),
    "judgments": ("judgments_file", "Judgments file", upload_judgments),
}


@dataclass(frozen=True)
class UploadContext:
    project: Project | None
    result: UploadResult | None
    limit: str


def _limit() -> int:
    return current_app.config["UPLOAD_MAX_BYTES"]


def _page(project: Project, result: UploadResult | None, status: int = 200):
    ctx = UploadContext(project, result, size_words(_limit()))
    return render("items/uploads.html", "items/_upload_result.html", status=status, ctx=ctx)


def _too_large_message() -> str:
    return too_large_message(_limit())


@bp.url_value_preprocessor
def _upload_limit(endpoint, values) -> None:
    """Runs before any ``before_request`` hook reads the form, so the upload limit applies."""
    if endpoint not in ("items.upload_items_file", "items.upload_judgments_file"):
        return
    request.max_content_length = _limit() + FORM_SLACK
    if request.content_length is not None and request.content_length > _limit() + FORM_SLACK:
        abort(413, description=_too_large_message())


@bp.errorhandler(RequestEntityTooLarge)
def _refuse_too_large(exc):
    """Before login is checked: say only what the limit is, never which project this is."""
    if not is_htmx():
        return handle_http_error(RequestEntityTooLarge(description=_too_large_message()))
    kind = "judgments" if request.endpoint == "items.upload_judgments_file" else "items"
    ctx = UploadContext(None, UploadResult(kind, True, _too_large_message()), "")
    return render_template("items/_upload_result.html", ctx=ctx), 413, {"Vary": "HX-Request"}


@bp.get("/projects/<int:project_id>/uploads")
@requires(*RESEARCHERS)
def show_uploads(project_id: int):
    return _page(get_project(get_session(), project_id), None)


def _upload(project_id: int, kind: str):
    session = get_session()
    project = get_project(session, project_id)
    name, label, importer = FILES[kind]
    upload = request.files.get(name)
    skip_invalid = request.form.get("skip_invalid") == "1"
    status = 422  # a refused file; 413 when it is too large
    try:
        if upload is None or not upload.filename:
            raise InvalidInput("no file chosen; nothing was imported", [FieldError(label, "choose a file to upload")])
        options = {"repeats": request.form.get("repeats") or "refuse"} if kind == "judgments" else {}
        with spooled_upload(upload.stream, upload.filename, _limit()) as path:
            result = importer(session, project, path, skip_invalid=skip_invalid, **options)
    except UploadTooLarge:
        result, status = UploadResult(kind, True, _too_large_message()), 413
    except InvalidInput as exc:
        result = refused(kind, exc)
    if result.refused:
        session.rollback()  # a refused file leaves nothing behind
        return _page(project, result, status)
    session.commit()
    return _page(project, result)


@bp.post("/projects/<int:project_id>/uploads/items")
@requires(*RESEARCHERS)
def upload_items_file(project_id: int):
    return _upload(project_id, "items")


@bp.post("/projects/<int:project_id>/uploads/judgments")
@requires(*RESEARCHERS)
def upload_judgments_file(project_id: int):
    return _upload(project_id, "judgments")
