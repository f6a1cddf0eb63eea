"""Who rates which project, and archiving a project."""

from __future__ import annotations

import click

from ..words import counted
from . import open_session
from .admin import projects


@projects.command("members")
@click.argument("project")
@click.option("--add", "add", multiple=True, metavar="EMAIL", help="List this rater on the project (repeatable).")
@click.option("--remove", "remove", multiple=True, metavar="EMAIL", help="Take this rater off the list (repeatable).")
@click.option(
    "--members-only/--open",
    "members_only",
    default=None,
    help="Show the project only to its members, or to every rater (default: leave as it is).",
)
def projects_members(project: str, add: tuple[str, ...], remove: tuple[str, ...], members_only: bool | None):
    """Show or change who rates PROJECT: its members and whether it is open to every rater."""
    from ..services.membership import add_member, members_of, remove_member, set_members_only
    from ..services.projects import resolve_project
    from ..services.users import get_user_by_email

    with open_session() as session:
        target = resolve_project(session, project)
        for email in add:
            add_member(session, target, email)
        for email in remove:
            remove_member(session, target, get_user_by_email(session, email))
        if members_only is not None:
            set_members_only(session, target, members_only)
        members = members_of(session, target)
        access = "members only" if target.members_only else "open to every rater"
        click.echo(f"{target.name}: {access}; {counted(len(members), 'member')}")
        for user in members:
            click.echo(f"  {user.email}")


@projects.command("archive")
@click.argument("project")
def projects_archive(project: str):
    """Archive PROJECT: it serves no more items and leaves raters' lists; its data stays."""
    from ..services.membership import archive_project
    from ..services.projects import resolve_project

    with open_session() as session:
        target = resolve_project(session, project)
        archive_project(session, target)
        click.echo(f"archived project {target.id} {target.name!r}")
