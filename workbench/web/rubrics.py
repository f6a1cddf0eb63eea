"""Rubric pages: the list, one rubric (versions, agreement per version), a version, the
editor for authors, and the diff between two versions."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, abort, g, redirect, request, url_for
from markupsafe import Markup

from ..domain import AUTHORS, EVERYONE, STAFF, may_read_version
from ..errors import Conflict, FieldError, InvalidInput
from ..models import Project, Rubric, RubricVersion
from ..render import markdown_to_html
from ..rubric.diff import RubricDiff, rubric_diff
from ..rubric.editing import EditorForm, form_from_document
from ..services.membership import admits
from ..services.rubric_agreement import RubricAgreement, rubric_agreement
from ..services.rubric_versions import (
    apply_editor,
    discard_draft,
    find_draft,
    get_version,
    meaning_changes,
    open_draft,
    projects_using,
    retire_version,
    versions_of,
)
from ..services.rubrics import get_rubric, list_rubrics
from .auth import requires
from .db import get_session
from .htmx import hx_redirect, is_htmx, render

bp = Blueprint("rubrics", __name__, url_prefix="/rubrics")


def can_edit() -> bool:
    return g.user is not None and g.user.role in AUTHORS


@dataclass(frozen=True)
class RubricPage:
    rubric: Rubric
    versions: list[RubricVersion]
    draft: RubricVersion | None
    projects: list[tuple[Project, RubricVersion | None]]
    agreement: RubricAgreement | None  # staff only, like the project dashboard
    meaning_changes: dict[
        int, tuple[str, ...]
    ]  # version number -> questions whose meaning changed since the one before
    notice: str = ""


@dataclass(frozen=True)
class EditorPage:
    rubric: Rubric
    draft: RubricVersion
    form: EditorForm
    changelog: str = ""
    notice: str = ""
    preview: Markup = field(default_factory=Markup)


@bp.get("/")
@requires(*EVERYONE)
def list_all():
    return render("rubrics/index.html", "rubrics/_index.html", rubrics=list_rubrics(get_session()), can_edit=can_edit())


@bp.get("/<slug>")
@requires(*EVERYONE)
def show_rubric(slug: str):
    session = get_session()
    rubric = get_rubric(session, slug)
    versions = versions_of(session, rubric)
    agreement = rubric_agreement(session, rubric) if g.user.role in STAFF else None
    page = RubricPage(
        rubric,
        versions,
        find_draft(session, rubric),
        [(p, pin) for p, pin in projects_using(session, rubric) if admits(session, p, g.user)],
        agreement,
        meaning_changes(versions),
        request.args.get("notice", ""),
    )
    return render("rubrics/show.html", "rubrics/_show.html", ctx=page, can_edit=can_edit())


@bp.get("/<slug>/v/<int:number>")
@requires(*EVERYONE)
def show_version(slug: str, number: int):
    version = get_version(get_session(), slug, number)
    if not may_read_version(version.status, g.user.role if g.user else None):
        abort(404)
    return render("rubrics/version.html", "rubrics/_version.html", version=version, can_edit=can_edit())


@bp.get("/<slug>/diff")
@requires(*EVERYONE)
def show_diff(slug: str):
    session = get_session()
    versions = [
        v
        for v in versions_of(session, get_rubric(session, slug))
        if may_read_version(v.status, g.user.role if g.user else None)
    ]
    numbers = [v.number for v in versions]
    new = request.args.get("to", type=int) or (numbers[-1] if numbers else 1)
    old = request.args.get("from", type=int) or next((n for n in reversed(numbers) if n < new), new)
    if old not in numbers or new not in numbers:
        abort(404)
    left, right = get_version(session, slug, old), get_version(session, slug, new)
    diff: RubricDiff = rubric_diff(left.document, right.document)
    return render("rubrics/diff.html", "rubrics/_diff.html", left=left, right=right, diff=diff, versions=versions)


# -- authoring -----------------------------------------------------------------------------


def _editor(page: EditorPage, status: int = 200):
    return render("rubrics/edit.html", "rubrics/_editor.html", status=status, ctx=page)


@bp.get("/<slug>/edit")
@requires(*AUTHORS)
def edit_draft(slug: str):
    session = get_session()
    rubric = get_rubric(session, slug)
    draft = find_draft(session, rubric)
    if draft is None:
        return render("rubrics/start.html", "rubrics/_start.html", rubric=rubric)
    preview = Markup(markdown_to_html(draft.document.get("guidelines", "")))
    return _editor(EditorPage(rubric, draft, form_from_document(draft.document), preview=preview))


@bp.post("/<slug>/draft")
@requires(*AUTHORS)
def start_draft(slug: str):
    session = get_session()
    open_draft(session, get_rubric(session, slug), g.user)
    session.commit()
    return hx_redirect(url_for("rubrics.edit_draft", slug=slug))


@bp.post("/<slug>/edit")
@requires(*AUTHORS)
def save_draft(slug: str):
    session = get_session()
    rubric = get_rubric(session, slug)
    draft = find_draft(session, rubric)
    if draft is None:
        return hx_redirect(url_for("rubrics.edit_draft", slug=slug))
    fields = {k: request.form.get(k, "") for k in ("title", "description", "task_kind", "guidelines")}
    boxes = request.form.getlist("question")
    publishing = request.form.get("action") == "publish"
    changelog = request.form.get("changelog", "")
    preview = Markup(markdown_to_html(fields["guidelines"]))
    try:
        version, _kept = apply_editor(session, draft, fields, boxes, changelog if publishing else None)
        session.commit()
    except (InvalidInput, Conflict) as exc:
        session.rollback()
        errors = list(exc.errors) if isinstance(exc, InvalidInput) else [FieldError("form", str(exc))]
        form = form_from_document({}, errors)
        form = EditorForm(fields, tuple(b for b in boxes if b.strip()), form.errors)
        return _editor(
            EditorPage(rubric, draft, form, changelog, "Not saved: fix the marked fields.", preview), status=422
        )
    if publishing:
        return hx_redirect(url_for("rubrics.show_rubric", slug=slug, notice=f"Published v{version.number}."))
    if not is_htmx():
        return redirect(url_for("rubrics.edit_draft", slug=slug), 303)
    return _editor(
        EditorPage(rubric, draft, form_from_document(draft.document), notice="Draft saved.", preview=preview)
    )


@bp.post("/<slug>/preview")
@requires(*AUTHORS)
def preview_guidelines(slug: str):
    html = Markup(markdown_to_html(request.form.get("guidelines", "")))
    return render("rubrics/_preview.html", "rubrics/_preview.html", preview=html)


@bp.post("/<slug>/discard")
@requires(*AUTHORS)
def discard(slug: str):
    session = get_session()
    draft = find_draft(session, get_rubric(session, slug))
    if draft is not None:
        discard_draft(session, draft)
        session.commit()
    return hx_redirect(url_for("rubrics.show_rubric", slug=slug, notice="Draft discarded."))


@bp.post("/<slug>/v/<int:number>/retire")
@requires(*AUTHORS)
def retire(slug: str, number: int):
    session = get_session()
    try:
        retire_version(session, get_version(session, slug, number))
        session.commit()
        notice = f"Retired v{number}."
    except Conflict as exc:
        session.rollback()
        notice = f"Not retired: {exc}"
    return hx_redirect(url_for("rubrics.show_rubric", slug=slug, notice=notice))
