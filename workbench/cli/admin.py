"""Administration: the database, users and tokens, rubrics, projects."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..config import load_settings
from ..db import make_engine
from ..domain import MAX_TOKEN_DAYS, Role
from ..errors import InvalidInput
from ..words import counted
from . import main, open_session

# -- database ---------------------------------------------------------------------------


@main.group()
def db():
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str):
    """Apply the migrations (creates the database if needed)."""
    from ..migrate import upgrade

    url = load_settings()["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    upgrade(url, revision)
    click.echo(f"database at {make_engine(url).url.render_as_string(hide_password=True)} is at {revision}")


# -- users ------------------------------------------------------------------------------


@main.group()
def users():
    """Accounts and roles."""


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), default="rater", show_default=True)
@click.option("--name", default="")
@click.option("--machine", is_flag=True, help="A machine rater (LLM judge or script); reported apart from humans.")
@click.option("--password", default=None, help="At least 10 characters; prompted for unless given or --invite.")
@click.option("--invite", is_flag=True, help="No password: print a one-time link for the user to choose one.")
def users_create(email: str, role: str, name: str, machine: bool, password: str | None, invite: bool):
    """Create a user who logs in with EMAIL."""
    from datetime import timedelta

    from ..services.account_links import make_link
    from ..services.users import create_user

    if invite and password:
        raise click.UsageError("give --password or --invite, not both")
    if not invite and password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with open_session() as session:
        user = create_user(session, email, role, password, name=name, is_machine=machine)
        link = (
            make_link(session, user, "invite", timedelta(hours=load_settings()["ACCOUNT_LINK_HOURS"])) if invite else ""
        )
    click.echo(f"created {'machine ' if machine else ''}{user.role.value} {user.email}")
    if link:
        click.echo(f"invitation link (works once): {link}")


@main.group()
def tokens():
    """API bearer tokens."""


@tokens.command("create")
@click.argument("email")
@click.option("--name", default="", help="A label for the token.")
@click.option(
    "--expires-days",
    type=click.IntRange(1, MAX_TOKEN_DAYS),
    default=None,
    help="Days until the token expires (default: never).",
)
def tokens_create(email: str, name: str, expires_days: int | None):
    """Create an API token for EMAIL and print it once (only its hash is stored)."""
    from datetime import timedelta

    from ..services.users import create_api_token, get_user_by_email

    expires_in = timedelta(days=expires_days) if expires_days else None
    with open_session() as session:
        token = create_api_token(session, get_user_by_email(session, email), name, expires_in)
    click.echo(token)


# -- rubrics ----------------------------------------------------------------------------


@main.group()
def rubrics():
    """Rubric files."""


def _rubric_files(paths: tuple[str, ...]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(
                p
                for p in path.iterdir()
                if p.suffix in {".yaml", ".yml", ".json"} and not p.name.endswith(".schema.json")
            )
        else:
            files.append(path)
    return files


@rubrics.command("validate")
@click.argument("paths", nargs=-1, required=True)
def rubrics_validate(paths: tuple[str, ...]):
    """Check rubric files (or folders of them) against rubrics/rubric.schema.json."""
    from ..rubric import load_rubric_file

    bad = 0
    for path in _rubric_files(paths):
        try:
            doc = load_rubric_file(path)
            click.echo(f"ok   {path}  ({doc.slug}, sha256 {doc.sha256[:12]})")
        except InvalidInput as exc:
            bad += 1
            click.echo(f"FAIL {exc.summary}")
            for error in exc.errors:
                click.echo(f"     {error}")
    if bad:
        sys.exit(1)


@rubrics.command("load")
@click.argument("paths", nargs=-1, required=True)
@click.option("-m", "--changelog", default="", help="The changelog line of any new version.")
def rubrics_load(paths: tuple[str, ...], changelog: str):
    """Store rubric files as published versions (same content = same version)."""
    from ..rubric import load_rubric_file
    from ..services.rubrics import load_rubric

    with open_session() as session:
        for path in _rubric_files(paths):
            outcome = load_rubric(session, load_rubric_file(path), changelog=changelog)
            state = "new" if outcome.created else "unchanged"
            click.echo(f"{outcome.version.rubric.slug} v{outcome.version.number} ({state})")


@rubrics.command("versions")
@click.argument("slug")
def rubrics_versions(slug: str):
    """List the versions of rubric SLUG: number, status, sha256 and changelog."""
    from ..services.rubric_versions import versions_of
    from ..services.rubrics import get_rubric

    with open_session() as session:
        for v in versions_of(session, get_rubric(session, slug)):
            sha = v.content_sha256[:12] if v.status.value != "draft" else "(draft)"
            click.echo(f"v{v.number:<3} {v.status.value:<9} {sha:<12}  {v.changelog}")


@rubrics.command("retire")
@click.argument("slug")
@click.argument("number", type=int)
def rubrics_retire(slug: str, number: int):
    """Retire version NUMBER of rubric SLUG: no new tasks use it; its judgments stay."""
    from ..services.rubric_versions import get_version, retire_version

    with open_session() as session:
        retire_version(session, get_version(session, slug, number))
    click.echo(f"{slug} v{number} retired")


@rubrics.command("dump")
@click.argument("slug")
@click.option("--version", "number", type=int, default=None, help="Version number; default: the latest published.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default="-",
    help="File to write; default: standard output.",
)
@click.option("--json", "as_json", is_flag=True, help="Write JSON instead of YAML.")
def rubrics_dump(slug: str, number: int | None, output: str, as_json: bool):
    """Write a stored version of rubric SLUG back as a rubric file."""
    from ..rubric.files import dump_rubric_text
    from ..services.rubric_versions import file_document, get_version, latest_version
    from ..services.rubrics import get_rubric

    with open_session() as session:
        rubric = get_rubric(session, slug)
        version = (
            latest_version(session, rubric, published_only=True)
            if number is None
            else get_version(session, slug, number)
        )
        text = dump_rubric_text(file_document(version), "json" if as_json else "yaml")
    with click.open_file(output, "w", encoding="utf-8") as out:
        out.write(text)
    if output != "-":
        click.echo(f"wrote {slug} v{version.number} ({version.status.value}) to {output}", err=True)


# -- projects, import, export -----------------------------------------------------------


@main.group()
def projects():
    """Rating projects."""


@projects.command("create")
@click.argument("name")
@click.option("--rubric", "rubric_slug", required=True, help="Rubric slug (load it first).")
@click.option("--overlap", default=3, show_default=True, help="Judgments wanted per item.")
@click.option(
    "--pin-version", type=int, default=None, help="Pin a rubric version; default: follow the latest published."
)
@click.option(
    "--gold-rate", type=float, default=0.0, show_default=True, help="Share of items shown that are gold checks."
)
@click.option(
    "--qualification",
    "qualification_items",
    type=int,
    default=0,
    show_default=True,
    help="Gold items a new rater answers before live work.",
)
@click.option(
    "--min-accuracy", type=float, default=0.0, show_default=True, help="Share of the qualification set to get right."
)
@click.option("--silent-gold", is_flag=True, help="Do not show raters the expected answer when they miss a gold item.")
@click.option(
    "--repeat-rate",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of items shown again later with sides swapped (a consistency check).",
)
def projects_create(
    name: str,
    rubric_slug: str,
    overlap: int,
    pin_version: int | None,
    gold_rate: float,
    qualification_items: int,
    min_accuracy: float,
    silent_gold: bool,
    repeat_rate: float,
):
    """Create a project NAME rated with a rubric."""
    from ..services.projects import create_project

    with open_session() as session:
        project = create_project(
            session,
            name,
            rubric_slug,
            overlap_k=overlap,
            pin_version=pin_version,
            gold_rate=gold_rate,
            qualification_items=qualification_items,
            qualification_min_accuracy=min_accuracy,
            gold_feedback=not silent_gold,
            repeat_rate=repeat_rate,
        )
        click.echo(f"created project {project.id} {project.name!r} ({project.task_kind.value}, overlap {overlap})")


@projects.command("list")
def projects_list():
    """List projects with their progress."""
    from ..services.projects import list_projects, project_progress

    with open_session() as session:
        for project in list_projects(session):
            p = project_progress(session, project)
            state = "  (archived)" if project.archived_at else "  (members only)" if project.members_only else ""
            click.echo(
                f"{project.id:>4}  {project.name}  items={p.items}  judgments={p.judgments}/{p.target_judgments}{state}"
            )


@projects.command("honeypots")
@click.argument("project")
@click.option("--count", default=10, show_default=True, help="Honeypots to add.")
@click.option("--seed", default=0, show_default=True, help="Seed for choosing sources and degradations.")
def projects_honeypots(project: str, count: int, seed: int):
    """Add pairwise honeypots to PROJECT: a real response against a degraded copy of itself."""
    from ..services.honeypots import generate_honeypots
    from ..services.projects import resolve_project

    with open_session() as session:
        report = generate_honeypots(session, resolve_project(session, project), count, seed)
    methods = ", ".join(f"{n} {m}" for m, n in report.by_method.items() if n)
    click.echo(f"added {counted(report.created, 'honeypot')} ({methods or 'none'}); {report.existing} already present")
