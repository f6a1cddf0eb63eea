"""Which raters see which projects.

A project is open to every rater or, once ``members_only``, to the raters listed in
``project_members``. An archived project serves no items and is off every rater's list.
Staff (authors, researchers, admins) see every project. A rater who may not see a project
meets it as missing: the same ``NotFound`` as a project that does not exist, on every page
and in the rater API, so its name and items never reach them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..domain import LeasePurpose, Role
from ..errors import Conflict, FieldError, InvalidInput, NotFound
from ..models import Lease, Project, ProjectMember, User, utcnow
from .projects import get_project, list_projects


def is_member(session: Session, project_id: int, user_id: int, lock: bool = False) -> bool:
    """Whether the user is listed on the project; with ``lock``, the listing is held (FOR SHARE
    on PostgreSQL) until the transaction ends, so removing the member waits for it."""
    query = select(ProjectMember.user_id).where(
        ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
    )
    return session.scalar(query.with_for_update(read=True) if lock else query) is not None


def admits(session: Session, project: Any, user: Any, lock: bool = False) -> bool:
    """Whether ``user`` (a ``User`` or a token's user: anything with ``id`` and ``role``) may
    see ``project`` (a ``Project`` or the rater API's ``ProjectSettings``).

    The assignment engine asks with ``lock``: a member removed while they take an item is
    either removed first (and gets nothing) or after the item's lease is written, and then
    the removal releases that lease too.
    """
    if user.role != Role.RATER:
        return True
    if project.archived_at is not None:
        return False
    return not project.members_only or is_member(session, project.id, user.id, lock)


def visible_project(session: Session, project_id: int, user: Any) -> Project:
    """The project, or ``NotFound`` when it does not exist or is not the user's to see."""
    project = get_project(session, project_id)
    if not admits(session, project, user):
        raise NotFound(f"no project {project_id}")
    return project


def visible_projects(session: Session, user: Any) -> list[Project]:
    """Every project for staff; for a rater, the open and unarchived ones plus those listing them."""
    if user.role != Role.RATER:
        return list_projects(session)
    listed = select(ProjectMember.project_id).where(ProjectMember.user_id == user.id)
    return list(
        session.scalars(
            select(Project)
            .where(Project.archived_at.is_(None), Project.members_only.is_(False) | Project.id.in_(listed))
            .order_by(Project.id)
        )
    )


def members_of(session: Session, project: Project) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(ProjectMember, ProjectMember.user_id == User.id)
            .where(ProjectMember.project_id == project.id)
            .order_by(User.email)
        )
    )


def add_member(session: Session, project: Project, email: str) -> User:
    """List the rater with ``email`` on the project (listing them twice is a no-op)."""
    email = email.strip().lower()
    if not email:
        raise InvalidInput("cannot add member", [FieldError("member_email", "give the e-mail of a rater")])
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        raise InvalidInput("cannot add member", [FieldError("member_email", f"no user has the e-mail {email}")])
    if user.role != Role.RATER:
        message = f"{email} is {user.role.value}; staff see every project without being members"
        raise InvalidInput("cannot add member", [FieldError("member_email", message)])
    if not is_member(session, project.id, user.id):
        session.add(ProjectMember(project_id=project.id, user_id=user.id))
        session.flush()
    return user


def remove_member(session: Session, project: Project, user: User) -> None:
    """Take the rater off the list and release their open tasks on the project."""
    session.execute(
        delete(ProjectMember).where(ProjectMember.project_id == project.id, ProjectMember.user_id == user.id)
    )
    if project.members_only:
        _release_open_leases(session, project.id, user.id)


def set_members_only(session: Session, project: Project, members_only: bool) -> None:
    """Open the project to every rater, or close it to its members; closing it releases the
    open tasks of raters who are not members."""
    if project.archived_at is not None:
        raise Conflict(f"project {project.name!r} is archived")
    project.members_only = members_only
    session.flush()
    if members_only:
        listed = select(ProjectMember.user_id).where(ProjectMember.project_id == project.id)
        raters = select(User.id).where(User.role == Role.RATER, User.id.not_in(listed))
        _release_open_leases(session, project.id, raters)


def archive_project(session: Session, project: Project, now: datetime | None = None) -> None:
    """Stop serving the project's items; its judgments and figures stay for staff."""
    if project.archived_at is not None:
        raise Conflict(f"project {project.name!r} is already archived")
    project.archived_at = now or utcnow()
    session.flush()
    _release_open_leases(session, project.id, None)


def _release_open_leases(session: Session, project_id: int, raters: Any) -> None:
    """Delete the open (unsubmitted) rating leases on the project of ``raters`` (an id, a
    subquery of ids, or None for everyone), so they can submit nothing more there. Judge
    leases belong to judge runs and stay."""
    where = [Lease.project_id == project_id, Lease.completed_at.is_(None), Lease.purpose != LeasePurpose.JUDGE]
    if isinstance(raters, int):
        where.append(Lease.rater_id == raters)
    elif raters is not None:
        where.append(Lease.rater_id.in_(raters))
    session.execute(delete(Lease).where(*where), execution_options={"synchronize_session": False})
