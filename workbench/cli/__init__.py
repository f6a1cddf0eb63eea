"""The ``workbench`` command. Printing and formatting live here and nowhere else.

The commands are grouped by area in the modules of this package; importing the package
registers them all on ``main``.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from .. import __version__
from ..config import load_settings
from ..db import make_engine
from ..errors import WorkbenchError


def fail(message: str, code: int = 1):
    click.echo(message, err=True)
    sys.exit(code)


@contextmanager
def open_session(upgrade: bool = False):
    """A session on the configured database that commits if the block succeeds."""
    url = load_settings()["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if upgrade:
        from ..migrate import upgrade as run_upgrade

        run_upgrade(url)
    engine = make_engine(url)
    try:
        if not inspect(engine).has_table("alembic_version"):
            fail(f"The database at {engine.url.render_as_string(hide_password=True)} has no tables yet: run `workbench db upgrade`.")
        with Session(engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
    finally:
        engine.dispose()


def report_failure(exc: WorkbenchError) -> None:
    fail(f"error: {exc}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="workbench")
def main():
    """workbench: rate LLM outputs against versioned rubrics, measure agreement, export preferences.

    Settings come from WORKBENCH_* environment variables (see the README).
    """


from . import admin, data, judge_quality, judges, server, stats  # noqa: E402, F401 - registers the commands
