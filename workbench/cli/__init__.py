"""The ``workbench`` command. Printing and formatting live here and nowhere else.

The commands are grouped by area in the modules of this package; importing the package
registers them all on ``main``. Errors are handled once, by ``main`` itself: a
``WorkbenchError`` raised by any command prints ``error: <message>`` on stderr and exits
with status 1, so commands let such errors propagate.
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
from ..errors import InvalidInput, WorkbenchError


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
            fail(
                f"The database at {engine.url.render_as_string(hide_password=True)} has no tables yet: run `workbench db upgrade`."
            )
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
    """Print ``error: <exc>`` and exit 1 (what ``main`` does for every uncaught WorkbenchError)."""
    fail(f"error: {exc}")


@contextmanager
def user_input():
    """Treat a ``ValueError`` raised in the block (a malformed file the user gave us, or values
    the statistics refuse) as the user's mistake: it is reported like any WorkbenchError."""
    try:
        yield
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc


def calibration_thresholds():
    """The rater-flag thresholds of the ``CALIBRATION_THRESHOLDS`` setting."""
    from ..services.calibration import parse_thresholds

    return parse_thresholds(load_settings()["CALIBRATION_THRESHOLDS"])


class WorkbenchGroup(click.Group):
    """The top-level group: turns a ``WorkbenchError`` from any command into ``error: ...``, exit 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except WorkbenchError as exc:
            report_failure(exc)


@click.group(cls=WorkbenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="workbench")
def main():
    """workbench: rate LLM outputs against versioned rubrics, measure agreement, export preferences.

    Settings come from WORKBENCH_* environment variables (see docs/configuration.md).
    """


from . import accounts, admin, data, judge_quality, judges, membership, server, stats  # noqa: E402, F401 - registers the commands
