"""Alembic environment for workbench: the models' metadata and our own engine. No Flask.

Configuration is built in code by ``workbench.migrate.alembic_config`` (there is no
alembic.ini). The database URL is, in order: the config's ``sqlalchemy.url``, then
``WORKBENCH_DATABASE_URL``, then the settings default (SQLite in the instance folder).

SQLite notes:

* ``make_engine`` gives SQLite connections with autocommit off in the driver and a
  ``BEGIN IMMEDIATE`` on every SQLAlchemy ``begin``, so DDL really is transactional there.
  We tell Alembic so (``transactional_ddl=True``): a whole upgrade runs in one
  transaction on both backends and a failure leaves the database unchanged.
* Batch mode (``render_as_batch=True``) changes a SQLite table by copying it and dropping
  the old one. With foreign keys on, that DROP would cascade into child tables, so while
  migrating the connection has ``PRAGMA foreign_keys=OFF`` (it can only be changed outside a
  transaction, hence on connect), and ``PRAGMA foreign_key_check`` runs before the commit.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

import workbench.models  # noqa: F401 - registers every table on Base.metadata
from workbench.db import Base, make_engine

config = context.config

# Tests (and ``workbench.migrate.check``) may pass another MetaData to compare against.
target_metadata = config.attributes.get("target_metadata", Base.metadata)


def database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from workbench.config import load_settings

    # load_settings reads WORKBENCH_DATABASE_URL, else derives the SQLite default.
    return load_settings()["DATABASE_URL"]


def render_item(type_, obj, autogen_context):
    """Render types so that migration scripts are self-contained and importable.

    * Our TypeDecorators (``UTCDateTime``) become their plain SQLAlchemy ``impl``: migrations
      must not import ``workbench.models``, which will have changed by the time they run, and
      the decorator only converts values in Python.
    * ``JSONB`` (the PostgreSQL variant of ``JSONType``): when autogenerate runs against SQLite,
      Alembic writes ``postgresql.JSONB(astext_type=Text())`` with a bare, unimported
      ``Text``; ``JSONB()`` has that same default.
    """
    if type_ == "type":
        if isinstance(obj, TypeDecorator):
            return f"sa.{obj.impl!r}"
        if isinstance(obj, JSONB):
            autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
            return "postgresql.JSONB()"
    return False


COMMON_OPTIONS = {
    "target_metadata": target_metadata,
    "render_as_batch": True,
    "compare_type": True,
    "compare_server_default": True,
    "render_item": render_item,
}


def run_migrations_offline() -> None:
    """``--sql`` mode: emit the SQL instead of running it."""
    context.configure(
        url=database_url(),
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **COMMON_OPTIONS,
    )
    with context.begin_transaction():
        context.run_migrations()


def _foreign_keys_off(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()


def _check_foreign_keys(connection) -> None:
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"migration left rows violating foreign keys (table, rowid, parent, fk): {problems[:20]}")


def run_migrations_online() -> None:
    engine = make_engine(database_url())
    is_sqlite = engine.dialect.name == "sqlite"
    if is_sqlite:
        # Runs after make_engine's own connect listener, which turned foreign keys on.
        event.listen(engine, "connect", _foreign_keys_off)
    applied = []
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                transactional_ddl=None,
                on_version_apply=lambda **kw: applied.append(kw["step"]),
                **COMMON_OPTIONS,
            )
            with context.begin_transaction():
                context.run_migrations()
                if is_sqlite and applied:
                    _check_foreign_keys(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
