"""``/admin/projects``: the list and the create form; ``/admin/projects/<id>``: settings,
archiving, honeypots and membership. Plain forms that post and redirect."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import flash, redirect, render_template, request, url_for

from ...domain import ADMINS, ProjectProgress
from ...errors import Conflict, FieldError, InvalidInput, NotFound
from ...models import Project, User
from ...services.honeypots import generate_honeypots
from ...services.membership import add_member, archive_project, members_of, remove_member, set_members_only
from ...services.new_rubric import ensure_rubric, rubric_choices
from ...services.projects import create_project, get_project, list_projects, project_progress, update_project
from ...services.users import get_user
from ...words import counted
from ..auth import requires
from ..db import get_session
from . import bp
from .forms import Form, project_values, settings_form

FORM_ERRORS = (InvalidInput, Conflict, NotFound)


@dataclass(frozen=True)
class ProjectsPage:
    rows: list[tuple[Project, ProjectProgress]]
    rubrics: list[tuple[str, str]]
    form: Form


@dataclass(frozen=True)
class ProjectPage:
    project: Project
    progress: ProjectProgress
    members: list[User]
    settings: Form
    member_form: Form = field(default_factory=lambda: Form({}))
    honeypot_form: Form = field(default_factory=lambda: Form({"count": "10"}))


def _index(form: Form, status: int = 200):
    session = get_session()
    rows = [(p, project_progress(session, p)) for p in list_projects(session)]
    page = ProjectsPage(rows, rubric_choices(session), form)
    return render_template("projects_admin/index.html", ctx=page), status


def _show(project: Project, status: int = 200, **forms):
    session = get_session()
    settings = forms.pop("settings", None) or Form(project_values(project))
    page = ProjectPage(project, project_progress(session, project), members_of(session, project), settings, **forms)
    return render_template("projects_admin/show.html", ctx=page), status


def _back(project: Project, notice: str):
    flash(notice)
    return redirect(url_for("projects_admin.show_project", project_id=project.id), 303)


@bp.get("/projects")
@requires(*ADMINS)
def list_all():
    return _index(settings_form({})[0])


@bp.post("/projects")
@requires(*ADMINS)
def create():
    session = get_session()
    form, settings = settings_form(request.form)
    if form.errors:
        return _index(form, 422)
    try:
        ensure_rubric(session, form.values["rubric"])
        project = create_project(session, rubric_slug=form.values["rubric"], **settings)
        session.commit()
    except FORM_ERRORS as exc:
        session.rollback()
        return _index(form.with_error(exc), 422)
    return _back(project, f"Created project {project.name}.")


@bp.get("/projects/<int:project_id>")
@requires(*ADMINS)
def show_project(project_id: int):
    return _show(get_project(get_session(), project_id))


@bp.post("/projects/<int:project_id>/settings")
@requires(*ADMINS)
def save_settings(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    form, settings = settings_form(request.form)
    if form.errors:
        return _show(project, 422, settings=form)
    try:
        update_project(session, project, **settings)
        session.commit()
    except FORM_ERRORS as exc:
        session.rollback()
        return _show(get_project(session, project_id), 422, settings=form.with_error(exc))
    return _back(project, "Settings saved.")


@bp.post("/projects/<int:project_id>/archive")
@requires(*ADMINS)
def archive(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    archive_project(session, project)
    session.commit()
    return _back(project, "Archived: the project serves no more items and raters no longer see it.")


@bp.post("/projects/<int:project_id>/honeypots")
@requires(*ADMINS)
def add_honeypots(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    form = Form({"count": request.form.get("count", "").strip()})
    try:
        count = int(form.values["count"])
    except ValueError:
        wrong = FieldError("count", f"give a whole number, not {form.values['count']!r}")
        return _show(project, 422, honeypot_form=form.with_error(InvalidInput("", [wrong])))
    try:
        report = generate_honeypots(session, project, count)
        session.commit()
    except InvalidInput as exc:
        session.rollback()
        return _show(get_project(session, project_id), 422, honeypot_form=form.with_error(exc))
    return _back(project, f"Added {counted(report.created, 'honeypot')}; {report.existing} already present.")


@bp.post("/projects/<int:project_id>/access")
@requires(*ADMINS)
def save_access(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    members_only = request.form.get("members_only") == "on"
    set_members_only(session, project, members_only)
    session.commit()
    return _back(project, "Members only." if members_only else "Open to every rater.")


@bp.post("/projects/<int:project_id>/members")
@requires(*ADMINS)
def add_project_member(project_id: int):
    session = get_session()
    project = get_project(session, project_id)
    form = Form({"member_email": request.form.get("member_email", "").strip()})
    try:
        user = add_member(session, project, form.values["member_email"])
        session.commit()
    except InvalidInput as exc:
        session.rollback()
        return _show(get_project(session, project_id), 422, member_form=form.with_error(exc))
    return _back(project, f"Added {user.email}.")


@bp.post("/projects/<int:project_id>/members/<int:user_id>/remove")
@requires(*ADMINS)
def remove_project_member(project_id: int, user_id: int):
    session = get_session()
    project = get_project(session, project_id)
    user = get_user(session, user_id)
    remove_member(session, project, user)
    session.commit()
    return _back(project, f"Removed {user.email}.")
